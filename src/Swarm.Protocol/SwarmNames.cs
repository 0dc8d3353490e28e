namespace Swarm;

/// <summary>Every name that two processes must agree on: actor system, roles, shard types, topics.</summary>
public static class SwarmNames
{
    public const string ActorSystem = "swarm";

    public static class Roles
    {
        public const string Bee = "bee";
        public const string Queen = "queen";
        public const string Indexer = "indexer";
        public const string Lighthouse = "lighthouse";

        /// <summary>A bee that only dials out to the broker: no remoting, no cluster; runs alone.</summary>
        public const string Edge = "edge";

        public static readonly IReadOnlyList<string> NodeRoles = [Bee, Queen, Indexer];
    }

    public const string TargetListShardType = "target-list";

    /// <summary>The verdict entities, one per target and one per bee, on queens.</summary>
    public const string VerdictShardType = "verdict";

    /// <summary>Queens share <c>ping/+</c> as <c>$share/swarm-verdicts/ping/+</c>: each result is judged once.</summary>
    public const string VerdictShareGroup = "swarm-verdicts";

    /// <summary>Indexers share <c>ping/+</c> as <c>$share/swarm-indexers/ping/+</c>, so several split the load.</summary>
    public const string IndexerShareGroup = "swarm-indexers";

    /// <summary>The list the seed-compatible <c>watch</c> topic replaces.</summary>
    public const string DefaultList = "default";

    /// <summary>
    /// The topic on which a target list announces each new version: a DistributedPubSub topic inside the cluster,
    /// and the same name on MQTT (retained) for edge bees.
    /// </summary>
    public static string TargetsTopic(string list) => $"targets/{list}";

    public static class Topics
    {
        public const string Watch = "watch";
        public const string WatchNamed = "watch/+";
        public const string WatchErrors = "watch/errors";
        public const string PingPrefix = "ping/";
        public const string PingAll = "ping/+";
        public const string RipPrefix = "rip/";

        /// <summary>Every bee's retained status, and the seed agents' last wills (<c>rip/agent/&lt;host&gt;</c>).</summary>
        public const string RipAll = "rip/#";

        /// <summary>Where queens publish each list version, retained, for edge bees.</summary>
        public const string TargetsPrefix = "targets/";

        /// <summary>Verdicts, retained: <c>verdict/&lt;target&gt;</c> and <c>verdict/bee/&lt;bee&gt;</c> (one level more, so never a target's).</summary>
        public const string VerdictPrefix = "verdict/";
        public const string BeeVerdictPrefix = "verdict/bee/";
        public const string VerdictAll = "verdict/#";

        /// <summary>Alerts, retained (the latest raise or clear): <c>alert/&lt;target&gt;</c> and <c>alert/bee/&lt;bee&gt;</c>.</summary>
        public const string AlertPrefix = "alert/";
        public const string BeeAlertPrefix = "alert/bee/";
        public const string AlertAll = "alert/#";
    }
}
