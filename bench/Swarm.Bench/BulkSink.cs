using System.Globalization;
using System.Net;
using System.Text;

namespace Swarm.Bench;

/// <summary>
/// An Elasticsearch stand-in for load: answers <c>_bulk</c> creates 201, or 409 for an id it stored already (as a data
/// stream does), and the template and ILM calls with acknowledged. It keeps which result of which bee it stored (a
/// bitset per bee, from the id <c>bee-seq-hash</c>) and each document's lag: arrival minus its <c>@timestamp</c>.
/// <see cref="Unique"/> counts every bee's results but the warm-up ones (bees named <c>warmup-…</c>).
/// </summary>
public sealed class BulkSink : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, List<ulong>> _stored = new(StringComparer.Ordinal);
    private readonly List<float> _lags = [], _window = [];
    private long _unique, _duplicates, _requests, _documentBytes, _documents;
    private int _templates;

    public string Url { get; }
    public long Unique => Interlocked.Read(ref _unique);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The mean size of a stored document's JSON line, in bytes.</summary>
    public double DocumentBytes => Interlocked.Read(ref _documents) is var n and > 0 ? (double)Interlocked.Read(ref _documentBytes) / n : 0;
    public int Templates => Volatile.Read(ref _templates);

    /// <summary>How long each <c>_bulk</c> takes to answer: a busy cluster.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>While set, <c>_bulk</c> answers 503 as a cluster without its shards does.</summary>
    public volatile bool Down;

    public BulkSink()
    {
        Url = $"http://127.0.0.1:{Tools.FreePort()}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        for (var i = 0; i < 4; i++) _ = Task.Run(Loop);
    }

    /// <summary>Lags (s) of the documents stored since the last call.</summary>
    public List<double> TakeLags()
    {
        lock (_stored)
        {
            var taken = _window.Select(l => (double)l).ToList();
            _window.Clear();
            return taken;
        }
    }

    public IReadOnlyList<double> AllLags
    {
        get { lock (_stored) return _lags.Select(l => (double)l).ToList(); }
    }

    /// <summary>Whether result <paramref name="seq"/> of <paramref name="bee"/> was stored.</summary>
    public bool Has(string bee, long seq)
    {
        lock (_stored) return _stored.TryGetValue(bee, out var bits) && seq / 64 < bits.Count && (bits[(int)(seq / 64)] & (1UL << (int)(seq % 64))) != 0;
    }

    private async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); } catch (Exception) { return; }
            string body;
            using (var reader = new StreamReader(context.Request.InputStream)) body = await reader.ReadToEndAsync();
            string answer;
            if (Down && context.Request.Url!.AbsolutePath.EndsWith("/_bulk"))
            {
                context.Response.StatusCode = 503;
                answer = "{\"error\":{\"type\":\"unavailable_shards_exception\",\"reason\":\"down\"},\"status\":503}";
            }
            else if (context.Request.Url!.AbsolutePath.EndsWith("/_bulk"))
            {
                Interlocked.Increment(ref _requests);
                if (Delay > TimeSpan.Zero) await Task.Delay(Delay);
                answer = Bulk(body);
            }
            else
            {
                if (context.Request.Url.AbsolutePath.Contains("_index_template") && context.Request.HttpMethod == "PUT") Interlocked.Increment(ref _templates);
                answer = "{\"acknowledged\":true}";
            }
            var bytes = Encoding.UTF8.GetBytes(answer);
            context.Response.ContentType = "application/json";
            try
            {
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
            catch (Exception) { } // the indexer gave up on this request: it sends it again
        }
    }

    private string Bulk(string body)
    {
        var now = DateTime.UtcNow;
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var items = new StringBuilder(lines.Length * 32).Append("{\"took\":1,\"errors\":false,\"items\":[");
        lock (_stored)
        {
            for (var i = 0; i + 1 < lines.Length; i += 2)
            {
                var id = Field(lines[i], "\"_id\":\"");
                var fresh = Store(id);
                if (fresh) { _documents++; _documentBytes += Encoding.UTF8.GetByteCount(lines[i + 1]); }
                if (fresh && Field(lines[i + 1], "\"@timestamp\":\"") is { } ts
                    && DateTime.TryParse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at))
                {
                    var lag = (float)(now - at).TotalSeconds;
                    _lags.Add(lag);
                    _window.Add(lag);
                }
                items.Append(i == 0 ? "" : ",").Append(fresh
                    ? $"{{\"create\":{{\"_id\":\"{id}\",\"status\":201,\"result\":\"created\"}}}}"
                    : $"{{\"create\":{{\"_id\":\"{id}\",\"status\":409,\"error\":{{\"type\":\"version_conflict_engine_exception\",\"reason\":\"[{id}]: version conflict, document already exists (current version [1])\"}}}}}}");
            }
        }
        return items.Append("]}").ToString();
    }

    /// <summary>Records a result id (<c>bee-seq-hash</c>); false when it was stored before.</summary>
    private bool Store(string? id)
    {
        var dash = id?.LastIndexOf('-') ?? -1;
        var seqDash = dash > 0 ? id!.LastIndexOf('-', dash - 1) : -1;
        if (seqDash <= 0 || !long.TryParse(id.AsSpan(seqDash + 1, dash - seqDash - 1), out var seq) || seq < 0) return true; // not a result: a verdict, say
        var bee = id![..seqDash];
        if (!_stored.TryGetValue(bee, out var bits)) _stored[bee] = bits = [];
        while (bits.Count <= seq / 64) bits.Add(0);
        var mask = 1UL << (int)(seq % 64);
        if ((bits[(int)(seq / 64)] & mask) != 0)
        {
            _duplicates++;
            return false;
        }
        bits[(int)(seq / 64)] |= mask;
        if (!bee.StartsWith("warmup-", StringComparison.Ordinal)) _unique++;
        return true;
    }

    private static string? Field(string line, string key)
    {
        var start = line.IndexOf(key, StringComparison.Ordinal);
        if (start < 0) return null;
        start += key.Length;
        var end = line.IndexOf('"', start);
        return end < 0 ? null : line[start..end];
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
    }
}
