using System.CommandLine;
using Swarm.Cli;

var root = new RootCommand("swarm: the Swarm network-quality monitor's command line. Probe targets once (probe), guess this machine's link (link), or " +
                           "inspect and steer a running swarm through a node's management endpoint (cluster, bees, targets, actor, log). " +
                           "Those verbs' " + ManagementCommands.ExitCodes)
{
    ProbeCommand.Create(),
    LinkCommand.Create(),
};
foreach (var command in ManagementCommands.Create()) root.Subcommands.Add(command);
root.Options.Add(ManagementCommands.Host);
root.Options.Add(ManagementCommands.Token);
root.Options.Add(ManagementCommands.Json);

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"swarm: {error.Message}");
    Console.Error.WriteLine("Try 'swarm --help', or --help after any verb.");
    return ProbeReport.BadArguments;
}
return await parsed.InvokeAsync();
