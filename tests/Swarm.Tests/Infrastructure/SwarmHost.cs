using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Swarm.Hosting;

namespace Swarm.Tests.Infrastructure;

/// <summary>A swarm node in this process, wired exactly as Swarm.Node wires it, with test configuration.</summary>
public sealed class SwarmHost : IAsyncDisposable
{
    private readonly TempDir _dir = new();
    private IHost? _host;

    public SwarmOptions Options { get; private set; } = null!;

    public Akka.Actor.ActorSystem System => _host!.Services.GetRequiredService<Akka.Actor.ActorSystem>();

    public IServiceProvider Services => _host!.Services;

    public Akka.Hosting.ActorRegistry Registry => _host!.Services.GetRequiredService<Akka.Hosting.ActorRegistry>();

    /// <summary>What the node's parts report about themselves (what <c>/health/ready</c> reads).</summary>
    public Swarm.Health.NodeHealth Health => _host!.Services.GetRequiredService<Swarm.Health.NodeHealth>();

    /// <summary>A seed-only node, as Swarm.Lighthouse wires it.</summary>
    public static async Task<SwarmHost> StartLighthouseAsync(int port, ClusterTls? tls = null)
    {
        var node = new SwarmHost();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var cluster = new ClusterOptions("127.0.0.1", port, []) { DownAfter = TimeSpan.FromSeconds(2), Tls = tls };
        builder.Services.AddAkka(SwarmNames.ActorSystem, (akka, _) => akka
            .WithSwarmLogging()
            .WithSwarmSerialization()
            .WithSwarmCluster(cluster.WithSelfAsSeed(), [SwarmNames.Roles.Lighthouse]));
        node._host = builder.Build();
        await node._host.StartAsync();
        return node;
    }

    public Task StopAsync() => _host!.StopAsync();

    /// <summary>
    /// A queen alone on <paramref name="brokerUrl"/>, judging rounds of a 1 s interval, ready (its feeds subscribed)
    /// when this returns: what the verdict tests publish results to. <paramref name="more"/> adds or overrides keys.
    /// </summary>
    public static async Task<SwarmHost> StartQueenAsync(string brokerUrl, params (string Key, string Value)[] more)
    {
        (string, string)[] settings =
        [
            ("Swarm:Roles", "queen"), ("Swarm:Bee:Id", "queen-1"), ("Swarm:Mqtt:Brokers:0", brokerUrl),
            ("Swarm:Probe:Interval", "1s"), ("Swarm:Probe:Count", "1"), ("Swarm:Probe:Timeout", "500ms"),
        ];
        var queen = await StartAsync([.. settings.Where(s => more.All(m => m.Key != s.Item1)), .. more]);
        await Eventually.True(() => queen.Health.Problems.Count == 0, TimeSpan.FromSeconds(60), () => string.Join("; ", queen.Health.Problems));
        return queen;
    }

    public static async Task<SwarmHost> StartAsync(params (string Key, string Value)[] settings)
    {
        var node = new SwarmHost();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(
            // Connection told, not guessed: guessing pings the machine's default gateway, and tests send nothing off this machine.
            new (string Key, string Value)[] { ("Swarm:DataDir", node._dir.Path), ("Swarm:Bee:Connection", "ethernet") }.Concat(settings)
                .Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        node.Options = SwarmOptions.Load(builder.Configuration);
        builder.Services.AddSwarmNode(node.Options);
        node._host = builder.Build();
        await node._host.StartAsync();
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            try { await _host.StopAsync(); } catch (Exception) { /* stopped already */ }
            _host.Dispose();
        }
        _dir.Dispose();
    }
}
