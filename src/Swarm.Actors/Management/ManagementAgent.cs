using Akka.Actor;
using Akka.Cluster;
using Swarm.Outbox;
using Swarm.Protocol;

namespace Swarm.Management;

/// <summary>
/// The actor at <c>/user/management</c> on every bee node: it answers <see cref="GetBeeReport"/> from any node of
/// the cluster with what its bee follows and how its outbox and broker are doing.
/// </summary>
public sealed class ManagementAgent : ReceiveActor
{
    public const string Name = "management";

    public static Props Props(BeeReportSource bee) => Akka.Actor.Props.Create(() => new ManagementAgent(bee));

    public ManagementAgent(BeeReportSource source)
    {
        var node = Cluster.Get(Context.System).SelfAddress.ToString();
        ReceiveAsync<GetBeeReport>(async _ =>
        {
            var asker = Sender;
            try
            {
                var timeout = TimeSpan.FromSeconds(2);
                var duty = await source.Bee.Ask<BeeDuty>(GetBeeDuty.Instance, timeout);
                var outbox = await source.Outbox.Ask<OutboxStatus>(GetOutboxStatus.Instance, timeout);
                asker.Tell(new BeeReport(duty.BeeId, node, source.Location, source.Geo,
                    duty.Lists.Select(l => new BeeListView(l.ListId, l.Version, l.Targets.Count)).ToList(),
                    duty.Targets.Count, outbox.LastResult, outbox.Backlog + outbox.InFlight, outbox.Dropped,
                    source.Broker()?.ToString()));
            }
            catch (Exception e)
            {
                asker.Tell(new BeeReport("", node, null, null, [], 0, null, 0, 0, null) { Error = $"the bee did not answer: {e.GetBaseException().Message}" });
            }
        });
    }
}

/// <summary>Where the management agent reads a bee's report from.</summary>
public sealed record BeeReportSource(IActorRef Bee, IActorRef Outbox, string? Location, string? Geo, Func<Swarm.Mqtt.BrokerEndpoint?> Broker);
