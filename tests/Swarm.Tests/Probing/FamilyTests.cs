using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>"Is it only IPv6?": targets that ask for a family, and names with both measured over each in the same round.</summary>
public sealed class FamilyTests
{
    [Theory]
    [InlineData("ICMP4://Free.FR", "icmp4://free.fr")]
    [InlineData("icmp6://[::1]", "icmp6://[::1]")]
    [InlineData("icmp://free.fr", "free.fr")]
    [InlineData("icmp://free.fr?family=6", "icmp6://free.fr")]
    [InlineData("icmp://free.fr?family=both", "icmp://free.fr?family=both")]
    [InlineData("tcp://free.fr:443?family=6", "tcp://free.fr:443?family=6")]
    [InlineData("tcp://[::1]:443?family=6", "tcp://[::1]:443?family=6")]
    [InlineData("https://free.fr/x?a=1&family=both", "https://free.fr/x?a=1&family=both")]
    [InlineData("dns://resolver.example/x.example?family=6&type=mx", "dns://resolver.example/x.example?type=MX&family=6")]
    public void A_family_is_part_of_the_target_and_of_its_one_canonical_form(string written, string canonical) =>
        Assert.Equal(canonical, ProbeTarget.Normalize(written));

    [Theory]
    [InlineData("icmp6://192.0.2.1")]
    [InlineData("icmp4://[2001:db8::1]")]
    [InlineData("icmp://192.0.2.1?family=both")]
    [InlineData("icmp://free.fr?family=5")]
    [InlineData("icmp4://free.fr?family=6")]
    [InlineData("icmp://free.fr?x=1")]
    [InlineData("tcp://free.fr:443?family=4&family=6")]
    [InlineData("tcp://192.0.2.1:443?family=6")]
    [InlineData("https://free.fr/?family=ipv6")]
    public void A_family_that_cannot_be_is_refused_with_the_forms_that_can(string entry)
    {
        Assert.Null(ProbeTarget.Normalize(entry));
        Assert.StartsWith("a family is asked as icmp4://host, icmp6://host, or ?family=4|6|both", ProbeTarget.Problem(entry));
    }

    [Theory]
    [InlineData("icmp://free.fr?family=both", "icmp4://free.fr", "icmp6://free.fr")]
    [InlineData("tcp://free.fr:443?family=both", "tcp://free.fr:443?family=4", "tcp://free.fr:443?family=6")]
    [InlineData("https://free.fr/x?family=both&a=1", "https://free.fr/x?family=4&a=1", "https://free.fr/x?family=6&a=1")]
    public void Both_is_measured_as_two_targets_one_per_family(string both, string v4, string v6)
    {
        Assert.Equal(v4, ProbeTarget.ForFamily(ProbeTarget.Normalize(both)!, IpFamily.V4));
        Assert.Equal(v6, ProbeTarget.ForFamily(ProbeTarget.Normalize(both)!, IpFamily.V6));
        Assert.All(new[] { v4, v6 }, t => Assert.Equal(t, ProbeTarget.Normalize(t)));
    }

    [Fact]
    public async Task The_family_parameter_is_ours_and_never_reaches_the_web_server()
    {
        await using var server = new TestHttpServer();
        var policy = new AddressPolicy([IPNetwork.Parse("127.0.0.0/8")], []);

        var outcome = await new HttpProber(new ProbePacer(ProbeLimits.Unlimited), policy: policy)
            .ProbeAsync($"http://localhost:{server.Port}/status?a=1&family=4", new RoundSettings(1, TimeSpan.Zero, TimeSpan.FromSeconds(5)), default);

        Assert.Null(outcome.Error);
        Assert.Equal("127.0.0.1", outcome.Address);
        Assert.Equal("GET /status?a=1 HTTP/1.1", Assert.Single(server.Received).Line);
    }

    [Fact]
    public async Task A_dual_stack_name_from_a_hosts_file_is_measured_over_both_families_side_by_side()
    {
        // The name lives in a hosts file the test writes, bind-mounted over /etc/hosts in a mount namespace of the
        // swarm command alone; both of its addresses are loopback, and so is every packet.
        using var dir = new TempDir();
        var hosts = dir.File("hosts");
        await File.WriteAllTextAsync(hosts, "127.0.0.1 dual.swarm.test v4only.swarm.test\n::1 dual.swarm.test\n");
        var port = Ports.Free();
        using var v4 = new TcpListener(IPAddress.Loopback, port);
        using var v6 = new TcpListener(IPAddress.IPv6Loopback, port);
        v4.Start();
        v6.Start();

        await using var cli = NodeProcess.StartExecutable("unshare",
            "-m", "--", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts,
            "dotnet", NodeProcess.BinaryPath("Swarm.Cli", assembly: "swarm"), "probe", "--json", "-c", "3", "-p", "20",
            "icmp://dual.swarm.test?family=both", $"tcp://dual.swarm.test:{port}?family=both", "icmp6://v4only.swarm.test");
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));

        var results = cli.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(results.Count == 5, cli.Output);
        var byTarget = results.ToDictionary(r => r.GetProperty("target").GetString()!);
        foreach (var (target, address, family) in new[]
                 {
                     ("icmp4://dual.swarm.test", "127.0.0.1", 4), ("icmp6://dual.swarm.test", "::1", 6),
                     ($"tcp://dual.swarm.test:{port}?family=4", "127.0.0.1", 4), ($"tcp://dual.swarm.test:{port}?family=6", "::1", 6),
                 })
        {
            var r = byTarget[target];
            Assert.Equal((address, family, 3), (r.GetProperty("address").GetString(), r.GetProperty("family").GetInt32(), r.GetProperty("received").GetInt32()));
        }
        Assert.Equal("cannot resolve v4only.swarm.test: it has no IPv6 address", byTarget["icmp6://v4only.swarm.test"].GetProperty("error").GetString());
        Assert.Equal(Swarm.Cli.ProbeReport.SomeUnresolved, code);
        // Side by side: each family's line right after the other's, IPv4 first.
        Assert.Equal(["icmp4://dual.swarm.test", "icmp6://dual.swarm.test"], results.Take(2).Select(r => r.GetProperty("target").GetString()));
    }
}
