using System.Buffers;
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

    /// <summary>Creates the documents (UTF-8 JSON) in the data stream with <c>_bulk</c>; one result per document, in order.</summary>
    Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, byte[] Json)> documents, CancellationToken cancellationToken);
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

    public async Task<IReadOnlyList<BulkItemResult>> BulkCreateAsync(string dataStream, IReadOnlyList<(string Id, byte[] Json)> documents, CancellationToken cancellationToken)
    {
        // The NDJSON body copied once into a pooled buffer: a batch is a megabyte or more. Built as a string and then
        // encoded, with the answer read as a JsonNode tree, it allocated 6.7 MB per 1,000 documents; this, 0.6 MB.
        var (body, length) = BulkBody(documents);
        var done = false;
        try
        {
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"{dataStream}/_bulk")
            {
                Content = new ByteArrayContent(body, 0, length) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-ndjson") } },
            }, cancellationToken);
            if (!response.IsSuccessStatusCode) throw Unavailable(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            JsonDocument answer;
            try { answer = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken); }
            catch (JsonException e) { throw new ElasticsearchUnavailableException((int)response.StatusCode, $"_bulk answered something that is not JSON ({e.Message})"); }
            using (answer)
            {
                done = true;
                return Items(answer.RootElement, documents, (int)response.StatusCode);
            }
        }
        finally
        {
            // Only once the whole answer is in is the body surely sent; a request that failed keeps its buffer
            // (the GC takes it), since the connection may still be reading it.
            if (done) ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>One <c>create</c> line and one document line per document, in a buffer rented from the shared pool.</summary>
    private static (byte[] Body, int Length) BulkBody(IReadOnlyList<(string Id, byte[] Json)> documents)
    {
        var size = 0;
        foreach (var (id, json) in documents) size += 32 + 6 * id.Length + json.Length;
        var body = ArrayPool<byte>.Shared.Rent(size);
        var at = 0;
        foreach (var (id, json) in documents)
        {
            // Data streams take only op_type create; a repeated _id answers 409, which for us means "already stored".
            at += Write(body, at, "{\"create\":{\"_id\":"u8);
            var quoted = JsonEncodedText.Encode(id).EncodedUtf8Bytes;
            body[at++] = (byte)'"';
            quoted.CopyTo(body.AsSpan(at));
            at += quoted.Length;
            at += Write(body, at, "\"}}\n"u8);
            at += Write(body, at, json);
            body[at++] = (byte)'\n';
        }
        return (body, at);
    }

    private static int Write(byte[] buffer, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer.AsSpan(at));
        return bytes.Length;
    }

    /// <summary>The per-document outcomes of a <c>_bulk</c> answer, which must have one item per document, in order.</summary>
    private static List<BulkItemResult> Items(JsonElement root, IReadOnlyList<(string Id, byte[] Json)> documents, int status)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
            throw new ElasticsearchUnavailableException(status, "a _bulk answer without items");
        if (items.GetArrayLength() != documents.Count)
            throw new ElasticsearchUnavailableException(status, $"_bulk answered {items.GetArrayLength()} items for {documents.Count} documents");
        var results = new List<BulkItemResult>(documents.Count);
        var i = 0;
        foreach (var entry in items.EnumerateArray())
        {
            // Each item is {"create": {...}}: its one property's value.
            JsonElement item = default;
            if (entry.ValueKind == JsonValueKind.Object)
                foreach (var property in entry.EnumerateObject()) { item = property.Value; break; }
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("status", out var code) || !code.TryGetInt32(out var itemStatus))
                throw new ElasticsearchUnavailableException(status, $"_bulk answered an item without a status for document {i + 1}");
            var error = item.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object
                ? $"{Text(e, "type")}: {Text(e, "reason")}"
                : null;
            var outcome = itemStatus switch
            {
                200 or 201 => BulkItemOutcome.Stored,
                409 => BulkItemOutcome.AlreadyStored,
                429 or >= 500 => BulkItemOutcome.Retry,
                _ => BulkItemOutcome.Rejected,
            };
            results.Add(new BulkItemResult(documents[i].Id, itemStatus, outcome, error));
            i++;
        }
        return results;
    }

    /// <summary>A property as the error text shows it: a string as is, anything else as its JSON, a missing or null one empty.</summary>
    private static string Text(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? ""
        : value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

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
