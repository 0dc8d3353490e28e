using Akka.Cluster.Sharding;
using Swarm.Protocol;

namespace Swarm.Targets;

/// <summary>
/// Routes <see cref="IWithTargetListId"/> messages to the entity named by the list id. Sharding's own messages
/// (<c>StartEntity</c>, <c>ShardingEnvelope</c>) are handled by Akka.NET before this is asked (AK2001).
/// </summary>
public sealed class TargetListMessageExtractor(int shardCount = 30) : HashCodeMessageExtractor(shardCount)
{
    public override string? EntityId(object message) => message switch
    {
        IWithTargetListId m => m.ListId,
        _ => null,
    };
}
