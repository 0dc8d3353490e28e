using Swarm.Probing;

namespace Swarm.Tests.Probing;

public class RoundStatsTests
{
    [Fact]
    public void Summary_matches_hand_computed_figures()
    {
        // Five echoes sent, replies 1, 2, 4, 3 ms in send order; one lost.
        var s = RoundStats.Of(5, [1.0, 2.0, 4.0, 3.0]);

        Assert.Equal(5, s.Sent);
        Assert.Equal(4, s.Received);
        Assert.Equal(20.0, s.LossPercent);
        Assert.Equal(1.0, s.MinMs);
        Assert.Equal(2.5, s.AvgMs);
        Assert.Equal(4.0, s.MaxMs);
        Assert.Equal(1.118, s.StddevMs); // sqrt(1.25), as ping's mdev
        Assert.Equal(2.5, s.MedianMs);
        Assert.Equal(4.0, s.P95Ms);
        Assert.Equal(1.333, s.JitterMs); // (|2-1| + |4-2| + |3-4|) / 3
    }

    [Fact]
    public void Total_loss_has_no_rtt_figures()
    {
        var s = RoundStats.Of(3, []);

        Assert.Equal(100.0, s.LossPercent);
        Assert.Null(s.MinMs);
        Assert.Null(s.AvgMs);
        Assert.Null(s.JitterMs);
    }

    [Fact]
    public void One_reply_has_zero_deviation_and_no_jitter()
    {
        var s = RoundStats.Of(1, [0.25]);

        Assert.Equal(0.0, s.LossPercent);
        Assert.Equal(0.25, s.MedianMs);
        Assert.Equal(0.0, s.StddevMs);
        Assert.Null(s.JitterMs);
    }

    [Fact]
    public void More_replies_than_echoes_is_refused()
    {
        Assert.Throws<ArgumentException>(() => RoundStats.Of(1, [1.0, 2.0]));
    }
}
