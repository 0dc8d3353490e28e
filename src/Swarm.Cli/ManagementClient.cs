using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Cli;

/// <summary>Exit codes of the management verbs, for scripts.</summary>
internal static class Exit
{
    public const int Ok = 0;
    /// <summary>The node answered and refused (4xx): bad input, unknown name, wrong token. The reason is printed.</summary>
    public const int Refused = 1;
    /// <summary>The node could not be reached, or failed (5xx, no answer in time).</summary>
    public const int Unavailable = 2;
    public const int BadArguments = 3;
}

/// <summary>A request the node refused or could not serve, with the exit code it maps to.</summary>
internal sealed class ManagementError(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Talks JSON to one node's management endpoint (<c>--host</c>), with the bearer token when one is given.</summary>
internal sealed class ManagementClient(Uri host, string? token) : IDisposable
{
    private readonly HttpClient _http = Create(host, token);

    public Task<T> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    public async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        // Every change is declared JSON, an empty one too: the endpoint refuses anything else (cross-site requests).
        if (method != HttpMethod.Get)
        {
            var json = body is null ? "{}" : JsonSerializer.Serialize(body, SwarmJson.Default.GetTypeInfo(body.GetType())!);
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ManagementError(Exit.Unavailable, $"cannot reach {host}: {e.Message} (is the node running? --host, SWARM_HOST)");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ManagementError(Exit.Unavailable, $"{host} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                string reason;
                try { reason = JsonSerializer.Deserialize(text, SwarmJson.Default.ApiError)?.Error ?? text; }
                catch (JsonException) { reason = text.Length > 0 ? text : response.ReasonPhrase ?? ""; }
                var code = (int)response.StatusCode is >= 400 and < 500 ? Exit.Refused : Exit.Unavailable;
                throw new ManagementError(code, $"{(int)response.StatusCode} {response.StatusCode}: {reason}");
            }
            Raw = text;
            return JsonSerializer.Deserialize(text, (JsonTypeInfo<T>)SwarmJson.Default.GetTypeInfo(typeof(T))!)!;
        }
    }

    /// <summary>The body of the last answer, exactly as the node sent it (what <c>--json</c> prints).</summary>
    public string Raw { get; private set; } = "";

    public void Dispose() => _http.Dispose();

    private static HttpClient Create(Uri host, string? token)
    {
        // Longer than the node's own 10 s budget for cluster asks, so a slow cluster answers 504 in words.
        var http = new HttpClient { BaseAddress = host, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}
