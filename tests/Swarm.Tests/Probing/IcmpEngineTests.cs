using System.Net;
using Swarm.Probing;

namespace Swarm.Tests.Probing;

public class IcmpEngineTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.2")]
    [InlineData("::1")]
    public async Task Echo_to_loopback_comes_back_with_a_small_positive_rtt(string address)
    {
        using var engine = IcmpEngine.Open();

        var rtt = await engine.EchoAsync(IPAddress.Parse(address), TimeSpan.FromSeconds(2));

        Assert.NotNull(rtt);
        Assert.InRange(rtt!.Value, 0.0001, 50.0);
    }

    [Fact]
    public async Task Concurrent_echoes_to_many_addresses_are_each_matched_to_their_own_reply()
    {
        using var engine = IcmpEngine.Open();
        var addresses = Enumerable.Range(1, 200).Select(i => IPAddress.Parse($"127.0.{i / 250}.{i % 250 + 1}")).ToArray();

        var replies = await Task.WhenAll(addresses.Select(a => engine.EchoAsync(a, TimeSpan.FromSeconds(3))));

        Assert.All(replies, r => Assert.NotNull(r));
    }

    [Fact]
    public async Task A_round_against_loopback_reports_every_echo_received()
    {
        using var engine = IcmpEngine.Open();
        var prober = new IcmpProber(engine);

        var outcome = await prober.ProbeAsync("localhost", new RoundSettings(4, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(1)), default);

        Assert.Null(outcome.Error);
        Assert.Equal("icmp", outcome.Kind);
        Assert.Equal(4, outcome.Stats.Sent);
        Assert.Equal(4, outcome.Stats.Received);
        Assert.Equal(0.0, outcome.Stats.LossPercent);
        Assert.NotNull(outcome.ResolveMs);
        Assert.True(outcome.Address is "127.0.0.1" or "::1", outcome.Address);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_a_failed_result_not_an_exception()
    {
        using var engine = IcmpEngine.Open();
        var prober = new IcmpProber(engine);

        var outcome = await prober.ProbeAsync("no-such-host.invalid", new RoundSettings(3, TimeSpan.Zero, TimeSpan.FromSeconds(1)), default);

        Assert.StartsWith("cannot resolve no-such-host.invalid", outcome.Error);
        Assert.Null(outcome.Address);
        Assert.Equal(100.0, outcome.Stats.LossPercent);
    }

    [Fact]
    public async Task An_unexpected_failure_in_the_send_loop_fails_that_echo_with_the_reason_and_the_engine_goes_on()
    {
        using var engine = IcmpEngine.Open(ProbeLimits.Unlimited);
        var broken = IPAddress.Parse("127.0.0.9");
        engine.BeforeSend = a => { if (a.Equals(broken)) throw new InvalidOperationException("injected"); };

        var failed = await engine.RoundAsync(broken, 2, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        var fine = await engine.RoundAsync(IPAddress.Loopback, 2, TimeSpan.Zero, TimeSpan.FromSeconds(2));

        Assert.All(failed.Rtts, r => Assert.Null(r));
        Assert.Equal("probe engine failed sending to 127.0.0.9: injected", failed.Error);
        Assert.All(fine.Rtts, r => Assert.NotNull(r));
        Assert.Equal((2L, "InvalidOperationException: injected"), engine.Faults);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task A_receive_thread_held_off_the_cpu_past_the_timeout_neither_loses_the_reply_nor_lengthens_its_rtt(string address)
    {
        using var engine = IcmpEngine.Open();
        await engine.EchoAsync(IPAddress.Parse(address), TimeSpan.FromSeconds(2)); // the channel and its thread exist
        var held = new ManualResetEventSlim(false); // never disposed: the held thread may still be waiting on it
        engine.BeforeReceive = () => held.Wait(TimeSpan.FromSeconds(30));

        // The reply is back within microseconds, but no receive thread runs until the round is over: only the
        // kernel's stamp can give its RTT, and only the send loop, reading what waits before it expires the
        // deadline, can count it.
        var started = System.Diagnostics.Stopwatch.StartNew();
        RoundReplies round;
        try
        {
            round = await engine.RoundAsync(IPAddress.Parse(address), 3, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(300))
                .WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            held.Set();
        }
        var took = started.Elapsed;

        Assert.True(took >= TimeSpan.FromMilliseconds(300), $"the round ended after {took.TotalMilliseconds} ms, before its deadline");
        Assert.All(round.Rtts, r => Assert.InRange(r ?? double.NaN, 0.0001, 50.0));
    }

    [Fact]
    public void Checksum_of_a_known_echo_request_is_rfc1071()
    {
        // type 8, code 0, checksum 0, id 0x1234, seq 0x0001: sum 0x0800+0x1234+0x0001 = 0x1A35, complement 0xE5CA.
        byte[] packet = [8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01];

        Assert.Equal(0xE5CA, IcmpEngine.Checksum(packet));
    }
}
