using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>
/// The engine as an unprivileged user: with neither raw nor datagram ICMP it must refuse to start, naming both fixes;
/// with datagram ICMP allowed (the sysctl, in a namespace of the test's own) it must probe without raw sockets.
/// </summary>
public class IcmpRightsTests
{
    private static string[] AsNobody(params string[] command) =>
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
         "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", .. command];

    private static string Cli => NodeProcess.BinaryPath("Swarm.Cli", assembly: "swarm");

    [SkippableFact]
    public async Task Without_icmp_rights_the_probe_refuses_to_start_and_names_both_fixes()
    {
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        await network!.Exec("sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0"); // datagram ICMP off, whatever the host says

        var (exit, output) = await network.RunAsync(AsNobody("dotnet", Cli, "probe", "-c", "1", "127.0.0.1"));

        Assert.Equal(4, exit);
        Assert.Contains("setcap cap_net_raw+ep", output);
        Assert.Contains("net.ipv4.ping_group_range", output);
    }

    [SkippableFact]
    public async Task With_datagram_icmp_allowed_an_unprivileged_probe_works_without_raw_sockets()
    {
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        await network!.Exec("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647");

        var (exit, output) = await network.RunAsync(AsNobody("dotnet", Cli, "probe", "-c", "4", "-p", "10", "127.0.0.1", "::1"));

        Assert.True(exit == 0, output);
        Assert.Contains("xmt/rcv/%loss = 4/4/0%", output.Split('\n').Single(l => l.StartsWith("127.0.0.1 ")));
        Assert.Contains("xmt/rcv/%loss = 4/4/0%", output.Split('\n').Single(l => l.StartsWith("::1 ")));
    }
}
