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
    /// <summary>Event streams open at once; past that a new one is refused (503), so pages cannot exhaust the node.</summary>
    public const int MaxStreams = 64;

    /// <summary>Events waiting for a slow page; past that the oldest are dropped (the page refetches the matrix on a gap).</summary>
    private const int StreamBuffer = 1000;

    private static int _streams;

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
    /// Server-sent events: <c>verdict</c> (a matrix row) and <c>bee</c> (a link verdict) for every change, and
    /// <c>round</c> for each new round of the one series the page charts (<c>?target=&amp;bee=</c>).
    /// </summary>
    private static async Task Events(HttpContext c)
    {
        var board = c.RequestServices.GetService<VerdictBoard>();
        var history = c.RequestServices.GetService<RoundHistory>();
        if (board is null || history is null) throw ManagementEndpoint.NoVerdicts();
        var target = c.Request.Query["target"].ToString();
        var bee = c.Request.Query["bee"].ToString();
        if (target.Length > Probing.ProbeTarget.MaxLength || bee.Length > 64)
            throw new ManagementRefused(Refusal.Invalid, "target or bee: too long");
        if (Interlocked.Increment(ref _streams) > MaxStreams)
        {
            Interlocked.Decrement(ref _streams);
            throw new ManagementRefused(Refusal.Busy, $"{MaxStreams} event streams are open on this node already; close a page or try another node");
        }
        var events = Channel.CreateBounded<string>(new BoundedChannelOptions(StreamBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        void OnVerdict(string key, object verdict)
        {
            var line = verdict switch
            {
                TargetVerdict v => Event("verdict", JsonSerializer.Serialize(VerdictBoard.Row(v), SwarmJson.Default.MatrixRow)),
                BeeVerdict b => Event("bee", JsonSerializer.Serialize(b, SwarmJson.Default.BeeVerdict)),
                _ => null,
            };
            if (line is not null) events.Writer.TryWrite(line);
        }
        void OnRound(string t, string b, RoundPoint point)
        {
            if (t == target && b == bee) events.Writer.TryWrite(Event("round", JsonSerializer.Serialize(point, SwarmJson.Default.RoundPoint)));
        }
        board.Changed += OnVerdict;
        history.Added += OnRound;
        try
        {
            c.Response.ContentType = "text/event-stream";
            c.Response.Headers.CacheControl = "no-cache";
            await c.Response.WriteAsync(": swarm live events\n\n", c.RequestAborted);
            await c.Response.Body.FlushAsync(c.RequestAborted);
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted))
                {
                    quiet.CancelAfter(TimeSpan.FromSeconds(15));
                    try
                    {
                        await events.Reader.WaitToReadAsync(quiet.Token);
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
                while (batch.Length < 1 << 20 && events.Reader.TryRead(out var line)) batch.Append(line);
                await c.Response.WriteAsync(batch.ToString(), c.RequestAborted);
                await c.Response.Body.FlushAsync(c.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (c.RequestAborted.IsCancellationRequested)
        {
            // The page went away.
        }
        finally
        {
            board.Changed -= OnVerdict;
            history.Added -= OnRound;
            Interlocked.Decrement(ref _streams);
        }
    }

    private static string Event(string name, string json) => $"event: {name}\ndata: {json}\n\n";
}
