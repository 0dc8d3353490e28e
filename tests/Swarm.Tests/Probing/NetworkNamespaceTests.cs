using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>Probes across a veth pair into a namespace of the test's own, where loss and delay can be made.</summary>
public class NetworkNamespaceTests
{
    [SkippableFact]
    public async Task Measured_loss_is_within_five_sigma_of_the_configured_drop_rate()
    {
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        await network!.DropEchoRepliesAsync(oneIn: 10);
        using var engine = IcmpEngine.Open(ProbeLimits.Unlimited);

        const int echoes = 4000;
        var rounds = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ =>
            engine.RoundAsync(network.PeerAddress, echoes / 40, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1))));
        var lost = rounds.Sum(r => r.Rtts.Count(x => x is null));

        // Binomial: p = 0.1, n = 4000, sigma = sqrt(p(1-p)/n) = 0.47 %; five sigma fails once in ~1.7 million runs.
        var measured = 100.0 * lost / echoes;
        var sigma = 100 * Math.Sqrt(0.1 * 0.9 / echoes);
        Assert.InRange(measured, 10 - 5 * sigma, 10 + 5 * sigma);
    }

    [SkippableFact]
    public async Task Late_replies_count_as_lost_and_never_corrupt_the_next_round()
    {
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        await network!.AnswerEchoesAfterAsync(TimeSpan.FromMilliseconds(200));
        using var engine = IcmpEngine.Open(ProbeLimits.Unlimited);

        // Round 1 gives up after 50 ms; its replies arrive ~150 ms later, while round 2 is waiting on the same address.
        var first = await engine.RoundAsync(network.PeerAddress, 5, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50));
        var second = await engine.RoundAsync(network.PeerAddress, 5, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(2));

        Assert.All(first.Rtts, r => Assert.Null(r));
        Assert.All(second.Rtts, r => Assert.InRange(r!.Value, 195, 1000)); // a credited late reply would read ~0-50 ms
    }

    [SkippableFact]
    public async Task A_spoofed_reply_with_the_right_identifier_and_sequence_but_not_the_cookie_is_never_credited()
    {
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        // The peer's kernel stays silent; a responder answers every echo at once, with id and seq right, payload wrong.
        await network!.AnswerEchoesAfterAsync(TimeSpan.Zero, forged: true);
        using var engine = IcmpEngine.Open(ProbeLimits.Unlimited);

        var round = await engine.RoundAsync(network.PeerAddress, 5, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(500));

        Assert.All(round.Rtts, r => Assert.Null(r)); // the host is "down", whatever the spoofer says
        Assert.Equal(5, engine.Forged);
    }
}
