using Microsoft.Extensions.Configuration;
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

    public static async Task<SwarmHost> StartAsync(params (string Key, string Value)[] settings)
    {
        var node = new SwarmHost();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(
            new (string Key, string Value)[] { ("Swarm:DataDir", node._dir.Path) }.Concat(settings)
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
            await _host.StopAsync();
            _host.Dispose();
        }
        _dir.Dispose();
    }
}
