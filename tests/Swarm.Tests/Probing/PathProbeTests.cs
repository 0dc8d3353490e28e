using System.Globalization;
using System.Text.Json;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>
/// <c>trace://</c> over a chain of three router namespaces between a bee namespace and a target, beside mtr on the
/// same chain: where loss starts, a router that keeps quiet, and the report mtr users read.
/// </summary>
public sealed class PathProbeTests
{
    private static async Task<(ProbeResult Result, string Output)> TraceAsync(RouterChain chain, string target, bool json = true)
    {
        var (exit, output) = await chain.RunInBeeAsync(["dotnet", NodeProcess.BinaryPath("Swarm.Cli", assembly: "swarm"), "probe", "-n", "-c", "20", "-p", "20", "-t", "500",
            .. json ? new[] { "--json" } : [], target]);
        Assert.True(exit is 0 or 1, $"swarm probe exited {exit}: {output}");
        if (!json) return (null!, output);
        var line = output.Split('\n').Single(l => l.StartsWith('{'));
        return (JsonSerializer.Deserialize(line, SwarmJson.Wire.ProbeResult)!, output);
    }

    [Fact]
    public async Task Loss_behind_router_two_starts_at_hop_three_as_mtr_shows_and_a_quiet_router_is_a_hop_without_address()
    {
        var (chain, reason) = await RouterChain.TryCreateAsync(3);
        Assert.True(chain is not null, reason);
        await using var _ = chain;
        await chain.DropLeavingAsync(2, 5); // 20% of what router 2 forwards toward the target

        var (result, _) = await TraceAsync(chain, $"trace://{chain.Target}");

        var path = result.Path!;
        Assert.True(path.Reached, JsonSerializer.Serialize(result, SwarmJson.Wire.ProbeResult));
        Assert.Equal([1, 2, 3, 4], path.Hops.Select(h => h.Hop));
        Assert.Equal(Enumerable.Range(1, 4).Select(h => chain.HopAddress(h).ToString()), path.Hops.Select(h => h.Address));
        Assert.All(path.Hops, h => Assert.Equal(20, h.Sent));
        Assert.Equal((0.0, 0.0), (path.Hops[0].LossPercent, path.Hops[1].LossPercent));
        Assert.True(path.Hops[2].LossPercent > 0 && path.Hops[3].LossPercent > 0, $"hops 3 and 4 lose: {path.Hops[2].LossPercent}%, {path.Hops[3].LossPercent}%");
        Assert.Equal(3, path.LossFrom);
        Assert.Equal((chain.Target.ToString(), 20, path.Hops[3].Received), (result.Address, result.Sent, result.Received)); // the round's figures are the target's

        // mtr on the same chain, same faults, sees the same hops and the same clean first two.
        var (mtrExit, mtr) = await chain.RunInBeeAsync("mtr", "-n", "--report", "-c", "20", "-i", "0.05", chain.Target.ToString());
        Assert.True(mtrExit == 0, mtr);
        var rows = MtrRows(mtr);
        Assert.Equal(path.Hops.Select(h => (h.Hop, h.Address!)), rows.Select(r => (r.Hop, r.Host)));
        Assert.Equal((0.0, 0.0), (rows[0].Loss, rows[1].Loss));
        Assert.True(rows[2].Loss + rows[3].Loss > 0, mtr);

        // Router 1 stops answering: its hop has no address, and the round still reaches the target.
        await chain.SilenceAsync(1);
        var (quiet, _) = await TraceAsync(chain, $"trace://{chain.Target}");
        Assert.True(quiet.Path!.Reached);
        Assert.Equal([null, chain.HopAddress(2).ToString(), chain.HopAddress(3).ToString(), chain.Target.ToString()], quiet.Path.Hops.Select(h => h.Address));
        Assert.Equal((0, 100.0), (quiet.Path.Hops[0].Received, quiet.Path.Hops[0].LossPercent));
        Assert.Equal(3, quiet.Path.LossFrom);

        // What a person reads: mtr's report, ??? for the quiet router, and where the loss starts.
        var (_, report) = await TraceAsync(chain, $"trace://{chain.Target}", json: false);
        Assert.Contains("  1.|-- ???", report);
        Assert.Contains($"  2.|-- {chain.HopAddress(2)}", report);
        Assert.Contains("  loss starts at hop 3", report);
        Assert.Contains("Loss%   Snt   Last   Avg  Best  Wrst StDev", report);
    }

    [Fact]
    public async Task Udp_probes_find_the_same_path_and_a_target_beyond_reach_ends_where_the_path_goes_silent()
    {
        var (chain, reason) = await RouterChain.TryCreateAsync(3);
        Assert.True(chain is not null, reason);
        await using var _ = chain;

        var (udp, _) = await TraceAsync(chain, $"trace://{chain.Target}?proto=udp");
        Assert.Equal(("udp", true), (udp.Path!.Protocol, udp.Path.Reached));
        Assert.Equal(Enumerable.Range(1, 4).Select(h => chain.HopAddress(h).ToString()), udp.Path.Hops.Select(h => h.Address));
        Assert.All(udp.Path.Hops, h => Assert.Equal(0.0, h.LossPercent));
        Assert.Null(udp.Path.LossFrom);

        // Nobody at .9 on the target's link: router 3 answers nothing for it (no neighbour), and the trace stops at max.
        var missing = "10.66.3.9";
        var (lost, _) = await TraceAsync(chain, $"trace://{missing}?max=6");
        Assert.False(lost.Path!.Reached);
        Assert.Equal(Enumerable.Range(1, 3).Select(h => chain.HopAddress(h).ToString()), lost.Path.Hops.Select(h => h.Address));
        Assert.Equal($"{missing} not reached within 6 hops; the path goes silent after hop 3 ({chain.HopAddress(3)})", lost.Error);
        Assert.Equal(100.0, lost.LossPercent);

        // Router 3 refuses 10.66.9.9 (network unreachable): the path ends there, at the hop after its own.
        await chain.RejectAsync(3, System.Net.IPAddress.Parse("10.66.9.9"));
        var (refused, refusedOutput) = await TraceAsync(chain, "trace://10.66.9.9");
        Assert.False(refused.Path!.Reached);
        Assert.True(refused.Path.Hops.Count == 4, refusedOutput);
        Assert.Equal([chain.HopAddress(3).ToString(), chain.HopAddress(3).ToString()], refused.Path.Hops.Skip(2).Select(h => h.Address));
        Assert.Equal($"10.66.9.9 is unreachable: {chain.HopAddress(3)} said so at hop 4", refused.Error);
    }

    [Theory]
    [InlineData("trace://Free.FR", "trace://free.fr")]
    [InlineData("trace://free.fr?max=30&proto=icmp", "trace://free.fr")]
    [InlineData("trace://free.fr?family=6&max=12&proto=udp", "trace://free.fr?proto=udp&max=12&family=6")]
    [InlineData("trace://[2001:DB8::1]", "trace://[2001:db8::1]")]
    public void Path_targets_have_one_canonical_form(string written, string canonical) => Assert.Equal(canonical, ProbeTarget.Normalize(written));

    [Theory]
    [InlineData("trace://free.fr?max=0")]
    [InlineData("trace://free.fr?max=65")]
    [InlineData("trace://free.fr?proto=tcp")]
    [InlineData("trace://free.fr/x")]
    [InlineData("trace://192.0.2.1?family=6")]
    public void Bad_path_targets_are_refused_with_the_form_to_use(string entry) =>
        Assert.StartsWith("a path target is trace://host", ProbeTarget.Problem(entry));

    [Fact]
    public void Loss_counts_where_it_lasts_to_the_end_and_delay_where_it_stays()
    {
        static HopInfo Hop(int n, double loss, double? avg, string? address = "10.0.0.1") =>
            new() { Hop = n, Address = address, Sent = 10, Received = (int)(10 - loss / 10), LossPercent = loss, AvgMs = avg };

        // Hop 2 rate-limits its ICMP (loss that the hops after it do not show): no loss on the path.
        Assert.Null(TraceProber.LossFrom([Hop(1, 0, 1), Hop(2, 60, 1), Hop(3, 0, 2)], reached: true));
        Assert.Equal(3, TraceProber.LossFrom([Hop(1, 0, 1), Hop(2, 0, 1), Hop(3, 20, 2), Hop(4, 10, 2)], reached: true));
        Assert.Equal(3, TraceProber.LossFrom([Hop(1, 0, 1), Hop(2, 100, null, null), Hop(3, 20, 2), Hop(4, 10, 2)], reached: true));
        Assert.Null(TraceProber.LossFrom([Hop(1, 0, 1), Hop(2, 0, 1)], reached: false));

        Assert.Equal(3, TraceProber.DelayFrom([Hop(1, 0, 1), Hop(2, 0, 5), Hop(3, 0, 80), Hop(4, 0, 82)]));
        Assert.Null(TraceProber.DelayFrom([Hop(1, 0, 1), Hop(2, 0, 90), Hop(3, 0, 5)])); // one slow router, not the path
        Assert.Null(TraceProber.DelayFrom([Hop(1, 0, 10), Hop(2, 0, 25), Hop(3, 0, 28)]));
    }

    [Fact]
    public void Ten_thousand_damaged_icmp_answers_never_throw_and_only_whole_ones_match()
    {
        using var prober = new TraceProber(new ProbePacer(ProbeLimits.Unlimited));
        var destination = System.Net.IPAddress.Parse("10.66.3.2");
        var router = System.Net.IPAddress.Parse("10.66.1.2");
        // Time Exceeded from a router, as a raw IPv4 socket reads it: its IP header, ICMP 11, the quoted header and echo.
        var packet = new byte[20 + 8 + 20 + 8];
        packet[0] = 0x45;
        packet[20] = 11;
        packet[28] = 0x45;
        packet[28 + 9] = 1;
        destination.GetAddressBytes().CopyTo(packet, 28 + 16);
        packet[48] = 8;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(52), prober.Ident);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(54), 777);
        Assert.Equal((777, false, destination), prober.Match(packet, v4: true, router) is { } m ? (m.Sequence, m.Reached, m.Quoted.Address) : default);

        var random = new Random(20261202);
        var matched = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var damaged = packet.ToArray();
            switch (random.Next(4))
            {
                case 0: damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8)); break;
                case 1: damaged = damaged[..random.Next(damaged.Length)]; break;
                case 2: damaged[random.Next(2) == 0 ? 0 : 28] = (byte)(0x40 | random.Next(16)); break; // a header length that lies
                default: random.NextBytes(damaged); break;
            }
            if (prober.Match(damaged, v4: random.Next(2) == 0, router) is { Sequence: 777 }) matched++;
        }
        Assert.InRange(matched, 1, 9_000);
    }

    [Theory]
    [InlineData("icmp6://1.2.3.4.")]
    [InlineData("icmp://1.2.3.4.?family=both")]
    [InlineData("trace://1.2.3.4.?family=6")]
    [InlineData("tcp://1.2.3.4.:80?family=6")]
    [InlineData("icmp6://[::ffff:1.2.3.4]")]
    public void A_literal_that_contradicts_its_family_is_refused_however_it_is_written(string entry)
    {
        Assert.Null(ProbeTarget.Normalize(entry));
        Assert.NotNull(ProbeTarget.Problem(entry, AddressPolicy.Default));
    }

    [Fact]
    public void Only_the_family_parameter_changes_when_both_is_split()
    {
        var both = ProbeTarget.Normalize("http://h.example/family=both/?q=family=both&family=both")!;
        Assert.Equal("http://h.example/family=both/?q=family=both&family=6", ProbeTarget.ForFamily(both, IpFamily.V6));
    }

    private static List<(int Hop, string Host, double Loss)> MtrRows(string report) =>
        report.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && char.IsAsciiDigit(l[0]) && l.Contains(".|--"))
            .Select(l =>
            {
                var words = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return (int.Parse(words[0].TrimEnd('.', '|', '-'), CultureInfo.InvariantCulture), words[1],
                    double.Parse(words[2].TrimEnd('%'), CultureInfo.InvariantCulture));
            })
            .ToList();
}
