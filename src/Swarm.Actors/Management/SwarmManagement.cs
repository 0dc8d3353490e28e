using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Swarm.Edge;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Targets;

namespace Swarm.Management;

/// <summary>Why the node refuses a request, in the domain's words; the HTTP edge alone turns it into a status code.</summary>
public enum Refusal
{
    /// <summary>The input is wrong: fix it and ask again.</summary>
    Invalid,
    /// <summary>What was named does not exist here.</summary>
    NotFound,
    /// <summary>It exists, but refused the change in its present state.</summary>
    Conflict,
    /// <summary>The part asked answered something it should not have.</summary>
    Failed,
    /// <summary>Too much is asked of the node at once: try again later, or another node.</summary>
    Busy,
}

/// <summary>A request the node refuses, with the kind of refusal and words a person can act on.</summary>
public sealed class ManagementRefused(Refusal kind, string message) : Exception(message)
{
    public Refusal Kind { get; } = kind;
}

/// <summary>
/// What the management endpoint does, Petabridge.Cmd's verbs over this node's actor system: cluster membership,
/// sharding, bees, target lists, the actor tree and the recent log. The HTTP layer only maps routes to these.
/// </summary>
public sealed class SwarmManagement(ActorSystem system, Func<IActorRef?> targetLists, RecentLog log)
{
    /// <summary>Target lists refuse IP literals this policy never lets through, as <c>watch</c> does.</summary>
    public AddressPolicy Addresses { get; init; } = AddressPolicy.Default;

    /// <summary>The bees this node knows from the broker (edge bees, seed agents); none on an edge bee.</summary>
    public BeeDirectory? Directory { get; init; }

    /// <summary>An edge bee's actor system is local: no cluster, no sharding.</summary>
    public bool IsEdge => ((ExtendedActorSystem)system).Provider is LocalActorRefProvider;

    private const string NoCluster = "this node is an edge bee: it is not a cluster member; ask a queen's or a cluster bee's endpoint";

    // A budget for a loaded machine: the first ask of a list may start its shard and recover it from the journal.
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    private Cluster Cluster => IsEdge ? throw new ManagementRefused(Refusal.NotFound, NoCluster) : Cluster.Get(system);

    public ClusterView ClusterView()
    {
        var state = Cluster.State;
        var members = state.Members
            .Select(m => new MemberView(m.Address.ToString(), Status(m.Status), m.Roles.Order().ToList(), !state.Unreachable.Contains(m)))
            .OrderBy(m => m.Address, StringComparer.Ordinal)
            .ToList();
        return new ClusterView(Cluster.SelfAddress.ToString(), state.Leader?.ToString(), members);
    }

    public CommandDone Leave()
    {
        Cluster.Leave(Cluster.SelfAddress);
        return new CommandDone($"{Cluster.SelfAddress} is leaving the cluster; its process stops once it has left");
    }

    public CommandDone Down(string? address)
    {
        var member = Member(address);
        Cluster.Down(member.Address);
        return new CommandDone($"{member.Address} marked down; the leader removes it");
    }

    public CommandDone Join(string? address)
    {
        var target = ParseAddress(address);
        Cluster.Join(target);
        return new CommandDone($"{Cluster.SelfAddress} is joining {target}");
    }

    public CommandDone DownUnreachable()
    {
        var unreachable = Cluster.State.Unreachable.ToList();
        foreach (var member in unreachable) Cluster.Down(member.Address);
        return new CommandDone(unreachable.Count == 0
            ? "no member is unreachable; nothing downed"
            : $"downed {unreachable.Count} unreachable member(s): {string.Join(", ", unreachable.Select(m => m.Address))}");
    }

    /// <summary>The region types this node hosts or reaches through a proxy.</summary>
    public IReadOnlyList<string> Regions() => IsEdge
        ? []
        : ClusterSharding.Get(system).ShardTypeNames.Concat(KnownRegions.Where(r => TryRegion(r) is not null)).Distinct().Order().ToList();

    private static readonly string[] KnownRegions = [SwarmNames.TargetListShardType];

    public async Task<RegionStats> RegionStatsAsync(string region)
    {
        var stats = await Region(region).Ask<ClusterShardingStats>(new GetClusterShardingStats(AskTimeout), AskTimeout + TimeSpan.FromSeconds(1));
        return new RegionStats(region, stats.Regions
            .Select(r => new RegionNodeStats(r.Key.ToString(), r.Value.Stats.ToDictionary(s => s.Key, s => s.Value)))
            .OrderBy(n => n.Address, StringComparer.Ordinal)
            .ToList());
    }

    /// <summary>The entities of a region type on every node that hosts it (each node's region is asked directly).</summary>
    public async Task<RegionEntities> RegionEntitiesAsync(string region)
    {
        Region(region);
        var hosts = (await RegionStatsAsync(region)).Nodes.Select(n => n.Address).ToList();
        var nodes = await Task.WhenAll(hosts.Select(async host =>
        {
            try
            {
                var state = await system.ActorSelection($"{host}/system/sharding/{region}")
                    .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, AskTimeout);
                return new RegionNodeEntities(host, state.Shards
                    .Select(s => new ShardEntities(s.ShardId, s.EntityIds.Order().ToList()))
                    .OrderBy(s => s.Shard, StringComparer.Ordinal)
                    .ToList());
            }
            catch (Exception e)
            {
                return new RegionNodeEntities(host, []) { Error = $"did not answer: {e.GetBaseException().Message}" };
            }
        }));
        return new RegionEntities(region, nodes);
    }

    /// <summary>
    /// Every bee of the swarm: each Up member with the bee role is asked for its report; edge bees and seed agents are
    /// added from the bee directory (their retained status, the results the indexer stored). An edge bee tells of itself.
    /// </summary>
    public async Task<IReadOnlyList<BeeReport>> BeesAsync()
    {
        if (IsEdge) return [await system.ActorSelection($"/user/{ManagementAgent.Name}").Ask<BeeReport>(GetBeeReport.Instance, AskTimeout)];
        var nodes = Cluster.State.Members.Where(m => m.HasRole(SwarmNames.Roles.Bee) && m.Status == MemberStatus.Up).ToList();
        var reports = await Task.WhenAll(nodes.Select(async m =>
        {
            try
            {
                return await system.ActorSelection($"{m.Address}/user/{ManagementAgent.Name}").Ask<BeeReport>(GetBeeReport.Instance, AskTimeout);
            }
            catch (Exception e)
            {
                return new BeeReport("", m.Address.ToString(), null, null, [], 0, null, 0, 0, null) { Error = $"did not answer: {e.GetBaseException().Message}" };
            }
        }));
        var answered = reports.Select(r => r.Bee).ToHashSet(StringComparer.Ordinal);
        var others = Directory?.Reports(BeeKinds.Edge, BeeKinds.Legacy).Where(r => !answered.Contains(r.Bee)) ?? [];
        return reports.Concat(others).OrderBy(r => r.Bee, StringComparer.Ordinal).ToList();
    }

    public async Task<TargetsView> TargetsAsync(string list)
    {
        var current = await Lists(list).Ask<CurrentTargets>(new GetTargets(list), AskTimeout);
        return new TargetsView(current.ListId, current.Version, current.Targets) { Probe = current.Probe };
    }

    /// <summary>Replaces (<paramref name="verb"/> "set"), adds to or removes from a list, with the checks <c>watch</c> makes.</summary>
    public async Task<TargetsView> ChangeTargetsAsync(string list, string verb, TargetsChange? change)
    {
        var lists = Lists(list);
        ProbeSettings? probe = null;
        if (change?.Probe is { } probeElement)
        {
            var (settings, error) = ProbeSettingsCheck.Read(probeElement);
            probe = settings ?? throw new ManagementRefused(Refusal.Invalid, error!);
        }
        var given = change?.Targets ?? (probe is not null && verb == "add" ? [] : null); // add with settings alone: a change of settings
        if (given is null)
            throw new ManagementRefused(Refusal.Invalid, "the body must be JSON: {\"targets\": [\"host\", \"tcp://host:port\", \"https://...\"], \"probe\": {\"interval\": \"30s\"}}");
        if (ProbeTarget.Refusal(given, Addresses) is { } refusal) throw new ManagementRefused(Refusal.Invalid, refusal);
        var targets = given.Select(t => WatchPayload.NormalizeTarget(t)!).Distinct().ToList();
        if (verb == "set" && targets.Count == 0) throw new ManagementRefused(Refusal.Invalid, "an empty list would stop every bee; give at least one target");
        const string source = "management";
        ISwarmMessage command = verb switch
        {
            "set" => new ReplaceTargets(list, targets, source) { Probe = probe },
            "add" => new AddTargets(list, targets, source) { Probe = probe },
            "remove" => new RemoveTargets(list, targets, source) { Probe = probe },
            _ => throw new ManagementRefused(Refusal.NotFound, $"no such change '{verb}': use set, add or remove"),
        };
        var answer = await lists.Ask<object>(command, AskTimeout);
        return answer switch
        {
            CurrentTargets current => new TargetsView(current.ListId, current.Version, current.Targets) { Probe = current.Probe },
            TargetsRejected rejected => throw new ManagementRefused(Refusal.Conflict, $"list '{list}' refused the change and stays at version {rejected.Version}: {rejected.Reason}"),
            _ => throw new ManagementRefused(Refusal.Failed, $"list '{list}' answered {answer.GetType().Name}"),
        };
    }

    /// <summary>The actor tree under <c>/user</c> and <c>/system</c>, as far as <paramref name="depth"/> levels (at most 2000 actors).</summary>
    public ActorNode Hierarchy(int depth)
    {
        var extended = (ExtendedActorSystem)system;
        var budget = 2000;
        ActorNode Walk(IActorRef actor, int level)
        {
            budget--;
            var children = level >= depth || actor is not ActorRefWithCell cell
                ? []
                : cell.Children.OrderBy(c => c.Path.Name, StringComparer.Ordinal).TakeWhile(_ => budget > 0).Select(c => Walk(c, level + 1)).ToList();
            return new ActorNode(actor.Path.ToStringWithoutAddress(), children);
        }
        return new ActorNode("/", [Walk(extended.Guardian, 1), Walk(extended.SystemGuardian, 1)]);
    }

    public LogView Log(int lines) => new(log.Peek(lines));

    private IActorRef Region(string region) =>
        TryRegion(region) ?? throw new ManagementRefused(Refusal.NotFound,
            $"no shard region '{region}' on this node; regions here: {(Regions() is { Count: > 0 } all ? string.Join(", ", all) : "none (a Lighthouse hosts none; ask a swarm node)")}");

    /// <summary>The region, or the proxy to it on nodes that do not host it.</summary>
    private IActorRef? TryRegion(string region)
    {
        if (IsEdge) return null;
        var sharding = ClusterSharding.Get(system);
        if (sharding.ShardTypeNames.Contains(region)) return sharding.ShardRegion(region);
        try { return sharding.ShardRegionProxy(region); }
        catch (ArgumentException) { return null; } // "must be started first"
    }

    private IActorRef Lists(string list)
    {
        if (!WatchPayload.IsListName(list))
            throw new ManagementRefused(Refusal.Invalid, $"'{list}' is not a list name: letters, digits, '-' and '_', up to 64 characters");
        return targetLists() ?? throw new ManagementRefused(Refusal.NotFound, IsEdge
            ? "this node is an edge bee: it follows its lists from the broker and cannot change them; ask a queen's endpoint"
            : "this node does not reach the target lists (a Lighthouse); ask a swarm node");
    }

    private Member Member(string? address)
    {
        var parsed = ParseAddress(address);
        return Cluster.State.Members.FirstOrDefault(m => m.Address == parsed)
               ?? throw new ManagementRefused(Refusal.NotFound, $"{parsed} is not a member; members: {string.Join(", ", Cluster.State.Members.Select(m => m.Address))}");
    }

    private static Address ParseAddress(string? address)
    {
        if (string.IsNullOrWhiteSpace(address))
            throw new ManagementRefused(Refusal.Invalid, "the body must be JSON: {\"address\": \"akka.tcp://swarm@host:port\"}");
        if (!Address.TryParse(address.Trim(), out var parsed) || parsed.Port is null or 0 || parsed.System != SwarmNames.ActorSystem)
            throw new ManagementRefused(Refusal.Invalid, $"'{address}' is not a cluster address; write akka.tcp://{SwarmNames.ActorSystem}@host:port");
        return parsed;
    }

    private static string Status(MemberStatus status) => status.ToString().ToLowerInvariant();
}
