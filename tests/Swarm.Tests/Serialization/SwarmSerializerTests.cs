using Akka.Actor;
using Akka.Configuration;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Serialization;

public class SwarmSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    public SwarmSerializerTests() : base(TestConfig.Serialization) { }

    public static TheoryData<object> Messages() =>
    [
        new ReplaceTargets("default", ["free.fr", "::1"], "mqtt watch"),
        new GetTargets("web"),
        new AddTargets("web", ["a"], "cli"),
        new RemoveTargets("web", ["b"], "cli"),
        new TargetsRejected("web", 4, "too many"),
        new CurrentTargets("default", 3, ["a", "b"], true),
        new TargetsReplaced("default", 4, ["a"], "cli", new DateTime(2026, 11, 23, 8, 0, 0, DateTimeKind.Utc)),
        new TargetListSnapshot("default", 9, ["x"]),
        new TargetsAdopted("default", 2, ["y"]),
        new SequenceReserved(1200),
        new BeeSnapshot([new TargetsAdopted("default", 2, ["y"])], 300),
        GetBeeDuty.Instance,
        new BeeDuty("paris-1", [new TargetsAdopted("default", 1, ["z"])], ["z"]),
        new ProbeResult { Bee = "b", Seq = 7, Timestamp = DateTime.UnixEpoch, Target = "t", Kind = "icmp", Sent = 5, Received = 4, LossPercent = 20, MinMs = 0.1 },
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_swarm_message_round_trips_through_our_serializer(object message)
    {
        var serialization = Sys.Serialization;
        var serializer = serialization.FindSerializerFor(message);

        Assert.Equal(SwarmSerializer.Id, serializer.Identifier);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.Matches("^[a-z]+(-[a-z]+)*-v[0-9]+$", manifest);
        var back = serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
    }

    [Fact]
    public void Unknown_manifest_is_an_error_that_says_so()
    {
        var serializer = (SwarmSerializer)Sys.Serialization.FindSerializerFor(new GetTargets("x"));

        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "tl-replaced-v99"));
        Assert.Contains("tl-replaced-v99", e.Message);
    }
}
