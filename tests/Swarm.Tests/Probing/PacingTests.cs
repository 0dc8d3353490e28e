using System.Diagnostics;
using System.Net;
using Swarm.Probing;

namespace Swarm.Tests.Probing;

public class PacingTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;

    [Fact]
    public void A_target_is_never_given_two_slots_closer_than_its_spacing()
    {
        var pacer = new ProbePacer(new ProbeLimits(0, TimeSpan.FromMilliseconds(100)));

        var slots = Enumerable.Range(0, 5).Select(_ => pacer.Reserve(1, 0)).ToArray();
        var other = pacer.Reserve(2, 0);

        Assert.Equal([0, 100 * Ms, 200 * Ms, 300 * Ms, 400 * Ms], slots);
        Assert.Equal(0, other); // another target is not held back by the first one's spacing
    }

    [Fact]
    public void The_global_budget_spaces_every_probe_whatever_its_target()
    {
        var pacer = new ProbePacer(new ProbeLimits(1000, TimeSpan.Zero));

        var slots = Enumerable.Range(0, 4).Select(i => pacer.Reserve((UInt128)i, 0)).ToArray();

        Assert.Equal([0, Ms, 2 * Ms, 3 * Ms], slots);
        Assert.Equal(10 * Ms, pacer.Reserve(9, 10 * Ms)); // an idle pacer grants the time asked
    }

    [Fact]
    public async Task A_round_asking_for_a_flood_is_stretched_to_the_target_spacing()
    {
        using var engine = IcmpEngine.Open(new ProbeLimits(0, TimeSpan.FromMilliseconds(25)));
        var started = Stopwatch.GetTimestamp();

        var replies = await engine.RoundAsync(IPAddress.Loopback, 10, TimeSpan.Zero, TimeSpan.FromSeconds(1));

        // Nine gaps of at least 25 ms: a lower bound the engine enforces, however fast the machine.
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(9 * 25), $"{Stopwatch.GetElapsedTime(started)}");
        Assert.All(replies.Rtts, r => Assert.NotNull(r));
    }

    [Fact]
    public async Task The_global_budget_holds_across_targets()
    {
        using var engine = IcmpEngine.Open(new ProbeLimits(200, TimeSpan.Zero));
        var started = Stopwatch.GetTimestamp();

        var rounds = await Task.WhenAll(Enumerable.Range(1, 50).Select(i =>
            engine.RoundAsync(IPAddress.Parse($"127.0.1.{i}"), 1, TimeSpan.Zero, TimeSpan.FromSeconds(2))));

        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(49 * 5), $"{Stopwatch.GetElapsedTime(started)}");
        Assert.All(rounds, r => Assert.NotNull(r.Rtts[0]));
    }

    [Fact]
    public async Task A_thousand_targets_in_interleaved_rounds_each_get_exactly_their_own_replies()
    {
        // Paced (2k/s): an unpaced burst of 2,000 loopback packets overflows the kernel's per-CPU backlog
        // (net.core.netdev_max_backlog, 1000) when the whole suite shares two cores, and loss is not what this is about.
        using var engine = IcmpEngine.Open(new ProbeLimits(2_000, TimeSpan.FromMilliseconds(1)));
        var dropsBefore = KernelDrops();
        var prober = new IcmpProber(engine);
        var targets = Enumerable.Range(0, 1000).Select(i => $"127.1.{i / 250}.{i % 250 + 1}").ToArray();
        var settings = new RoundSettings(3, TimeSpan.FromMilliseconds(2), TimeSpan.FromSeconds(10));

        // Two waves of rounds overlap: a reply credited to the wrong target or round would leave its own echo lost.
        var outcomes = await Task.WhenAll(targets.Concat(targets).Select(t => prober.ProbeAsync(t, settings, default)));

        Assert.Equal(2000, outcomes.Length);
        // What this is about: no reply is ever credited to another target or round. Every echo was sent, every reply
        // matched one echo of its own address and carried that echo's cookie back. Loss is the kernel's business: with
        // the CPUs saturated (a CI host running other suites) loopback drops packets from its backlog, and a dropped
        // reply is rightly reported as loss, not as a fault of the engine.
        var (sent, received) = engine.Counters;
        Assert.Equal(6000L, sent);
        Assert.Equal(0, engine.Forged);
        Assert.Equal(received, outcomes.Sum(o => (long)o.Stats.Received));
        Assert.All(outcomes, o =>
        {
            Assert.Equal(o.Target, o.Address);
            Assert.Equal(3, o.Stats.Sent);
            Assert.InRange(o.Stats.Received, 0, 3);
        });
        // The kernel says what it dropped (a backlog full while ksoftirqd waited for a CPU, a socket buffer full):
        // beyond that, and a 10% margin, a loss would be the engine's (a reply read too late and thrown away).
        var dropped = KernelDrops() - dropsBefore;
        Assert.True(6000 - received <= 600 + dropped, $"{6000 - received} of 6000 replies lost, the kernel dropped {dropped} packets");
    }

    /// <summary>
    /// Packets the kernel dropped so far: from the per-CPU input backlog (<c>/proc/net/softnet_stat</c>, second column)
    /// and from ICMP sockets' receive buffers (<c>/proc/net/{raw,raw6,icmp,icmp6}</c>, last column), every process's.
    /// </summary>
    private static long KernelDrops()
    {
        var backlog = File.ReadAllLines("/proc/net/softnet_stat").Sum(l => Convert.ToInt64(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], 16));
        var sockets = new[] { "raw", "raw6", "icmp", "icmp6" }.Select(f => $"/proc/net/{f}").Where(File.Exists)
            .SelectMany(f => File.ReadAllLines(f).Skip(1))
            .Sum(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]));
        return backlog + sockets;
    }
}
