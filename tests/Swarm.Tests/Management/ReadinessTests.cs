using System.Net;
using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>A node that cannot reach its seeds is live but not ready, and says what it waits for.</summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly TempDir _data = new();
    private readonly int _port = Ports.Free();
    private readonly HttpClient _http = new();
    private NodeProcess _node = null!;

    public Task InitializeAsync()
    {
        _node = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Mqtt__EmbeddedPort"] = Ports.Free().ToString(),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{_port}",
            ["CLUSTER_SEEDS"] = $"akka.tcp://swarm@127.0.0.1:{Ports.Free()}", // nobody listens there
        });
        return Task.CompletedTask;
    }

    private async Task<HttpResponseMessage?> Get(string path)
    {
        try { return await _http.GetAsync($"http://127.0.0.1:{_port}{path}"); }
        catch (HttpRequestException) { return null; }
    }

    [Fact]
    public async Task A_node_without_its_seeds_is_live_but_not_ready_and_says_why()
    {
        await Eventually.True(async () => (await Get("/health/live"))?.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), $"live:\n{_node.Output}");

        var ready = (await Get("/health/ready"))!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.False(body.GetProperty("ready").GetBoolean());
        Assert.StartsWith("cluster: not an up member yet", body.GetProperty("waiting")[0].GetString());
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _http.Dispose();
        _data.Dispose();
    }
}
