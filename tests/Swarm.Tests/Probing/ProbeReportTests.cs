using Swarm.Cli;
using Swarm.Probing;

namespace Swarm.Tests.Probing;

public class ProbeReportTests
{
    private static ProbeOutcome Answered(string target, params double[] rtts) =>
        new(target, "icmp", target, null, RoundStats.Of(rtts.Length, rtts), null);

    [Fact]
    public void Summary_reads_like_fping_with_our_extra_figures_after()
    {
        var line = ProbeReport.SummaryLine(Answered("127.0.0.1", 1, 2, 3), width: 12);

        Assert.Equal("127.0.0.1    : xmt/rcv/%loss = 3/3/0%, min/avg/max = 1.000/2.000/3.000, stddev/median/p95 = 0.816/2.000/3.000, jitter = 1.000", line);
    }

    [Fact]
    public void A_lost_target_shows_its_reason()
    {
        var lost = ProbeOutcome.Failed("tcp://10.0.0.1:1", "tcp", "connect to 10.0.0.1:1 failed: connection refused");

        Assert.Equal("tcp://10.0.0.1:1 : xmt/rcv/%loss = 0/0/100% (connect to 10.0.0.1:1 failed: connection refused)", ProbeReport.SummaryLine(lost));
    }

    [Fact]
    public void Exit_codes_follow_fping()
    {
        var ok = Answered("a", 1);
        var lost = new ProbeOutcome("b", "icmp", "b", null, RoundStats.Of(3, []), "no reply");
        var unresolved = ProbeOutcome.Failed("c", "icmp", "cannot resolve c: not found");

        Assert.Equal(0, ProbeReport.ExitCode([ok]));
        Assert.Equal(1, ProbeReport.ExitCode([ok, lost]));
        Assert.Equal(2, ProbeReport.ExitCode([ok, lost, unresolved]));
    }
}
