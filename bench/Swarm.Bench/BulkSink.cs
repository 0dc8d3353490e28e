using System.Buffers;
using System.Buffers.Text;
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
        // Bytes, never strings: a _bulk body is 0.6 MB, and as UTF-16 text split into lines it was the generator's
        // largest cost in `load`, on the 2 cores that mosquitto and the indexer share.
        var body = new MemoryStream(1 << 20);
        var answer = new ArrayBufferWriter<byte>(1 << 16);
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); } catch (Exception) { return; }
            body.SetLength(0);
            await context.Request.InputStream.CopyToAsync(body);
            answer.ResetWrittenCount();
            if (Down && context.Request.Url!.AbsolutePath.EndsWith("/_bulk"))
            {
                context.Response.StatusCode = 503;
                answer.Write("{\"error\":{\"type\":\"unavailable_shards_exception\",\"reason\":\"down\"},\"status\":503}"u8);
            }
            else if (context.Request.Url!.AbsolutePath.EndsWith("/_bulk"))
            {
                Interlocked.Increment(ref _requests);
                if (Delay > TimeSpan.Zero) await Task.Delay(Delay);
                Bulk(body.GetBuffer().AsSpan(0, (int)body.Length), answer);
            }
            else
            {
                if (context.Request.Url.AbsolutePath.Contains("_index_template") && context.Request.HttpMethod == "PUT") Interlocked.Increment(ref _templates);
                answer.Write("{\"acknowledged\":true}"u8);
            }
            context.Response.ContentType = "application/json";
            try
            {
                await context.Response.OutputStream.WriteAsync(answer.WrittenMemory);
                context.Response.Close();
            }
            catch (Exception) { } // the indexer gave up on this request: it sends it again
        }
    }

    private void Bulk(ReadOnlySpan<byte> body, ArrayBufferWriter<byte> items)
    {
        var now = DateTime.UtcNow;
        items.Write("{\"took\":1,\"errors\":false,\"items\":["u8);
        var first = true;
        lock (_stored)
        {
            while (NextLine(ref body) is { IsEmpty: false } action)
            {
                var document = NextLine(ref body);
                if (document.IsEmpty) break; // an action without its document: as the string version did, not answered
                var id = Field(action, "\"_id\":\""u8);
                var fresh = Store(id);
                if (fresh) { _documents++; _documentBytes += document.Length; }
                if (fresh && Field(document, "\"@timestamp\":\""u8) is { IsEmpty: false } ts && Time(ts) is { } at)
                {
                    var lag = (float)(now - at).TotalSeconds;
                    _lags.Add(lag);
                    _window.Add(lag);
                }
                if (!first) items.Write(","u8);
                first = false;
                items.Write("{\"create\":{\"_id\":\""u8);
                items.Write(id);
                if (fresh) items.Write("\",\"status\":201,\"result\":\"created\"}}"u8);
                else
                {
                    items.Write("\",\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"["u8);
                    items.Write(id);
                    items.Write("]: version conflict, document already exists (current version [1])\"}}}"u8);
                }
            }
        }
        items.Write("]}"u8);
    }

    /// <summary>The next non-empty line of an NDJSON body, and the body after it.</summary>
    private static ReadOnlySpan<byte> NextLine(ref ReadOnlySpan<byte> body)
    {
        while (true)
        {
            if (body.IsEmpty) return default;
            var end = body.IndexOf((byte)'\n');
            var line = end < 0 ? body : body[..end];
            body = end < 0 ? default : body[(end + 1)..];
            if (!line.IsEmpty) return line;
        }
    }

    /// <summary>A document's time: <c>O</c> as Swarm writes it, or any form DateTime reads.</summary>
    private static DateTime? Time(ReadOnlySpan<byte> text)
    {
        if (Utf8Parser.TryParse(text, out DateTime at, out var used, 'O') && used == text.Length)
            return at.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(at, DateTimeKind.Utc) : at.ToUniversalTime();
        Span<char> chars = stackalloc char[64];
        return text.Length <= chars.Length && Encoding.UTF8.TryGetChars(text, chars, out var n)
            && DateTime.TryParse(chars[..n], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out at) ? at : null;
    }

    /// <summary>Records a result id (<c>bee-seq-hash</c>); false when it was stored before.</summary>
    private bool Store(ReadOnlySpan<byte> id)
    {
        var dash = id.LastIndexOf((byte)'-');
        var seqDash = dash > 0 ? id[..dash].LastIndexOf((byte)'-') : -1;
        if (seqDash <= 0 || !Utf8Parser.TryParse(id[(seqDash + 1)..dash], out long seq, out var used) || used != dash - seqDash - 1 || seq < 0)
            return true; // not a result: a verdict, say
        Span<char> name = stackalloc char[256];
        if (seqDash > name.Length || !Encoding.UTF8.TryGetChars(id[..seqDash], name, out var length)) return true;
        var bee = name[..length];
        var beesByName = _stored.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!beesByName.TryGetValue(bee, out var bits)) beesByName[bee] = bits = [];
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

    private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> line, ReadOnlySpan<byte> key)
    {
        var start = line.IndexOf(key);
        if (start < 0) return default;
        var rest = line[(start + key.Length)..];
        var end = rest.IndexOf((byte)'"');
        return end < 0 ? default : rest[..end];
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
    }
}
