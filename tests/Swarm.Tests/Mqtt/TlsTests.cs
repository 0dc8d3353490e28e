using System.Net.Security;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Swarm.Mqtt;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>A real mosquitto with TLS, required client certificates and the ACL we ship in deploy/mosquitto.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly List<IAsyncDisposable> _resources = [];
    private TestPki _pki = null!;
    private Mosquitto _broker = null!;

    public async Task InitializeAsync()
    {
        _pki = new TestPki(_dir.Path, "swarm").Create();
        var (serverCert, serverKey) = _pki.Issue("broker", server: true);
        var acl = Repo.File("deploy", "mosquitto", "swarm.acl");
        _broker = await Mosquitto.StartAsync(b => $"""
            listener {b.Port} 127.0.0.1
            allow_anonymous false
            cafile {_pki.CaFile}
            certfile {serverCert}
            keyfile {serverKey}
            require_certificate true
            use_identity_as_username true
            acl_file {acl}
            """);
        _resources.Add(_broker);
    }

    private ClientWithOptions Client(string? commonName, TestPki? issuer = null)
    {
        var (cert, key) = commonName is null ? (null, null) : (issuer ?? _pki).Issue(commonName);
        var (tls, errors) = MqttTls.Load(_pki.CaFile, cert, key, null);
        Assert.Empty(errors);
        return new MqttClientFactory().CreateMqttClient().Also(c => _resources.Add(new Disposer(c))).WithOptions(
            new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", _broker.Port)
                .WithClientId($"t-{Guid.NewGuid():N}")
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithTlsOptions(o =>
                {
                    o.UseTls().WithTargetHost("127.0.0.1").WithCertificateValidationHandler(e => tls.Accept(e.Certificate, e.SslPolicyErrors));
                    if (tls.ClientCertificate is not null) o.WithClientCertificates([tls.ClientCertificate]);
                })
                .Build());
    }

    [Fact]
    public async Task A_client_with_a_certificate_from_our_ca_connects()
    {
        var client = Client("bee-1");

        var result = await client.ConnectAsync(client.Options);

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
    }

    [Fact]
    public async Task A_client_without_a_certificate_or_with_one_from_another_ca_is_refused()
    {
        var anonymous = Client(null);
        var rogueCa = new TestPki(_dir.Path, "rogue").Create();
        var rogue = Client("bee-1", rogueCa);

        await Assert.ThrowsAnyAsync<Exception>(() => anonymous.ConnectAsync(anonymous.Options));
        await Assert.ThrowsAnyAsync<Exception>(() => rogue.ConnectAsync(rogue.Options));
        Assert.False(anonymous.IsConnected || rogue.IsConnected);
    }

    [Fact]
    public void The_broker_must_be_who_we_dialled()
    {
        var (tls, _) = MqttTls.Load(_pki.CaFile, null, null, null);
        using var server = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(_pki.Issue("broker", server: true).Cert);

        Assert.True(tls.Accept(server, SslPolicyErrors.RemoteCertificateChainErrors)); // chains to our CA: fine
        Assert.False(tls.Accept(server, SslPolicyErrors.RemoteCertificateNameMismatch));
    }

    [Fact]
    public async Task A_swarm_node_over_tls_publishes_and_only_the_operator_may_change_targets()
    {
        var node = StartNode("bee-tls", ("Swarm__Targets__Default", "127.0.0.1"));
        var (operatorClient, seen) = await OperatorSeesResults();
        try
        {
            await Eventually.True(() => seen.Contains("ping/127.0.0.1"), TimeSpan.FromSeconds(30), "results over TLS");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n--- node:\n{node.Output}\n--- broker:\n{_broker.Log}", e);
        }

        var impostor = Client("bee-other");
        await impostor.ConnectAsync(impostor.Options);
        var refused = await impostor.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("watch").WithPayload("127.0.0.66")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await operatorClient.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("watch").WithPayload("127.0.0.77")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        await Eventually.True(() => seen.Contains("ping/127.0.0.77"), TimeSpan.FromSeconds(30),
            () => $"the operator's change in force\n--- node:\n{node.Output}\n--- broker:\n{_broker.Log}");
        Assert.DoesNotContain("ping/127.0.0.66", seen);
    }

    [Fact]
    public async Task Only_a_queen_may_publish_a_list_and_an_edge_bee_over_tls_follows_the_queens()
    {
        var node = StartNode("edge-tls", ("Swarm__Roles", "edge"));
        var (_, seen) = await OperatorSeesResults();

        static MqttApplicationMessage List(long version, string target) => new MqttApplicationMessageBuilder().WithTopic("targets/default")
            .WithPayload($$"""{"list": "default", "version": {{version}}, "targets": ["{{target}}"]}""").WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        var forger = Client("edge-forger");
        await forger.ConnectAsync(forger.Options);
        var forged = await forger.PublishAsync(List(50, "127.0.0.66"));
        var queen = Client("queen");
        await queen.ConnectAsync(queen.Options);
        var published = await queen.PublishAsync(List(1, "127.0.0.77"));

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);
        Assert.True((int)published.ReasonCode < 0x80, published.ReasonCode.ToString());
        try
        {
            await Eventually.True(() => seen.Contains("ping/127.0.0.77"), TimeSpan.FromSeconds(60), "the edge bee probing the queen's list");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n--- edge bee:\n{node.Output}\n--- broker:\n{_broker.Log}", e);
        }
        Assert.DoesNotContain("ping/127.0.0.66", seen);
    }

    /// <summary>A Swarm.Node over TLS with a certificate of its own (CN = its bee id), probing fast.</summary>
    private NodeProcess StartNode(string id, params (string Key, string Value)[] more)
    {
        var (cert, key) = _pki.Issue(id);
        var environment = new Dictionary<string, string>
        {
            ["Swarm__Bee__Id"] = id,
            ["Swarm__DataDir"] = Path.Combine(_dir.Path, id),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{Ports.Free()}",
            ["Swarm__Mqtt__Brokers__0"] = $"mqtts://127.0.0.1:{_broker.Port}",
            ["Swarm__Mqtt__Tls__CaFile"] = _pki.CaFile,
            ["Swarm__Mqtt__Tls__CertFile"] = cert,
            ["Swarm__Mqtt__Tls__KeyFile"] = key,
            ["Swarm__Probe__Interval"] = "500ms",
            ["Swarm__Probe__Count"] = "1",
            ["Swarm__Probe__Timeout"] = "200ms",
        };
        foreach (var (k, v) in more) environment[k] = v;
        var node = NodeProcess.Start(environment);
        _resources.Add(node);
        return node;
    }

    /// <summary>The operator's client, subscribed to ping/+: the topics of the results it sees.</summary>
    private async Task<(ClientWithOptions Operator, System.Collections.Concurrent.ConcurrentQueue<string> Seen)> OperatorSeesResults()
    {
        var operatorClient = Client("operator");
        await operatorClient.ConnectAsync(operatorClient.Options);
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        operatorClient.ApplicationMessageReceivedAsync += e => { seen.Enqueue(e.ApplicationMessage.Topic); return Task.CompletedTask; };
        await operatorClient.SubscribeAsync("ping/+", MqttQualityOfServiceLevel.AtLeastOnce);
        return (operatorClient, seen);
    }

    public async Task DisposeAsync()
    {
        foreach (var r in Enumerable.Reverse(_resources)) await r.DisposeAsync();
        _dir.Dispose();
    }

    private sealed class Disposer(IMqttClient client) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            client.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

internal static class TlsTestExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }

    public static ClientWithOptions WithOptions(this IMqttClient client, MqttClientOptions options) => new(client, options);
}

/// <summary>An MQTT client with the options it connects with.</summary>
internal sealed class ClientWithOptions(IMqttClient client, MqttClientOptions options)
{
    public MqttClientOptions Options => options;
    public bool IsConnected => client.IsConnected;
    public Task<MqttClientConnectResult> ConnectAsync(MqttClientOptions o) => client.ConnectAsync(o);
    public Task<MqttClientPublishResult> PublishAsync(MqttApplicationMessage m) => client.PublishAsync(m);
    public Task SubscribeAsync(string topic, MqttQualityOfServiceLevel qos) => client.SubscribeAsync(topic, qos);

    public event Func<MqttApplicationMessageReceivedEventArgs, Task> ApplicationMessageReceivedAsync
    {
        add => client.ApplicationMessageReceivedAsync += value;
        remove => client.ApplicationMessageReceivedAsync -= value;
    }
}
