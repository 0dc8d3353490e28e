using System.Text.Json;
using Akka.Actor;
using Swarm.Health;
using Swarm.Outbox;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Outbox;

public sealed class OutboxTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly TempDir _dir = new();
    private readonly RecordingPublisher _broker = new();

    private IActorRef Spawn(long maxBytes = 1 << 20) => Sys.ActorOf(Swarm.Outbox.Outbox.Props(
        new OutboxSettings(_dir.Path, maxBytes, FsyncPolicy.Interval), _broker, new BeeIdentity("bee-o", "lab", "1.0.0")));

    private static ProbeResult Result(string target) =>
        new() { Bee = "bee-o", Seq = 0, Timestamp = DateTime.UtcNow, Target = target, Kind = "icmp", Sent = 1, Received = 1 };

    private List<(string Topic, JsonElement Json)> Pings() =>
        _broker.Published.Where(p => p.Topic.StartsWith("ping/")).Select(p => (p.Topic, JsonDocument.Parse(p.Payload).RootElement)).ToList();

    [Fact]
    public void Results_are_numbered_from_one_and_published_in_order()
    {
        var outbox = Spawn();

        foreach (var t in new[] { "a.example", "b.example", "c.example" }) outbox.Tell(Result(t));

        AwaitAssert(() => Assert.Equal(3, Pings().Count), TimeSpan.FromSeconds(3));
        Assert.Equal([1L, 2, 3], Pings().Select(p => p.Json.GetProperty("seq").GetInt64()));
        Assert.Equal(["ping/a.example", "ping/b.example", "ping/c.example"], Pings().Select(p => p.Topic));
    }

    [Fact]
    public void While_the_broker_is_away_results_wait_and_then_go_out_in_order_with_the_status()
    {
        _broker.IsConnected = false;
        var outbox = Spawn();
        for (var i = 1; i <= 50; i++) outbox.Tell(Result($"t{i}.example"));
        AwaitAssert(() => Assert.Equal(50, outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance).Result.Backlog), TimeSpan.FromSeconds(3));
        Assert.Empty(Pings());

        _broker.IsConnected = true;

        AwaitAssert(() => Assert.Equal(50, Pings().Count), TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), Pings().Select(p => p.Json.GetProperty("seq").GetInt64()));
        AwaitAssert(() => Assert.Contains("rip/bee-o", _broker.Retained), TimeSpan.FromSeconds(3));
        var status = JsonDocument.Parse(_broker.Published.Last(p => p.Topic == "rip/bee-o").Payload).RootElement;
        Assert.Equal("online", status.GetProperty("status").GetString());
        Assert.Equal("lab", status.GetProperty("location").GetString());
    }

    [Fact]
    public void A_full_outbox_drops_the_oldest_and_publishes_the_drop_count()
    {
        _broker.IsConnected = false;
        var outbox = Spawn(maxBytes: 4096);
        for (var i = 1; i <= 100; i++) outbox.Tell(Result($"t{i}.example"));
        var status = AwaitAssertThen(() => outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance).Result, s => s.LastSeq == 100);
        Assert.True(status.Dropped > 0 && status.Backlog + status.Dropped == 100, $"{status}");

        _broker.IsConnected = true;

        AwaitAssert(() => Assert.Equal(status.Backlog, Pings().Count), TimeSpan.FromSeconds(5));
        Assert.Equal(100, Pings()[^1].Json.GetProperty("seq").GetInt64()); // the newest kept
        AwaitAssert(() => Assert.Contains(_broker.Published, p => p.Topic == "rip/bee-o" && p.Payload.Contains($"\"dropped\":{status.Dropped}")),
            TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_restarted_outbox_delivers_what_it_had_and_continues_the_sequence()
    {
        _broker.IsConnected = false;
        var first = Spawn();
        for (var i = 1; i <= 5; i++) first.Tell(Result($"t{i}.example"));
        AwaitAssert(() => Assert.Equal(5, first.Ask<OutboxStatus>(GetOutboxStatus.Instance).Result.Backlog), TimeSpan.FromSeconds(3));
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        _broker.IsConnected = true;
        var second = Spawn();
        second.Tell(Result("after.example"));

        AwaitAssert(() => Assert.Equal(6, Pings().Count), TimeSpan.FromSeconds(5));
        Assert.Equal([1L, 2, 3, 4, 5, 6], Pings().Select(p => p.Json.GetProperty("seq").GetInt64()));
        Assert.Equal("ping/after.example", Pings()[^1].Topic);
    }

    [Fact]
    public void A_result_the_broker_refuses_for_good_is_dropped_after_three_tries_and_never_holds_back_the_rest()
    {
        _broker.Refused["ping/forbidden.example"] = 0;
        var outbox = Spawn();

        outbox.Tell(Result("a.example"));
        outbox.Tell(Result("forbidden.example"));
        for (var i = 1; i <= 20; i++) outbox.Tell(Result($"t{i}.example"));

        AwaitAssert(() => Assert.Equal(21, Pings().Count), TimeSpan.FromSeconds(5));
        var status = AwaitAssertThen(() => outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance).Result, s => s.Backlog == 0);
        Assert.Equal(1, status.Dropped);
        Assert.Equal(Swarm.Outbox.Outbox.MaxRefusals, _broker.Refused["ping/forbidden.example"]);
        Assert.DoesNotContain(2L, Pings().Select(p => p.Json.GetProperty("seq").GetInt64()));
        AwaitAssert(() => Assert.Contains(_broker.Published, p => p.Topic == "rip/bee-o" && p.Payload.Contains("\"dropped\":1")),
            TimeSpan.FromSeconds(3));
    }

    [SkippableFact]
    public void A_full_disk_drops_rounds_softly_and_the_node_is_not_ready_until_the_disk_takes_writes_again()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to mount a small tmpfs");
        using var disk = SmallDisk.Mount(_dir.File("disk"), sizeKiB: 512);
        var health = new NodeHealth();
        _broker.IsConnected = false; // everything stays on disk
        // Flushed at every tick: a checkpoint on the full disk must be refused softly too, not crash the outbox.
        var settings = new OutboxSettings(disk.Path, 64L << 20, FsyncPolicy.Interval) { FsyncInterval = TimeSpan.FromMilliseconds(10) };
        var outbox = Sys.ActorOf(Swarm.Outbox.Outbox.Props(settings, _broker, new BeeIdentity("bee-o", "lab", "1.0.0"), health: health));
        Watch(outbox);

        for (var i = 1; i <= 4000; i++) outbox.Tell(Result($"t{i}.example"));
        var full = AwaitAssertThen(() => outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance).Result, s => s.LastSeq + s.Dropped == 4000);

        Assert.NotNull(full.DiskError);
        Assert.True(full.Dropped > 0 && full.Backlog > 0, $"{full}");
        Assert.Contains(health.Problems, p => p.StartsWith("outbox: the disk refuses results"));
        ExpectNoMsg(TimeSpan.FromMilliseconds(600)); // three ticks, each flushing onto the full disk: no Terminated
        Assert.Contains(health.Problems, p => p.StartsWith("outbox: the disk refuses results"));
        disk.FreeSpace(); // the operator clears the disk

        _broker.IsConnected = true;
        outbox.Tell(Result("after.example"));

        var recovered = AwaitAssertThen(() => outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance).Result, s => s.Backlog == 0);
        Assert.Null(recovered.DiskError);
        Assert.Empty(health.Problems);
        Assert.Equal(full.LastSeq + 1, recovered.LastSeq); // no number was spent on a lost round: no false gap
        Assert.Equal(recovered.LastSeq, Pings().Count);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // never stopped: no Terminated
    }

    [Fact]
    public void An_outbox_that_cannot_open_is_restarted_with_backoff_and_the_node_says_why_it_is_not_ready()
    {
        var health = new NodeHealth();
        var blocked = _dir.File("blocked");
        File.WriteAllText(blocked, "a file where the outbox folder should be");
        var props = Swarm.Outbox.Outbox.Props(new OutboxSettings(blocked, 1 << 20, FsyncPolicy.Interval), _broker,
            new BeeIdentity("bee-o", "lab", "1.0.0"), health: health);
        var outbox = Sys.ActorOf(Swarm.Hosting.SwarmHosting.Supervised(props, "outbox"));

        AwaitAssert(() => Assert.Contains(health.Problems, p => p.StartsWith($"outbox: cannot open {blocked}")), TimeSpan.FromSeconds(5));
        File.Delete(blocked);

        AwaitAssert(() => Assert.Empty(health.Problems), TimeSpan.FromSeconds(10));
        outbox.Tell(Result("a.example"));
        AwaitAssert(() => Assert.Single(Pings()), TimeSpan.FromSeconds(5));
    }

    private T AwaitAssertThen<T>(Func<T> get, Func<T, bool> ready)
    {
        T value = default!;
        AwaitAssert(() => Assert.True(ready(value = get())), TimeSpan.FromSeconds(5));
        return value;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _dir.Dispose();
    }
}
