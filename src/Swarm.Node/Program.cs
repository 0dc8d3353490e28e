using Swarm;
using Swarm.Hosting;
using Swarm.Management;
using Swarm.Probing;

if (args.Any(a => a is "--help" or "-h" or "-?"))
{
    Console.Out.Write(NodeHelp.Text);
    return 0;
}

// The slim builder: no IIS, no HTTP/3, no regex route constraints (none is used); HTTPS stays for Swarm:Management:Url.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.WebHost.UseKestrelHttpsConfiguration();
builder.Logging.AddSwarmConsole();
SwarmOptions options;
try
{
    options = SwarmOptions.Load(builder.Configuration);
    // The native build (`-p:NativeEdge=true`) keeps only what an edge bee runs: cluster roles need the .dll build.
    if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported && !options.IsEdge)
        throw new SwarmConfigurationException([$"this native build runs edge bees only ({SwarmKeys.Roles}=edge); the cluster roles run from Swarm.Node.dll (dotnet Swarm.Node.dll)"]);
    builder.Services.AddSwarmManagement(options.Management, builder.WebHost);
    builder.Services.AddSwarmNode(options);
}
catch (SwarmConfigurationException e)
{
    Console.Error.WriteLine($"swarm node cannot start: {e.Message}");
    return 2;
}
builder.Services.AddHostedService<StartupBanner>();

var app = builder.Build();
app.MapSwarmManagement(isBee: options.IsBee);
var verdict = app.Services.GetRequiredService<NodeVerdict>(); // taken now: the container is gone once the host has run
try
{
    await app.RunAsync();
}
catch (Exception e) when (Cause<IcmpUnavailableException>(e) is { } icmp)
{
    // The probe engine opens when the host starts: no ICMP rights is a configuration problem, like a bad key.
    Console.Error.WriteLine($"swarm node cannot start: {icmp.Message}");
    return 2;
}
catch (Exception e)
{
    // Start-up failures (a port in use, an unreadable database) end with one line that says what to fix.
    var cause = e is InvalidOperationException ? e.Message : e.GetBaseException().Message;
    Console.Error.WriteLine($"swarm node stopped: {cause}");
    return 1;
}
return verdict.ExitCode ?? Environment.ExitCode;

// The first exception of type T in the chain (the host may wrap it; it wraps a SocketException of its own).
static T? Cause<T>(Exception? e) where T : Exception
{
    for (; e is not null; e = e.InnerException)
        if (e is T found) return found;
    return null;
}
