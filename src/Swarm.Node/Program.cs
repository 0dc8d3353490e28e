using Swarm.Hosting;
using Swarm.Probing;

if (args.Any(a => a is "--help" or "-h" or "-?"))
{
    Console.Out.Write(NodeHelp.Text);
    return 0;
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
SwarmOptions options;
try
{
    options = SwarmOptions.Load(builder.Configuration);
    builder.Services.AddSwarmNode(options);
}
catch (Exception e) when (e is SwarmConfigurationException or IcmpUnavailableException)
{
    Console.Error.WriteLine($"swarm node cannot start: {e.Message}");
    return 2;
}
builder.Services.AddHostedService<StartupBanner>();
builder.WebHost.UseUrls(options.Management.Url);

var app = builder.Build();
app.MapGet("/health/live", () => Results.Text("live\n"));
try
{
    await app.RunAsync();
}
catch (Exception e)
{
    // Start-up failures (a port in use, an unreadable database) end with one line that says what to fix.
    var cause = e is InvalidOperationException ? e.Message : e.GetBaseException().Message;
    Console.Error.WriteLine($"swarm node stopped: {cause}");
    return 1;
}
return Environment.ExitCode;
