using System.Net;
using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>
/// A part that cannot run (an outbox whose folder cannot be made) keeps the node unready, saying why, while its
/// supervisor retries with backoff; once the cause is gone the part starts and the node becomes ready.
/// </summary>
public sealed class PartHealthTests : IAsyncLifetime
{
    private readonly TempDir _data = new();
    private readonly int _port = Ports.Free();
    private readonly HttpClient _http = new();
    private NodeProcess _node = null!;

    private string Blocker => Path.Combine(_data.Path, "outbox");

    public Task InitializeAsync()
    {
        File.WriteAllText(Blocker, "a file where the outbox folder belongs");
        _node = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Mqtt__EmbeddedPort"] = Ports.Free().ToString(),
            ["Swarm__Management__Url"] = $"http://127.0.0.1:{_port}",
            ["Swarm__Targets__Default"] = "127.0.0.1",
        });
        return Task.CompletedTask;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)?> Ready()
    {
        try
        {
            var response = await _http.GetAsync($"http://127.0.0.1:{_port}/health/ready");
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
        }
        catch (HttpRequestException) { return null; }
    }

    [Fact]
    public async Task A_part_that_cannot_start_keeps_the_node_unready_with_the_reason_until_it_can()
    {
        await Eventually.True(async () =>
        {
            var ready = await Ready();
            var waiting = ready is { } r ? string.Join(" | ", r.Body.GetProperty("waiting").EnumerateArray().Select(w => w.GetString())) : "";
            // The node itself up (no cluster reason left), and the outbox named as what is missing.
            return ready?.Status == HttpStatusCode.ServiceUnavailable && waiting.Contains($"outbox: cannot open {Blocker}") && !waiting.Contains("cluster:");
        }, TimeSpan.FromSeconds(60), $"unready because of the outbox alone:\n{_node.Output}");

        File.Delete(Blocker);

        await Eventually.True(async () => (await Ready())?.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), $"ready once the outbox opens:\n{_node.Output}");
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _http.Dispose();
        _data.Dispose();
    }
}
