using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// An HTTP listener on loopback that answers as Elasticsearch's documentation describes for the calls Swarm makes:
/// PUT _ilm/policy/&lt;name&gt;, PUT _index_template/&lt;name&gt;, and POST &lt;data stream&gt;/_bulk with per-item
/// results (201 created, 409 version conflict, scripted 429 and 400) and whole-request failures (429, 503).
/// It records what it stored, so tests check documents field by field.
/// </summary>
public sealed class FakeElasticsearch : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private Task _loop;
    private readonly ConcurrentDictionary<string, string> _failNext = new();
    private readonly Lock _failLock = new();

    public int Port { get; }
    public Uri Url => new($"http://127.0.0.1:{Port}/");
    public ConcurrentDictionary<string, JsonObject> Documents { get; } = new();
    public ConcurrentDictionary<string, JsonObject> Templates { get; } = new();
    public ConcurrentDictionary<string, JsonObject> Policies { get; } = new();
    public ConcurrentQueue<string?> Authorizations { get; } = new();
    public int BulkRequests;

    /// <summary>The next N whole requests answer this status (429 or 503) with Elasticsearch's error body.</summary>
    public (int Status, int Count) FailRequests { get; set; }

    public FakeElasticsearch()
    {
        Port = Ports.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    /// <summary>Stops listening: connections are refused, as with a node that is down.</summary>
    public async Task PauseAsync()
    {
        _listener.Stop();
        await _loop.ContinueWith(_ => { });
    }

    /// <summary>Listens again on the same port, with everything stored before.</summary>
    public void Resume()
    {
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    /// <summary>The next attempt to create <paramref name="id"/> answers this item status (429 or 400).</summary>
    /// <summary>Fails the next create of the result <paramref name="beeSeq"/> (bee-seq: the id without its content hash).</summary>
    public void FailItemOnce(string beeSeq, int status) => _failNext[beeSeq] = status.ToString();

    /// <summary>The stored documents by bee-seq, the id without its content hash.</summary>
    public IReadOnlyDictionary<string, JsonObject> Results => Documents.ToDictionary(d => ResultOf(d.Key), d => d.Value);

    /// <summary>bee-seq of a document id bee-seq-hash.</summary>
    public static string ResultOf(string id) => id[..id.LastIndexOf('-')];

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            // Side by side, as Elasticsearch serves them: one slow or abandoned request never holds back the rest.
            _ = Task.Run(() => Serve(context));
        }
    }

    private async Task Serve(HttpListenerContext context)
    {
        try { await Handle(context); }
        catch (Exception e) when (_listener.IsListening)
        {
            try { await Answer(context.Response, 500, Error("internal", e.Message, 500)); }
            catch (Exception) { /* the client hung up */ }
        }
        catch (Exception)
        {
            try { context.Response.Abort(); } catch (Exception) { } // stopped while answering: the connection drops, as with a node going down
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        var request = context.Request;
        Authorizations.Enqueue(request.Headers["Authorization"]);
        var path = request.Url!.AbsolutePath.Trim('/');
        var body = await new StreamReader(request.InputStream, Encoding.UTF8).ReadToEndAsync();

        int? failWith = null;
        lock (_failLock)
        {
            if (FailRequests.Count > 0)
            {
                failWith = FailRequests.Status;
                FailRequests = (FailRequests.Status, FailRequests.Count - 1);
            }
        }
        if (failWith is { } status)
        {
            await Answer(context.Response, status, status == 429
                ? Error("es_rejected_execution_exception", "rejected execution of coordinating operation", 429)
                : Error("unavailable_shards_exception", "primary shard is not active", 503));
            return;
        }
        if (request.HttpMethod == "PUT" && path.StartsWith("_ilm/policy/"))
        {
            Policies[path["_ilm/policy/".Length..]] = JsonNode.Parse(body)!.AsObject();
            await Answer(context.Response, 200, new JsonObject { ["acknowledged"] = true });
            return;
        }
        if (request.HttpMethod == "PUT" && path.StartsWith("_index_template/"))
        {
            Templates[path["_index_template/".Length..]] = JsonNode.Parse(body)!.AsObject();
            await Answer(context.Response, 200, new JsonObject { ["acknowledged"] = true });
            return;
        }
        if (request.HttpMethod == "POST" && path.EndsWith("/_bulk"))
        {
            Interlocked.Increment(ref BulkRequests);
            await Answer(context.Response, 200, Bulk(path[..^"/_bulk".Length], body));
            return;
        }
        await Answer(context.Response, 404, Error("resource_not_found_exception", $"no handler for {request.HttpMethod} /{path}", 404));
    }

    private JsonObject Bulk(string stream, string body)
    {
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var items = new JsonArray();
        var errors = false;
        for (var i = 0; i + 1 < lines.Length; i += 2)
        {
            var action = JsonNode.Parse(lines[i])!.AsObject();
            var create = action["create"] ?? throw new InvalidOperationException("data streams accept only create: " + lines[i]);
            var id = create["_id"]!.GetValue<string>();
            JsonObject item;
            if (_failNext.TryRemove(ResultOf(id), out var failure))
            {
                var status = int.Parse(failure);
                item = Item(stream, id, status, status == 429
                    ? new JsonObject { ["type"] = "es_rejected_execution_exception", ["reason"] = "rejected execution" }
                    : new JsonObject { ["type"] = "document_parsing_exception", ["reason"] = "[1:2] failed to parse field [monitor.ip] of type [ip]" });
            }
            else if (!Documents.TryAdd(id, JsonNode.Parse(lines[i + 1])!.AsObject()))
            {
                item = Item(stream, id, 409, new JsonObject
                {
                    ["type"] = "version_conflict_engine_exception",
                    ["reason"] = $"[{id}]: version conflict, document already exists (current version [1])",
                });
            }
            else
            {
                item = Item(stream, id, 201, null);
            }
            errors |= item["create"]!["error"] is not null;
            items.Add(item);
        }
        return new JsonObject { ["took"] = 3, ["errors"] = errors, ["items"] = items };
    }

    private static JsonObject Item(string stream, string id, int status, JsonObject? error)
    {
        var create = new JsonObject { ["_index"] = $".ds-{stream}-2026.11.23-000001", ["_id"] = id, ["status"] = status };
        if (error is null)
        {
            create["_version"] = 1;
            create["result"] = "created";
            create["_shards"] = new JsonObject { ["total"] = 1, ["successful"] = 1, ["failed"] = 0 };
        }
        else
        {
            error["index"] = $".ds-{stream}-2026.11.23-000001";
            create["error"] = error;
        }
        return new JsonObject { ["create"] = create };
    }

    private static JsonObject Error(string type, string reason, int status) => new()
    {
        ["error"] = new JsonObject
        {
            ["root_cause"] = new JsonArray(new JsonObject { ["type"] = type, ["reason"] = reason }),
            ["type"] = type,
            ["reason"] = reason,
        },
        ["status"] = status,
    };

    private static async Task Answer(HttpListenerResponse response, int status, JsonObject body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        // Close alone: after Stop, Close looks the endpoint up again, which binds the port anew and fails
        // ("Address already in use") when another test has taken it meanwhile (seen in CI).
        try { _listener.Close(); }
        catch (HttpListenerException) { /* already stopped and released by a pause */ }
        await _loop.ContinueWith(_ => { }); // a request cut off by the stop is not the test's failure
    }
}
