using System.Text;
using System.Text.Json;
using Akka.Actor;
using FsCheck;
using FsCheck.Fluent;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Targets;
using Swarm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Swarm.Tests.Targets;

/// <summary>
/// <c>watch</c> is open to whoever may publish it: generated payloads (random bytes, huge, deeply nested JSON, control
/// and confusable Unicode, every special address class, 10,000 entries, credentials in URLs, valid and invalid mixed)
/// never crash the parser, each is accepted or refused with a reason, and what is accepted is always a valid list.
/// Fixed seed in CI; <c>SWARM_FUZZ_RUNS</c> and <c>SWARM_FUZZ_SEED</c> make a longer or another run (bench/fuzz.sh).
/// </summary>
public sealed class WatchFuzzTests(ITestOutputHelper output) : JournalTestKit("sqlite")
{
    private static readonly WatchLimits Limits = new(MaxPayloadBytes: 64 * 1024, MaxTargets: 1000);
    private static int Runs => int.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_RUNS"), out var n) ? n : 10_000;
    private static ulong Seed => ulong.TryParse(Environment.GetEnvironmentVariable("SWARM_FUZZ_SEED"), out var s) ? s : 20261201UL;

    [Fact]
    public void Every_generated_payload_is_accepted_as_a_valid_command_or_refused_with_a_reason()
    {
        var payloads = Gen.Sample(Payloads(), Runs, new Rnd(Seed), 40);
        var outcomes = new Dictionary<string, int>();

        foreach (var (topic, bytes, kind) in payloads)
        {
            var parsed = WatchPayload.Parse(topic, bytes, Limits); // must not throw, whatever the bytes
            if (parsed.Command is { } command)
            {
                Assert.Null(parsed.Error);
                Assert.True(WatchPayload.IsListName(command.ListId), $"{kind}: list '{command.ListId}'");
                Assert.InRange(command.Targets.Count, 1, Limits.MaxTargets);
                Assert.Equal(command.Targets.Count, command.Targets.Distinct().Count());
                foreach (var target in command.Targets)
                {
                    // Canonical, probe-able, never a class that can never pass, never with credentials.
                    Assert.Equal(target, ProbeTarget.Normalize(target));
                    Assert.Null(ProbeTarget.Problem(target, AddressPolicy.Default));
                    Assert.DoesNotContain(target, c => char.IsControl(c));
                }
                Count(outcomes, $"{kind}: accepted");
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(parsed.Error), $"{kind}: refused without a reason");
                Assert.DoesNotContain(parsed.Error!, c => char.IsControl(c)); // safe to log and to publish
                Count(outcomes, $"{kind}: refused");
            }
        }
        foreach (var (outcome, count) in outcomes.OrderBy(o => o.Key)) output.WriteLine($"{outcome}: {count}");
        Assert.Equal(Runs, outcomes.Values.Sum());
        Assert.Contains(outcomes.Keys, k => k.EndsWith("accepted")); // the generator reaches both sides
        Assert.Contains(outcomes.Keys, k => k.EndsWith("refused"));
    }

    [Fact]
    public async Task Through_the_bridge_every_refusal_is_answered_and_the_list_is_never_invalid()
    {
        var broker = new RecordingPublisher();
        var announced = CreateTestProbe();
        var list = Sys.ActorOf(TargetList.Props("default", ["127.0.0.1"], announced.Ref, maxTargets: Limits.MaxTargets));
        var bridge = Sys.ActorOf(WatchBridge.Props(list, broker, Limits));
        // One list actor stands in for the shard region here: only payloads for the default list (or refused ones).
        var payloads = Gen.Sample(Payloads().Where(p => p.Topic == "watch"
            && (WatchPayload.Parse(p.Topic, p.Bytes, Limits).Command?.ListId ?? "default") == "default"), 500, new Rnd(Seed + 1), 40);
        var accepted = payloads.Count(p => WatchPayload.Parse(p.Topic, p.Bytes, Limits).Command is not null);

        foreach (var (topic, bytes, _) in payloads) bridge.Tell(new WatchReceived(topic, bytes));
        var refused = payloads.Length - accepted;
        // Every refusal (by the parser, or by the list: an add past the limits) is one message on watch/errors; an
        // accepted replacement is applied, or superseded by a newer one while the list was busy.
        AwaitAssert(() =>
        {
            var current = list.Ask<CurrentTargets>(new GetTargets("default")).Result;
            Assert.Empty(bridge.Ask<Dictionary<string, int>>(WatchBridge.GetQueues.Instance).Result); // all answered
            Assert.True(broker.Published.Count(p => p.Topic == "watch/errors") >= refused);
            Assert.True(current.Version >= 0);
        }, TimeSpan.FromSeconds(60));

        var errors = broker.Published.Where(p => p.Topic == "watch/errors").Select(p => JsonDocument.Parse(p.Payload).RootElement).ToList();
        Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("error").GetString())));
        // Every version the list announced was valid, and so is the last.
        var versions = announced.ReceiveWhile(TimeSpan.FromMilliseconds(500),
            m => m is Akka.Cluster.Tools.PublishSubscribe.Publish p ? (CurrentTargets)p.Message : null);
        var final = (await list.Ask<CurrentTargets>(new GetTargets("default")));
        foreach (var current in versions.OfType<CurrentTargets>().Append(final))
        {
            Assert.InRange(current.Targets.Count, 1, Limits.MaxTargets);
            Assert.True(TargetList.SizeOf(current.Targets) <= TargetList.DefaultMaxBytes);
            Assert.All(current.Targets, t => Assert.Null(ProbeTarget.Problem(t, AddressPolicy.Default)));
        }
        output.WriteLine($"{payloads.Length} payloads: {accepted} parsed, {errors.Count} answers on watch/errors, {versions.Count} versions announced, final version {final.Version}");
    }

    private static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    private static readonly string[] Good =
    [
        "free.fr", "yahoo.fr", "127.0.0.1", "::1", "localhost", "10.0.0.1", "2001:db8::1", "tcp://free.fr:443", "tcp://[::1]:22",
        "https://free.fr/", "http://127.0.0.1:8080/health?x=1", "a-b.example.com", "xn--bcher-kva.example",
    ];

    private static readonly string[] Hostile =
    [
        "169.254.169.254", "http://169.254.169.254/latest/meta-data/", "0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "fe80::1",
        "ff02::1", "::ffff:169.254.169.254", "http://user:pass@free.fr/", "https://:secret@free.fr/", "ftp://free.fr/",
        "free.fr\u0000", "free\u202E.fr", "ｆｒｅｅ.ｆｒ", "frее.fr" /* Cyrillic e */, "-lead.com", "10.1", "999.1.1.1", "a..b",
        "javascript:alert(1)", "file:///etc/passwd", "tcp://free.fr", "tcp://free.fr:99999", "http://[::1", "\ud800", "%00", "#", "+",
        new string('a', 64) + ".com", "https://free.fr/" + new string('x', 3000), new string('b', 300),
    ];

    /// <summary>Topic, payload bytes, and what kind of payload it is (for the tally).</summary>
    private static Gen<(string Topic, byte[] Bytes, string Kind)> Payloads()
    {
        var entry = Gen.Frequency((3, Gen.Elements(Good)), (2, Gen.Elements(Hostile)),
            (1, Gen.ArrayOf(Gen.Choose(0, 0x2FFF).Select(c => (char)c)).Select(cs => new string(cs))));
        var mixed = Gen.Sized(size => Gen.Choose(0, Math.Max(1, size)).SelectMany(n => Gen.ListOf(entry, n)));
        var clean = Gen.Sized(size => Gen.Choose(1, Math.Max(1, size)).SelectMany(n => Gen.ListOf(Gen.Elements(Good), n)));
        var entries = Gen.Frequency((1, clean), (1, mixed)); // half of the lists could pass: both sides are exercised
        var plain = entries.Select(es => ("watch", Encoding.UTF8.GetBytes(string.Join(' ', es)), "space-separated"));
        var json = entries.SelectMany(es => Gen.Elements("targets", "add", "remove", "other").SelectMany(op =>
            Gen.Elements<string?>(null, "default", "web", "bad list!", "").Select(list =>
            {
                var body = new Dictionary<string, object?> { [op] = es };
                if (list is not null) body["list"] = list;
                return ("watch", JsonSerializer.SerializeToUtf8Bytes(body), "json");
            })));
        var wrongTypes = Gen.Elements("""{"targets": "free.fr"}""", """{"targets": [1, true, null]}""", """{"targets": {"a": 1}}""", "[]", "null",
                "\"free.fr\"", """{"targets": [], "add": []}""", """{"list": 42, "targets": ["free.fr"]}""", "{", """{"targets": ["free.fr"]""")
            .Select(s => ("watch", Encoding.UTF8.GetBytes(s), "wrong JSON"));
        var nested = Gen.Choose(10, 100_000).Select(d => ("watch", Encoding.UTF8.GetBytes(new string('[', d) + new string(']', d)), "deeply nested"));
        var bytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(b => ("watch", b, "random bytes"));
        var huge = Gen.Choose(64 * 1024 + 1, 200_000).Select(n => ("watch", Encoding.UTF8.GetBytes(string.Join(' ', Enumerable.Repeat("free.fr", n / 8 + 1))), "over the size limit"));
        // Short names, so that 10,000 of them stay under the size limit and meet the count limit instead.
        var many = Gen.Choose(1001, 10_000).Select(n => ("watch",
            Encoding.UTF8.GetBytes(string.Join(' ', Enumerable.Range(0, n).Select(i => $"h{i}"))), "thousands of entries"));
        var topics = Gen.Elements("watch/web", "watch/bad list", "watch/" + new string('l', 65), "watch/", "watch/a/b")
            .SelectMany(t => entries.Select(es => (t, Encoding.UTF8.GetBytes(string.Join(' ', es)), "named topic")));
        return Gen.Frequency((6, plain), (6, json), (2, wrongTypes), (1, nested), (2, bytes), (1, huge), (1, many), (2, topics));
    }
}
