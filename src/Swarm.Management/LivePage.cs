using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Verdicts;

namespace Swarm.Management;

/// <summary>
/// The live page at <c>/</c>: static files with nothing to install (no CDN, plain SVG), fed by <c>/api/matrix</c>,
/// <c>/api/history</c>, <c>/api/bees</c> and the event stream <c>/api/events</c>. The page itself holds no data, so
/// it is served without the token; everything under <c>/api/</c> wants it as the rest of the API does (the page asks
/// for it and sends it as a bearer token: it reads the stream with fetch, not EventSource, which cannot send one).
/// </summary>
internal static class LivePage
{
    private static readonly Dictionary<string, string> Files = new()
    {
        ["/"] = "index.html",
        ["/app.js"] = "app.js",
        ["/app.css"] = "app.css",
    };

    public static void Map(WebApplication app, RouteGroupBuilder api)
    {
        foreach (var (path, file) in Files)
        {
            var bytes = Resource(file);
            var type = file.EndsWith(".html") ? "text/html; charset=utf-8" : file.EndsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
            app.MapGet(path, (HttpContext c) =>
            {
                c.Response.ContentType = type;
                // Everything from this endpoint, nothing inline, nothing framed: the page is as safe as the API it calls.
                c.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
                c.Response.Headers.XContentTypeOptions = "nosniff";
                c.Response.Headers.CacheControl = "no-cache";
                return c.Response.Body.WriteAsync(bytes).AsTask();
            });
        }
        api.MapGet("/events", Events);
    }

    private static byte[] Resource(string name)
    {
        var assembly = typeof(LivePage).Assembly;
        var resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith("LivePage." + name, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// Server-sent events: <c>verdict</c> (a matrix row), <c>bee</c> (a link verdict) and <c>gone</c> (a subject no
    /// longer probed) for every change, <c>round</c> for each new round of the one series the page charts
    /// (<c>?target=&amp;bee=</c>), and <c>reset</c> when this stream had to drop events for a page that reads too
    /// slowly (it then reloads the matrix).
    /// </summary>
    private static async Task Events(HttpContext c)
    {
        var feed = c.RequestServices.GetService<LiveFeed>() ?? throw ManagementEndpoint.NoVerdicts();
        var target = c.Request.Query["target"].ToString();
        var bee = c.Request.Query["bee"].ToString();
        if (target.Length > Probing.ProbeTarget.MaxLength || bee.Length > 64)
            throw new ManagementRefused(Refusal.Invalid, "target or bee: too long");
        using var stream = feed.Open(target, bee) ?? throw new ManagementRefused(Refusal.Busy,
            $"{LiveFeed.MaxStreams} event streams are open on this node already; close a page or try another node");
        c.Response.ContentType = "text/event-stream";
        c.Response.Headers.CacheControl = "no-cache";
        try
        {
            await c.Response.WriteAsync(": swarm live events\n\n", c.RequestAborted);
            await c.Response.Body.FlushAsync(c.RequestAborted);
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted))
                {
                    quiet.CancelAfter(TimeSpan.FromSeconds(15));
                    try
                    {
                        await stream.Events.WaitToReadAsync(quiet.Token);
                    }
                    catch (OperationCanceledException) when (!c.RequestAborted.IsCancellationRequested)
                    {
                        // Nothing for 15 s: a comment keeps proxies from closing the stream.
                        await c.Response.WriteAsync(": keep-alive\n\n", c.RequestAborted);
                        await c.Response.Body.FlushAsync(c.RequestAborted);
                        continue;
                    }
                }
                var batch = new StringBuilder();
                if (stream.TakeDropped()) batch.Append(Event("reset", "{}"));
                while (batch.Length < 1 << 20 && stream.Events.TryRead(out var line)) batch.Append(line);
                await c.Response.WriteAsync(batch.ToString(), c.RequestAborted);
                await c.Response.Body.FlushAsync(c.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (c.RequestAborted.IsCancellationRequested)
        {
            // The page went away.
        }
    }

    internal static string Event(string name, string json) => $"event: {name}\ndata: {json}\n\n";
}

/// <summary>
/// The live page's event source on this node: hears the board and the round history once, writes each change as
/// JSON once, and hands it to every open stream. A stream that falls behind drops its oldest events (and says so).
/// </summary>
internal sealed class LiveFeed
{
    public const int MaxStreams = 64;
    private const int StreamBuffer = 256; // events waiting for one slow page; a matrix row of 100 bees is a few KB

    private readonly ConcurrentDictionary<Stream, byte> _streams = new();

    public LiveFeed(VerdictBoard board, RoundHistory history)
    {
        board.Changed += (_, verdict) =>
        {
            if (_streams.IsEmpty) return;
            var line = verdict switch
            {
                TargetVerdict v => LivePage.Event("verdict", JsonSerializer.Serialize(VerdictBoard.Row(v), SwarmJson.Default.MatrixRow)),
                BeeVerdict b => LivePage.Event("bee", JsonSerializer.Serialize(b, SwarmJson.Default.BeeVerdict)),
                VerdictGone g => LivePage.Event("gone", JsonSerializer.Serialize(new VerdictsGone(g.Subject, g.IsBee), SwarmJson.Default.VerdictsGone)),
                _ => null,
            };
            if (line is null) return;
            foreach (var stream in _streams.Keys) stream.Write(line);
        };
        history.Added += (target, bee, point) =>
        {
            string? line = null;
            foreach (var stream in _streams.Keys)
                if (stream.Target == target && stream.Bee == bee)
                    stream.Write(line ??= LivePage.Event("round", JsonSerializer.Serialize(point, SwarmJson.Default.RoundPoint)));
        };
    }

    /// <summary>A stream for one page, or null when <see cref="MaxStreams"/> are open.</summary>
    public Stream? Open(string target, string bee)
    {
        if (_streams.Count >= MaxStreams) return null;
        var stream = new Stream(this, target, bee);
        _streams[stream] = 0;
        return stream;
    }

    public sealed class Stream(LiveFeed feed, string target, string bee) : IDisposable
    {
        private readonly Channel<string> _events = Channel.CreateBounded<string>(
            new BoundedChannelOptions(StreamBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        private int _dropped;

        public string Target => target;
        public string Bee => bee;
        public ChannelReader<string> Events => _events.Reader;

        public void Write(string line)
        {
            if (_events.Reader.Count >= StreamBuffer) Interlocked.Exchange(ref _dropped, 1);
            _events.Writer.TryWrite(line);
        }

        /// <summary>Whether events were dropped since the last call.</summary>
        public bool TakeDropped() => Interlocked.Exchange(ref _dropped, 0) == 1;

        public void Dispose() => feed._streams.TryRemove(this, out _);
    }
}
