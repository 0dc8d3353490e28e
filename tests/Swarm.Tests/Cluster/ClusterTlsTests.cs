using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Configuration;
using Swarm.Hosting;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Cluster;

/// <summary>
/// Remoting with mutual TLS against the swarm's CA: members with its certificates form the cluster; a stranger with a
/// certificate from another CA, or with no TLS at all, can neither join nor deliver a message to any actor.
/// </summary>
public sealed class ClusterTlsTests : IAsyncLifetime
{
    private readonly TempDir _pki = new();
    private readonly List<SwarmHost> _hosts = [];
    private TestPki _swarmCa = null!;
    private TestPki _otherCa = null!;
    private int _lighthousePort;
    private SwarmHost _lighthouse = null!;
    private SwarmHost _queen = null!;

    private string Seed(string scheme) => $"{scheme}://swarm@127.0.0.1:{_lighthousePort}";

    public async Task InitializeAsync()
    {
        _swarmCa = new TestPki(_pki.Path, "swarm").Create();
        _otherCa = new TestPki(_pki.Path, "other").Create();
        _lighthousePort = Ports.Free();
        _lighthouse = await SwarmHost.StartLighthouseAsync(_lighthousePort, TlsOf(_swarmCa, "lighthouse-0"));
        _hosts.Add(_lighthouse);
        _queen = await Node("queen-1", _swarmCa, Seed("akka.ssl.tcp"));
        await Eventually.True(() => Up(_lighthouse) == 2, TimeSpan.FromSeconds(30), "the lighthouse and the queen up, over TLS");
    }

    private static ClusterTls TlsOf(TestPki ca, string name)
    {
        var (cert, key) = ca.Issue(name);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Swarm:Cluster:Tls:CaFile"] = ca.CaFile, ["Swarm:Cluster:Tls:CertFile"] = cert, ["Swarm:Cluster:Tls:KeyFile"] = key,
        }).Build();
        return ClusterOptions.Load(config, 0).Tls!;
    }

    private async Task<SwarmHost> Node(string id, TestPki? ca, string seed, string? trust = null)
    {
        var settings = new List<(string, string)>
        {
            ("Swarm:Roles", "queen"), ("Swarm:Bee:Id", id), ("Swarm:Mqtt:EmbeddedPort", Ports.Free().ToString()),
            ("Swarm:Management:Url", $"http://127.0.0.1:{Ports.Free()}"), ("Swarm:Cluster:Seeds", seed), ("Swarm:Cluster:DownAfter", "2s"),
            ("Swarm:Targets:Default", "127.0.0.1"),
        };
        if (ca is not null)
        {
            var (cert, key) = ca.Issue(id);
            settings.AddRange([("Swarm:Cluster:Tls:CaFile", trust ?? ca.CaFile), ("Swarm:Cluster:Tls:CertFile", cert), ("Swarm:Cluster:Tls:KeyFile", key)]);
        }
        var host = await SwarmHost.StartAsync([.. settings]);
        _hosts.Add(host);
        return host;
    }

    private static int Up(SwarmHost host) => Akka.Cluster.Cluster.Get(host.System).State.Members.Count(m => m.Status == MemberStatus.Up);

    private async Task<CurrentTargets> DefaultList() =>
        await _queen.Registry.Get<TargetListRegion>().Ask<CurrentTargets>(new GetTargets("default"), TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_member_with_the_swarm_s_certificate_joins()
    {
        await Node("queen-2", _swarmCa, Seed("akka.ssl.tcp"));

        await Eventually.True(() => Up(_lighthouse) == 3, TimeSpan.FromSeconds(30), "three members up");
        Assert.All(Akka.Cluster.Cluster.Get(_lighthouse.System).State.Members, m => Assert.Equal("akka.ssl.tcp", m.Address.Protocol));
    }

    [Theory]
    [InlineData("another CA's certificate")]
    [InlineData("no TLS")]
    public async Task A_stranger_can_neither_join_nor_deliver_a_message_to_any_actor(string stranger)
    {
        var withOtherCa = stranger == "another CA's certificate";
        var scheme = withOtherCa ? "akka.ssl.tcp" : "akka.tcp";
        // The stranger trusts the swarm's CA as well as its own, so only the swarm's members can stop it.
        var trustsBoth = _pki.File("both-ca.crt");
        File.WriteAllText(trustsBoth, File.ReadAllText(_otherCa.CaFile) + "\n" + File.ReadAllText(_swarmCa.CaFile));
        var rogue = await Node("rogue", withOtherCa ? _otherCa : null, Seed(scheme), trustsBoth);
        var queenAddress = Akka.Cluster.Cluster.Get(_queen.System).SelfAddress;
        var target = $"{scheme}://swarm@127.0.0.1:{queenAddress.Port}";

        // The stranger aims straight at the queen's actors: the target lists' shard region and the user guardian.
        var identified = await Task.WhenAll(
            Identify(rogue.System, $"{target}/system/sharding/target-list"),
            Identify(rogue.System, $"{target}/user"));
        for (var i = 0; i < 20; i++)
            rogue.System.ActorSelection($"{target}/system/sharding/target-list").Tell(new ReplaceTargets("default", ["10.66.66.66"], "rogue"));

        Assert.All(identified, Assert.Null); // nothing answered: no association was ever made
        Assert.Equal(2, Up(_lighthouse)); // never admitted
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(_lighthouse.System).State.Members, m => m.Address.Port == Akka.Cluster.Cluster.Get(rogue.System).SelfAddress.Port);
        var list = await DefaultList();
        Assert.Equal(["127.0.0.1"], list.Targets);
        Assert.Equal(0, list.Version);
    }

    private static async Task<IActorRef?> Identify(ActorSystem from, string path)
    {
        try
        {
            var identity = await from.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), TimeSpan.FromSeconds(8));
            return identity.Subject;
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts)) await host.DisposeAsync();
        _pki.Dispose();
    }
}
