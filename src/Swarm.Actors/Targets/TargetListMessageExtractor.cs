using Akka.Cluster.Sharding;
using Swarm.Protocol;

namespace Swarm.Targets;

/// <summary>Routes <see cref="IWithTargetListId"/> messages to the entity named by the list id.</summary>
public sealed class TargetListMessageExtractor(int shardCount = 30) : HashCodeMessageExtractor(shardCount)
{
    public override string? EntityId(object message) => message switch
    {
        IWithTargetListId m => m.ListId,
        ShardRegion.StartEntity start => start.EntityId,
        _ => null,
    };
}
