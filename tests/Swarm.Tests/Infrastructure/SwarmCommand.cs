namespace Swarm.Tests.Infrastructure;

/// <summary>Runs the real <c>swarm</c> binary once and returns its exit code and what it printed.</summary>
public static class SwarmCommand
{
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        await using var cli = NodeProcess.StartCli(args);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, cli.Output);
    }
}
