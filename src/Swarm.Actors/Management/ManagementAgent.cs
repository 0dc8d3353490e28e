using Akka.Actor;
using Swarm.Outbox;
using Swarm.Protocol;

namespace Swarm.Management;

/// <summary>
/// The actor at <c>/user/management</c> on every bee node: it answers <see cref="GetBeeReport"/> from any node of
/// the cluster (or, on an edge bee, from its own endpoint) with what its bee follows and how its outbox and broker are doing.
/// </summary>
public sealed class ManagementAgent : ReceiveActor
{
    public const string Name = "management";

    public static Props Props(BeeReportSource bee) => Akka.Actor.Props.Create(() => new ManagementAgent(bee));

    public ManagementAgent(BeeReportSource source)
    {
        // A cluster member's address (akka.tcp://swarm@host:port); an edge bee has none to give.
        var node = source.Kind == BeeKinds.Edge ? "edge" : ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString();
        ReceiveAsync<GetBeeReport>(async _ =>
        {
            var asker = Sender;
            try
            {
                var timeout = TimeSpan.FromSeconds(2);
                var duty = await source.Bee.Ask<BeeDuty>(GetBeeDuty.Instance, timeout);
                var outbox = await source.Outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance, timeout);
                asker.Tell(new BeeReport(duty.BeeId, node, source.Location, source.Geo,
                    duty.Lists.Select(l => new BeeListView(l.ListId, l.Version, l.Targets.Count)
                        { Probe = l.Probe is null ? null : Swarm.Probing.ProbeSettingsCheck.Describe(l.Probe) }).ToList(),
                    duty.Targets.Count, outbox.LastResult, outbox.Backlog + outbox.InFlight, outbox.Dropped,
                    source.Broker()?.ToString())
                {
                    Kind = source.Kind,
                    Connection = source.Connection,
                    Refused = outbox.Refused,
                });
            }
            catch (Exception e)
            {
                asker.Tell(new BeeReport("", node, null, null, [], 0, null, 0, 0, null) { Error = $"the bee did not answer: {e.GetBaseException().Message}" });
            }
        });
    }
}

/// <summary>Where the management agent reads a bee's report from.</summary>
public sealed record BeeReportSource(IActorRef Bee, IActorRef Outbox, string? Location, string? Geo, Func<Swarm.Mqtt.BrokerEndpoint?> Broker)
{
    public string Kind { get; init; } = BeeKinds.Cluster;
    public string? Connection { get; init; }
}
