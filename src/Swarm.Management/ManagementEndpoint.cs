using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Swarm.Hosting;
using Swarm.Metrics;
using Swarm.Protocol;
using Swarm.Serialization;

namespace Swarm.Management;

/// <summary>
/// The management endpoint of every Lighthouse and node: <c>/health/live</c>, <c>/health/ready</c>, <c>/metrics</c>,
/// and under <c>/api/</c> the verbs of <c>swarm</c> (Petabridge.Cmd's, over HTTP and JSON). <c>/api/</c> wants the
/// bearer token whenever one is configured, and one must be when the endpoint is reachable from other machines.
/// </summary>
public static class ManagementEndpoint
{
    /// <summary>Registers what the endpoint needs; call before <c>AddSwarmNode</c> so that the node's metrics land on this registry.</summary>
    /// <summary>The largest request body taken: a list of a thousand URLs fits many times over.</summary>
    public const int MaxBodyBytes = 1 << 20;

    public static IServiceCollection AddSwarmManagement(this IServiceCollection services, ManagementOptions options, IWebHostBuilder web)
    {
        var log = new RecentLog();
        services.AddSingleton(log);
        services.AddSingleton<ILoggerProvider>(log);
        services.AddSingleton(options);
        services.AddSingleton(new SwarmMetrics(Prometheus.Metrics.NewCustomRegistry(), options.MaxTargetSeries));
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<ActorRegistry>();
            return new SwarmManagement(sp.GetRequiredService<ActorSystem>(),
                () => registry.TryGet<TargetListRegion>(out var region) ? region : null, log)
            {
                Addresses = sp.GetService<SwarmOptions>()?.Probe.Addresses ?? Probing.AddressPolicy.Default,
                Directory = sp.GetService<Edge.BeeDirectory>(),
            };
        });
        services.AddSingleton(sp => sp.GetService<Verdicts.VerdictBoard>() is { } board && sp.GetService<Verdicts.RoundHistory>() is { } history
            ? new LiveFeed(board, history) : null!);
        web.UseUrls(options.Url);
        web.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = MaxBodyBytes);
        return services;
    }

    /// <summary>Maps every route. <paramref name="isBee"/>: readiness also wants the probe engine.</summary>
    public static WebApplication MapSwarmManagement(this WebApplication app, bool isBee)
    {
        var options = app.Services.GetRequiredService<ManagementOptions>();
        var configured = new Uri(options.Url);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Swarm.Management");
        app.Use(async (context, next) =>
        {
            if (Gate(context, options, configured) is { } refusal)
            {
                if (refusal.Status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
                await Write(context, refusal.Status, new ApiError(refusal.Reason));
                return;
            }
            try
            {
                await next(context);
            }
            catch (ManagementRefused e)
            {
                await Write(context, StatusOf(e.Kind), new ApiError(e.Message));
            }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException
                                      || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
            {
                await Write(context, 504, new ApiError($"the cluster did not answer in time ({e.Message}); try again, or see /api/log"));
            }
            catch (BadHttpRequestException e)
            {
                await Write(context, e.StatusCode, new ApiError(e.StatusCode == 413 ? $"the body is over the limit of {MaxBodyBytes} bytes" : e.Message));
            }
            catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                logger.LogError(e, "management: {Method} {Path} failed", context.Request.Method, context.Request.Path);
                await Write(context, 500, new ApiError($"the node failed to answer {context.Request.Method} {context.Request.Path}: {e.Message}"));
                return;
            }
            // Refusals the framework makes itself (405 for a wrong method, 413 for a body too big) get words too.
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted)
                await Write(context, context.Response.StatusCode, new ApiError(FrameworkRefusal(context)));
        });

        app.MapGet("/health/live", (HttpContext c) =>
        {
            c.Response.ContentType = "text/plain; charset=utf-8";
            return c.Response.WriteAsync("live\n");
        });
        app.MapGet("/health/ready", (HttpContext context) =>
        {
            var readiness = Ready(app.Services, isBee);
            return Write(context, readiness.Ready ? 200 : 503, readiness);
        });
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            if (!Authorized(context, options.MetricsToken))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Write(context, 401, new ApiError("/metrics wants the bearer token Swarm:Management:MetricsToken"));
                return;
            }
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await app.Services.GetRequiredService<SwarmMetrics>().Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });

        var api = app.MapGroup("/api");
        SwarmManagement M() => app.Services.GetRequiredService<SwarmManagement>();
        Verdicts.VerdictBoard Board() => app.Services.GetService<Verdicts.VerdictBoard>() ?? throw NoVerdicts();
        api.MapGet("/cluster", (HttpContext c) => Write(c, 200, M().ClusterView()));
        api.MapPost("/cluster/leave", (HttpContext c) => Write(c, 202, M().Leave()));
        api.MapPost("/cluster/down", async (HttpContext c) =>
            await Write(c, 202, M().Down((await Body(c, SwarmJson.Default.AddressRequest))?.Address)));
        api.MapPost("/cluster/join", async (HttpContext c) =>
            await Write(c, 202, M().Join((await Body(c, SwarmJson.Default.AddressRequest))?.Address)));
        api.MapPost("/cluster/down-unreachable", (HttpContext c) => Write(c, 202, M().DownUnreachable()));
        api.MapGet("/sharding/regions", (HttpContext c) => Write(c, 200, M().Regions()));
        api.MapGet("/sharding/regions/{region}/stats", async (HttpContext c) =>
            await Write(c, 200, await M().RegionStatsAsync(Route(c, "region"))));
        api.MapGet("/sharding/regions/{region}/entities", async (HttpContext c) =>
            await Write(c, 200, await M().RegionEntitiesAsync(Route(c, "region"))));
        api.MapGet("/bees", async (HttpContext c) => await Write(c, 200, await M().BeesAsync()));
        api.MapGet("/targets/{list}", async (HttpContext c) => await Write(c, 200, await M().TargetsAsync(Route(c, "list"))));
        api.MapPut("/targets/{list}", async (HttpContext c) =>
            await Write(c, 200, await M().ChangeTargetsAsync(Route(c, "list"), "set", await Body(c, SwarmJson.Default.TargetsChange))));
        api.MapPost("/targets/{list}/{change}", async (HttpContext c) =>
            await Write(c, 200, await M().ChangeTargetsAsync(Route(c, "list"), Route(c, "change"), await Body(c, SwarmJson.Default.TargetsChange))));
        api.MapGet("/actors", (HttpContext c) =>
            Write(c, 200, M().Hierarchy(IntQuery(c, "depth", 4, 1, 20))));
        api.MapGet("/verdicts", (HttpContext c) =>
        {
            var board = Board();
            var target = c.Request.Query["target"].ToString();
            if (target.Length > Probing.ProbeTarget.MaxLength)
                throw new ManagementRefused(Refusal.Invalid, $"target: {target.Length} characters, at most {Probing.ProbeTarget.MaxLength}");
            return Write(c, 200, board.View(target.Length == 0 ? null : target));
        });
        api.MapGet("/matrix", (HttpContext c) => Write(c, 200, Board().Matrix()));
        api.MapGet("/history", (HttpContext c) =>
        {
            var history = app.Services.GetService<Verdicts.RoundHistory>() ?? throw NoVerdicts();
            var target = c.Request.Query["target"].ToString();
            var bee = c.Request.Query["bee"].ToString();
            if (target.Length is 0 or > Probing.ProbeTarget.MaxLength) throw new ManagementRefused(Refusal.Invalid, "target: give ?target=<a target>, at most 2048 characters");
            var bees = history.BeesOf(target);
            var chosen = bee.Length > 0 ? bee : bees.FirstOrDefault();
            return Write(c, 200, new HistoryView(target, chosen, bees, chosen is null ? [] : history.Read(target, chosen))
            {
                Path = chosen is null ? null : history.PathOf(target, chosen),
            });
        });
        LivePage.Map(app, api);
        api.MapGet("/log", (HttpContext c) => Write(c, 200, M().Log(IntQuery(c, "lines", 50, 1, 1000))));
        api.MapFallback((HttpContext c) => Write(c, 404,
            new ApiError($"no such endpoint: {c.Request.Method} {c.Request.Path}; 'swarm --help' lists what there is")));
        return app;
    }

    internal static ManagementRefused NoVerdicts() =>
        new(Refusal.NotFound, "this node does not follow verdicts (an edge bee or a Lighthouse); ask a queen or a bee of the cluster");

    /// <summary>The HTTP status for each kind of refusal: the one place the domain's outcomes become HTTP.</summary>
    internal static int StatusOf(Refusal kind) => kind switch
    {
        Refusal.Invalid => StatusCodes.Status400BadRequest,
        Refusal.NotFound => StatusCodes.Status404NotFound,
        Refusal.Conflict => StatusCodes.Status409Conflict,
        Refusal.Busy => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status502BadGateway,
    };

    /// <summary>
    /// Ready once this node is an Up member of the cluster (an edge bee has none to join), on a bee the probe engine is
    /// open, and no part reports a problem.
    /// </summary>
    private static Readiness Ready(IServiceProvider services, bool isBee)
    {
        var waiting = new List<string>();
        var system = services.GetRequiredService<ActorSystem>();
        if (((ExtendedActorSystem)system).Provider is not LocalActorRefProvider)
        {
            var status = Cluster.Get(system).SelfMember.Status;
            if (status is not (MemberStatus.Up or MemberStatus.WeaklyUp))
                waiting.Add($"cluster: not an up member yet (this node is {status.ToString().ToLowerInvariant()}); is a seed reachable?");
        }
        if (isBee && services.GetService<Probing.IcmpEngine>() is null)
            waiting.Add("bee: no probe engine");
        waiting.AddRange(services.GetService<Health.NodeHealth>()?.Problems ?? []);
        return new Readiness(waiting.Count == 0, waiting);
    }

    /// <summary>
    /// What every request must pass before any route sees it: a Host header naming this endpoint (a page that
    /// rebinds its own name to 127.0.0.1 sends its own name), JSON declared on every request that changes something
    /// (a cross-site form can post text/plain or a form, never application/json without a preflight), and the
    /// token on <c>/api/</c>.
    /// </summary>
    private static (int Status, string Reason)? Gate(HttpContext context, ManagementOptions options, Uri configured)
    {
        var request = context.Request;
        if (!HostAllowed(request.Host, configured))
            return (421, $"Host '{request.Host}' is not this endpoint ({configured.Authority}): a request through another name is refused");
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method)
            && !(MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
            return (415, $"{request.Method} wants 'Content-Type: application/json' (got '{request.ContentType}'), even with an empty body");
        if (request.Path.StartsWithSegments("/api") && !Authorized(context, options.Token))
        {
            return (401, request.Headers.Authorization.Count == 0
                ? "this endpoint wants a bearer token: pass --token (or SWARM_TOKEN) to swarm, or 'Authorization: Bearer <token>'"
                : "the bearer token does not match Swarm:Management:Token");
        }
        return null;
    }

    /// <summary>
    /// The Host header must name the configured endpoint: its host (or, bound to loopback, any loopback name) and
    /// port. Bound to every interface (0.0.0.0, [::]), the token guards the API and any name is taken.
    /// </summary>
    internal static bool HostAllowed(HostString host, Uri configured)
    {
        var bound = configured.Host.Trim('[', ']');
        if (bound is "0.0.0.0" or "::" or "*" or "+") return true;
        if (!host.HasValue) return false;
        var name = host.Host.Trim('[', ']');
        if ((host.Port ?? (configured.Scheme == "https" ? 443 : 80)) != configured.Port) return false;
        if (string.Equals(name, bound, StringComparison.OrdinalIgnoreCase)) return true;
        return ManagementOptions.IsLoopback(configured) && name is "localhost" or "127.0.0.1" or "::1";
    }

    private static string FrameworkRefusal(HttpContext context) => context.Response.StatusCode switch
    {
        405 => $"{context.Request.Method} is not allowed on {context.Request.Path}; 'swarm --help' lists what there is",
        413 => $"the body is over the limit of {MaxBodyBytes} bytes",
        404 => $"no such endpoint: {context.Request.Method} {context.Request.Path}; 'swarm --help' lists what there is",
        var status => $"{status} {ReasonPhrases.GetReasonPhrase(status)}: {context.Request.Method} {context.Request.Path}",
    };

    private static bool Authorized(HttpContext context, string? token)
    {
        if (token is null) return true;
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    private static async Task<T?> Body<T>(HttpContext context, JsonTypeInfo<T> info)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, info, context.RequestAborted);
        }
        catch (JsonException e)
        {
            throw new ManagementRefused(Refusal.Invalid, $"the body is not the JSON expected: {e.Message}");
        }
    }

    private static int IntQuery(HttpContext context, string name, int fallback, int min, int max)
    {
        var value = context.Request.Query[name].ToString();
        if (value.Length == 0) return fallback;
        if (int.TryParse(value, out var n) && n >= min && n <= max) return n;
        throw new ManagementRefused(Refusal.Invalid, $"?{name}={value}: must be a whole number from {min} to {max}");
    }

    /// <summary>
    /// A route value. Every handler here is a plain <see cref="RequestDelegate"/> (it takes the context, returns a task):
    /// a handler with other parameters goes through ASP.NET's RequestDelegateFactory, which in the native edge build
    /// reads the handler's return type by reflection, and once a build left out the metadata that says a Task is
    /// awaited, it took the Task for a value to serialize and every request answered 500.
    /// </summary>
    private static string Route(HttpContext context, string name) => context.Request.RouteValues[name] as string ?? "";

    /// <summary>Answers JSON as people read it (quotes and accents unescaped); nothing here lands in HTML.</summary>
    private static Task Write<T>(HttpContext context, int status, T value)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, (JsonTypeInfo<T>)SwarmJson.Wire.GetTypeInfo(typeof(T))!, context.RequestAborted);
    }
}
