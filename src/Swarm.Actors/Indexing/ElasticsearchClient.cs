using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Swarm.Indexing;

/// <summary>What happened to one document of a bulk request.</summary>
public enum BulkItemOutcome
{
    /// <summary>201: stored now.</summary>
    Stored,

    /// <summary>409: a document with this id is already there; for results with a fixed id, that is success.</summary>
    AlreadyStored,

    /// <summary>429 or 5xx: try again later.</summary>
    Retry,

    /// <summary>Any other 4xx (a mapping error…): sending it again would fail again; it goes to the dead letters.</summary>
    Rejected,
}

/// <summary>One item of a bulk answer, in request order.</summary>
public sealed record BulkItemResult(string Id, int Status, BulkItemOutcome Outcome, string? Error);

/// <summary>Elasticsearch answered the whole request with a failure (429, 5xx) or could not be reached.</summary>
public sealed class ElasticsearchUnavailableException(int? status, string message) : Exception(message)
{
    public int? Status { get; } = status;
}

/// <summary>The seam the official Elastic.Clients.Elasticsearch could implement: what the indexer needs, nothing more.</summary>
public interface IElasticsearch
{
    /// <summary>Installs (idempotently) the ILM policy and the data stream's index template.</summary>
    Task EnsureDataStreamAsync(string dataStream, CancellationToken cancellationToken);

    /// <summary>Creates the documents in the data stream with <c>_bulk</c>; one result per document, in order.</summary>
    Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, string Json)> documents, CancellationToken cancellationToken);
}

/// <summary>Where Elasticsearch is and how to authenticate.</summary>
public sealed record ElasticsearchSettings(IReadOnlyList<Uri> Urls, string? ApiKey = null, string? Username = null, string? Password = null, string? CaFile = null);

/// <summary>
/// A small Elasticsearch client over HttpClient and System.Text.Json (the official client is not served here):
/// <c>_bulk</c> as NDJSON with per-item results, index template and ILM policy, API key or basic auth, a CA file,
/// and several node URLs tried in turn.
/// </summary>
public sealed class ElasticsearchClient : IElasticsearch, IDisposable
{
    private readonly ElasticsearchSettings _settings;
    private readonly HttpClient _http;
    private int _next;

    public ElasticsearchClient(ElasticsearchSettings settings, TimeSpan? timeout = null)
    {
        if (settings.Urls.Count == 0) throw new ArgumentException("at least one Elasticsearch URL is needed");
        _settings = settings;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (settings.CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(settings.CaFile);
            handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }
        _http = new HttpClient(handler) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        if (settings.ApiKey is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", settings.ApiKey);
        else if (settings.Username is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.Username}:{settings.Password}")));
    }

    public async Task EnsureDataStreamAsync(string dataStream, CancellationToken cancellationToken)
    {
        await PutAsync($"_ilm/policy/{dataStream}", IndexTemplate.IlmPolicy(), cancellationToken);
        await PutAsync($"_index_template/{dataStream}", IndexTemplate.For(dataStream), cancellationToken);
    }

    public async Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, string Json)> documents, CancellationToken cancellationToken)
    {
        var body = new StringBuilder();
        foreach (var (id, json) in documents)
        {
            // Data streams take only op_type create; a repeated _id answers 409, which for us means "already stored".
            body.Append("{\"create\":{\"_id\":").Append(JsonSerializer.Serialize(id)).Append("}}\n").Append(json).Append('\n');
        }
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"{dataStream}/_bulk")
        {
            Content = new StringContent(body.ToString(), Encoding.UTF8, "application/x-ndjson"),
        }, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw Unavailable(response.StatusCode, text);

        var items = JsonNode.Parse(text)?["items"]?.AsArray()
                    ?? throw new ElasticsearchUnavailableException((int)response.StatusCode, "a _bulk answer without items");
        if (items.Count != documents.Count)
            throw new ElasticsearchUnavailableException((int)response.StatusCode, $"_bulk answered {items.Count} items for {documents.Count} documents");
        var results = new List<BulkItemResult>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i]!.AsObject().First().Value!;
            var status = item["status"]!.GetValue<int>();
            var error = item["error"] is JsonObject e ? $"{e["type"]}: {e["reason"]}" : null;
            var outcome = status switch
            {
                200 or 201 => BulkItemOutcome.Stored,
                409 => BulkItemOutcome.AlreadyStored,
                429 or >= 500 => BulkItemOutcome.Retry,
                _ => BulkItemOutcome.Rejected,
            };
            results.Add(new BulkItemResult(documents[i].Id, status, outcome, error));
        }
        return results;
    }

    private async Task PutAsync(string path, JsonNode body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        }, cancellationToken);
        if (!response.IsSuccessStatusCode) throw Unavailable(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), path);
    }

    /// <summary>Sends to the nodes in turn until one answers; a node that cannot be reached is skipped.</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        HttpRequestException? last = null;
        for (var attempt = 0; attempt < _settings.Urls.Count; attempt++)
        {
            var node = _settings.Urls[(int)((uint)Interlocked.Increment(ref _next) % _settings.Urls.Count)];
            using var request = build();
            request.RequestUri = new Uri(node, request.RequestUri!.ToString());
            try { return await _http.SendAsync(request, cancellationToken); }
            catch (HttpRequestException e) { last = e; }
        }
        throw new ElasticsearchUnavailableException(null, $"no Elasticsearch node answered ({last?.Message})");
    }

    private static ElasticsearchUnavailableException Unavailable(HttpStatusCode status, string body, string? what = null)
    {
        string reason;
        try { reason = JsonNode.Parse(body)?["error"] is JsonObject e ? $"{e["type"]}: {e["reason"]}" : body; }
        catch (JsonException) { reason = body; }
        if (reason.Length > 300) reason = reason[..300] + "…";
        return new ElasticsearchUnavailableException((int)status, $"Elasticsearch answered {(int)status} {status}{(what is null ? "" : $" to {what}")}: {reason}");
    }

    public void Dispose() => _http.Dispose();
}
