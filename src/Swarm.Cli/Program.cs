using System.CommandLine;
using Swarm.Cli;

var root = new RootCommand("swarm: the Swarm network-quality monitor's command line.")
{
    ProbeCommand.Create(),
};
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"swarm: {error.Message}");
    Console.Error.WriteLine("Try 'swarm --help' or 'swarm probe --help'.");
    return Swarm.Probing.ProbeReport.BadArguments;
}
return await parsed.InvokeAsync();
