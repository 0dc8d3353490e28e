using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>
/// The engine as an unprivileged user: with neither raw nor datagram ICMP it must refuse to start, naming both fixes;
/// with datagram ICMP allowed (the sysctl, in a namespace of the test's own) it must probe without raw sockets.
/// </summary>
public class IcmpRightsTests(IcmpRightsTests.ReadableCopy copy) : IClassFixture<IcmpRightsTests.ReadableCopy>
{
    private static string[] AsNobody(params string[] command) =>
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
         "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", .. command];

    private string Cli => copy.Cli;

    /// <summary>
    /// The CLI's build output copied to a folder every user may read: the clone may sit where user nobody cannot
    /// (a private temporary folder), and these tests are about ICMP rights, not file rights. Removed afterwards.
    /// </summary>
    public sealed class ReadableCopy : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("swarm-test-cli-").FullName;

        public ReadableCopy() => Cli = CopyForNobody(_folder);

        public string Cli { get; }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }

    private static string CopyForNobody(string to)
    {
        var built = NodeProcess.BinaryPath("Swarm.Cli", assembly: "swarm");
        var from = Path.GetDirectoryName(built)!;
        const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                      UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(to, readable);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(to, Path.GetRelativePath(from, dir));
            Directory.CreateDirectory(copy);
            File.SetUnixFileMode(copy, readable);
        }
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(to, Path.GetRelativePath(from, file));
            File.Copy(file, copy);
            File.SetUnixFileMode(copy, readable);
        }
        return Path.Combine(to, Path.GetFileName(built));
    }

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
