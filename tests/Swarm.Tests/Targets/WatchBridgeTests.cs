using System.Text;
using System.Text.Json;
using Akka.Actor;
using Swarm.Protocol;
using Swarm.Targets;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Targets;

public sealed class WatchBridgeTests : JournalTestKit
{
    private readonly RecordingPublisher _broker = new();
    private readonly IActorRef _list;
    private readonly IActorRef _bridge;

    public WatchBridgeTests() : base("sqlite")
    {
        _list = Sys.ActorOf(TargetList.Props("default", ["127.0.0.1"], CreateTestProbe().Ref));
        _bridge = Sys.ActorOf(WatchBridge.Props(_list, _broker, new WatchLimits()));
    }

    private void Watch(string payload, string topic = "watch") => _bridge.Tell(new WatchReceived(topic, Encoding.UTF8.GetBytes(payload)));

    private CurrentTargets Current()
    {
        _list.Tell(new GetTargets("default"));
        return ExpectMsg<CurrentTargets>();
    }

    [Fact]
    public void A_good_payload_replaces_the_list()
    {
        Watch("free.fr yahoo.fr yahoo.cn");

        AwaitAssert(() => Assert.Equal(["free.fr", "yahoo.fr", "yahoo.cn"], Current().Targets), TimeSpan.FromSeconds(3));
        Assert.Empty(_broker.Published);
    }

    [Fact]
    public void A_bad_payload_is_answered_on_watch_errors_and_the_list_stays_as_it_was()
    {
        Watch("127.0.0.2 ::1");
        AwaitAssert(() => Assert.Equal(1, Current().Version), TimeSpan.FromSeconds(3));

        Watch("free.fr not_a_host");

        AwaitAssert(() => Assert.Single(_broker.Published), TimeSpan.FromSeconds(3));
        var (topic, payload) = _broker.Published.Single();
        Assert.Equal("watch/errors", topic);
        var error = JsonDocument.Parse(payload).RootElement;
        Assert.Equal("default", error.GetProperty("list").GetString());
        Assert.Equal("1 entry refused: 'not_a_host': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host", error.GetProperty("error").GetString());
        var current = Current();
        Assert.Equal(1, current.Version);
        Assert.Equal(["127.0.0.2", "::1"], current.Targets);
    }

    [Fact]
    public async Task While_a_list_does_not_answer_a_replacement_supersedes_what_waits_and_the_wait_is_bounded()
    {
        var silent = CreateTestProbe(); // a list whose queen is away: it never answers
        var bridge = Sys.ActorOf(WatchBridge.Props(silent.Ref, _broker, new WatchLimits(), attemptTimeout: TimeSpan.FromMinutes(1)));
        void Send(string payload) => bridge.Tell(new WatchReceived("watch", Encoding.UTF8.GetBytes(payload)));

        Send("127.0.0.1");
        silent.ExpectMsg<ReplaceTargets>(); // in flight
        for (var i = 0; i < 1000; i++) Send($"{{\"add\": [\"127.0.{i / 250}.{i % 250 + 2}\"]}}");
        Send("127.0.0.200"); // supersedes every add still waiting
        for (var i = 0; i < WatchBridge.MaxWaiting + 5; i++) Send($"{{\"add\": [\"127.1.0.{i + 1}\"]}}");

        var queues = (await bridge.Ask<Dictionary<string, int>>(WatchBridge.GetQueues.Instance));
        Assert.Equal(WatchBridge.MaxWaiting + 1, queues["default"]); // the one in flight and MaxWaiting behind it, not 1,106
        var refusals = _broker.Published.Where(p => p.Topic == "watch/errors").Select(p => JsonDocument.Parse(p.Payload).RootElement.GetProperty("error").GetString()).ToList();
        // 1000 adds: 100 waited until the replacement came and the other 900 were refused; behind the waiting
        // replacement 99 more fit, and 6 of the last 105 were refused.
        Assert.Equal(900 + 6, refusals.Count);
        Assert.All(refusals, r => Assert.StartsWith($"{WatchBridge.MaxWaiting} changes to list default already wait", r));
    }

    [Fact]
    public void Its_own_errors_seen_through_watch_plus_are_ignored()
    {
        Watch("""{"error": "x"}""", "watch/errors");

        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Empty(_broker.Published);
        Assert.Equal(0, Current().Version);
    }

    [Fact]
    public void Json_add_extends_the_list_and_a_refused_change_is_answered_on_watch_errors()
    {
        Watch("""{"add": ["::1"]}""");
        AwaitAssert(() => Assert.Equal(["127.0.0.1", "::1"], Current().Targets), TimeSpan.FromSeconds(3));

        Watch("""{"remove": ["127.0.0.1", "::1"]}""");

        AwaitAssert(() => Assert.Single(_broker.Published), TimeSpan.FromSeconds(3));
        var error = JsonDocument.Parse(_broker.Published.Single().Payload).RootElement;
        Assert.StartsWith("that would leave the list empty", error.GetProperty("error").GetString());
        Assert.Equal(1, error.GetProperty("current_version").GetInt64());
        Assert.Equal(["127.0.0.1", "::1"], Current().Targets);
    }

    [Fact]
    public void Changes_to_a_list_that_swallows_messages_are_retried_and_land_in_order()
    {
        // Like a shard whose queen was just killed: the first messages vanish, later ones arrive.
        var swallowing = Sys.ActorOf(Props.Create(() => new Swallowing(_list, 2)));
        var bridge = Sys.ActorOf(WatchBridge.Props(swallowing, _broker, new WatchLimits(), attemptTimeout: TimeSpan.FromMilliseconds(200)));

        bridge.Tell(new WatchReceived("watch", Encoding.UTF8.GetBytes("first.example")));
        bridge.Tell(new WatchReceived("watch", Encoding.UTF8.GetBytes("second.example")));

        AwaitAssert(() => Assert.Equal(["second.example"], Current().Targets), TimeSpan.FromSeconds(5));
        Assert.Equal(2, Current().Version); // first, then second: the retried first never lands after the second
        Assert.Empty(_broker.Published);
    }

    [Fact]
    public void A_list_that_never_answers_is_reported_on_watch_errors()
    {
        var black = Sys.ActorOf(Props.Create(() => new Swallowing(_list, int.MaxValue)));
        var bridge = Sys.ActorOf(WatchBridge.Props(black, _broker, new WatchLimits(),
            attemptTimeout: TimeSpan.FromMilliseconds(100), giveUpAfter: TimeSpan.FromMilliseconds(500)));

        bridge.Tell(new WatchReceived("watch", Encoding.UTF8.GetBytes("lost.example")));

        AwaitAssert(() => Assert.Single(_broker.Published), TimeSpan.FromSeconds(5));
        var error = JsonDocument.Parse(_broker.Published.Single().Payload).RootElement.GetProperty("error").GetString();
        Assert.StartsWith("list default did not answer for 0.5 s (is a queen running?); the change was not made", error);
    }

    private sealed class Swallowing : ReceiveActor
    {
        private int _toDrop;

        public Swallowing(IActorRef target, int drop)
        {
            _toDrop = drop;
            ReceiveAny(m =>
            {
                if (_toDrop-- > 0) return;
                target.Forward(m);
            });
        }
    }
}
