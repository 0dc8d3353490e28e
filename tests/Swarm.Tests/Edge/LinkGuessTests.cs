using System.Net;
using System.Text.Json;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Edge;

/// <summary>The connection type a bee guesses from local evidence: the default route's interface, its MTU, the first hop.</summary>
public sealed class LinkGuessTests
{
    /// <summary>A /proc and /sys of a machine whose default route leaves by <paramref name="name"/>.</summary>
    private static (string Proc, string Sys) Machine(TempDir dir, string name, int type, int mtu, string? devtype = null, bool wireless = false)
    {
        var proc = Path.Combine(dir.Path, "proc");
        var sys = Path.Combine(dir.Path, "sys");
        Directory.CreateDirectory(Path.Combine(proc, "net"));
        File.WriteAllText(Path.Combine(proc, "net", "route"),
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
            $"{name}\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
            $"{name}\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
        var net = Path.Combine(sys, "class", "net", name);
        Directory.CreateDirectory(net);
        File.WriteAllText(Path.Combine(net, "type"), $"{type}\n");
        File.WriteAllText(Path.Combine(net, "mtu"), $"{mtu}\n");
        File.WriteAllText(Path.Combine(net, "uevent"), $"INTERFACE={name}\n" + (devtype is null ? "" : $"DEVTYPE={devtype}\n"));
        if (wireless) Directory.CreateDirectory(Path.Combine(net, "wireless"));
        return (proc, sys);
    }

    [Theory]
    [InlineData("eth0", 1, 1500, null, false, "ethernet")]
    [InlineData("wlan0", 1, 1500, "wlan", true, "wifi")]
    [InlineData("wwan0", 65534, 1500, "wwan", false, "cellular")]
    [InlineData("ppp0", 512, 1500, null, false, "ppp")]
    [InlineData("ppp0", 512, 1492, null, false, "dsl")]
    [InlineData("eth1", 1, 1492, null, false, "dsl")]
    public void The_default_routes_interface_names_the_link(string name, int type, int mtu, string? devtype, bool wireless, string expected)
    {
        using var dir = new TempDir();
        var (proc, sys) = Machine(dir, name, type, mtu, devtype, wireless);

        var evidence = LinkGuess.Read(proc, sys);

        Assert.Equal((name, mtu, IPAddress.Parse("192.168.1.1")), (evidence.Interface, evidence.Mtu, evidence.Gateway));
        Assert.Equal(expected, LinkGuess.Classify(evidence).Kind);
    }

    [Fact]
    public void A_far_or_jittery_first_hop_is_a_radio_link_whatever_the_interface_says()
    {
        var lan = new LinkEvidence("eth0", "ethernet", 1500, IPAddress.Parse("192.168.1.1"));

        Assert.Equal("ethernet", LinkGuess.Classify(LinkGuess.WithGateway(lan, [0.4, 0.5, null, 0.45])).Kind);
        Assert.Equal("cellular", LinkGuess.Classify(LinkGuess.WithGateway(lan, [38, 41, 35, 52, 40])).Kind);
        Assert.Equal("cellular", LinkGuess.Classify(LinkGuess.WithGateway(lan, [2, 30, 1, 28, 3])).Kind); // jitter 26.5 ms
        Assert.Equal("unknown", LinkGuess.Classify(new LinkEvidence(null, null, null, null)).Kind);
        Assert.Contains("no default route", LinkGuess.Classify(new LinkEvidence(null, null, null, null)).Why);
    }

    [SkippableFact]
    public async Task In_a_namespace_the_guess_follows_the_mtu_and_the_first_hops_delay()
    {
        var (net, reason) = await NatNetwork.TryCreateAsync();
        Skip.If(net is null, reason);
        await using var _ = net;
        var swarm = NodeProcess.BinaryPath("Swarm.Cli", assembly: "swarm");
        async Task<JsonElement> Guess()
        {
            var (exit, output) = await net!.RunAtHomeAsync("dotnet", swarm, "link", "--json");
            Assert.True(exit == 0, output);
            return JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith('{'))).RootElement;
        }

        var plain = await Guess();
        await net!.SetHomeMtuAsync(1492);
        var pppoe = await Guess();
        await net.SetHomeMtuAsync(1500);
        await net.RouterAnswersAfterAsync(TimeSpan.FromMilliseconds(40));
        var radio = await Guess();

        Assert.Equal("ethernet", plain.GetProperty("connection").GetString());
        Assert.Equal("10.77." + net.HomeAddress.GetAddressBytes()[2] + ".1", plain.GetProperty("gateway").GetString());
        Assert.Equal("dsl", pppoe.GetProperty("connection").GetString());
        Assert.Equal(1492, pppoe.GetProperty("mtu").GetInt32());
        Assert.Equal("cellular", radio.GetProperty("connection").GetString());
        // 40 ms of responder delay reads 38.5 ms at times (its timer fires early): what counts is the threshold.
        Assert.InRange(radio.GetProperty("gateway_ms").GetDouble(), LinkGuess.CellularGatewayMs, 1000);
    }
}
