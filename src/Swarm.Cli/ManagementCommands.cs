using System.CommandLine;
using System.Globalization;
using Swarm.Protocol;

namespace Swarm.Cli;

/// <summary>
/// Petabridge.Cmd's verbs (<c>cluster show</c>, <c>cluster sharding regions</c>, …) plus Swarm's own (<c>bees</c>,
/// <c>targets</c>), over a node's management endpoint. Tables for people by default, the node's JSON with <c>--json</c>.
/// </summary>
internal static class ManagementCommands
{
    public const string DefaultHost = "http://127.0.0.1:9110";

    public static readonly Option<string> Host = new("--host")
    {
        Description = $"The node's management endpoint (Swarm:Management:Url). Default: $SWARM_HOST or {DefaultHost}.",
        Recursive = true,
    };

    public static readonly Option<string> Token = new("--token")
    {
        Description = "Bearer token (Swarm:Management:Token). Default: $SWARM_TOKEN.",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Print the node's JSON answer instead of a table.", Recursive = true };

    public const string ExitCodes = "exit codes: 0 done, 1 refused by the node (the reason is printed), 2 node unreachable or failing, 3 bad arguments.";

    public static IEnumerable<Command> Create()
    {
        yield return Cluster();
        yield return Bees();
        yield return Targets();
        yield return Verdict();
        yield return Verb("actor", "The actor tree of the node.", Sub("hierarchy", "Actors under /user and /system, as a tree.", [Depth], async (c, r, ct) =>
        {
            var root = await c.GetAsync<ActorNode>($"api/actors?depth={r.GetValue(Depth)}", ct);
            return Print(c, r, () => Tree(root));
        }));
        yield return Verb("log", "The node's recent log.", Sub("peek", "The latest log lines of the node, oldest first.", [Lines], async (c, r, ct) =>
        {
            var log = await c.GetAsync<LogView>($"api/log?lines={r.GetValue(Lines)}", ct);
            return Print(c, r, () => string.Join('\n', log.Lines));
        }));
    }

    private static readonly Option<int> Depth = new("--depth") { Description = "How many levels to walk (1 to 20).", DefaultValueFactory = _ => 4 };
    private static readonly Option<int> Lines = new("--lines", "-n") { Description = "How many lines (1 to 1000).", DefaultValueFactory = _ => 50 };
    private static readonly Option<string> RegionName = new("--region", "-r") { Description = "The shard region type, e.g. target-list.", Required = true };
    private static readonly Option<string> ListName = new("--list", "-l") { Description = "The target list.", DefaultValueFactory = _ => "default" };

    private static Command Cluster()
    {
        var address = new Argument<string>("address") { Description = "A member's address, e.g. akka.tcp://swarm@10.0.0.5:4053." };
        return Verb("cluster", "Cluster membership and sharding.",
            Sub("show", "Members, their status, roles and reachability, and the leader.", [], async (c, r, ct) =>
            {
                var view = await c.GetAsync<ClusterView>("api/cluster", ct);
                return Print(c, r, () => Table(["ADDRESS", "STATUS", "ROLES", "REACHABLE"],
                        view.Members.Select(m => new[] { m.Address + (m.Address == view.Self ? " (this node)" : ""), m.Status, string.Join(",", m.Roles), m.Reachable ? "yes" : "NO" }))
                    + $"\nleader: {view.Leader ?? "none"}; {view.Members.Count} members");
            }),
            Sub("leave", "This node (the one --host names) leaves the cluster; its process then stops with exit code 0.", [], async (c, r, ct) =>
                Print(c, r, await c.SendAsync<CommandDone>(HttpMethod.Post, "api/cluster/leave", null, ct))),
            Sub("down", "Mark a member down (the leader then removes it).", [address], async (c, r, ct) =>
                Print(c, r, await c.SendAsync<CommandDone>(HttpMethod.Post, "api/cluster/down", new AddressRequest(r.GetValue(address)), ct))),
            Sub("join", "Make this node join the cluster at the given address.", [address], async (c, r, ct) =>
                Print(c, r, await c.SendAsync<CommandDone>(HttpMethod.Post, "api/cluster/join", new AddressRequest(r.GetValue(address)), ct))),
            Sub("down-unreachable", "Mark down every member this node sees unreachable.", [], async (c, r, ct) =>
                Print(c, r, await c.SendAsync<CommandDone>(HttpMethod.Post, "api/cluster/down-unreachable", null, ct))),
            Verb("sharding", "Shard regions.",
                Sub("regions", "The shard region types this node knows.", [], async (c, r, ct) =>
                {
                    var regions = await c.GetAsync<IReadOnlyList<string>>("api/sharding/regions", ct);
                    return Print(c, r, () => string.Join('\n', regions));
                }),
                Sub("region-stats", "Shards per node of a region type, with their entity counts.", [RegionName], async (c, r, ct) =>
                {
                    var stats = await c.GetAsync<RegionStats>($"api/sharding/regions/{Uri.EscapeDataString(r.GetValue(RegionName)!)}/stats", ct);
                    return Print(c, r, () => Table(["NODE", "SHARD", "ENTITIES"],
                        stats.Nodes.SelectMany(n => n.Shards.Count == 0 ? [[n.Address, "-", "0"]] : n.Shards.OrderBy(s => s.Key).Select(s => new[] { n.Address, s.Key, s.Value.ToString(CultureInfo.InvariantCulture) }))));
                }),
                Sub("fetch-entities", "The entities alive in a region type, per node and shard.", [RegionName], async (c, r, ct) =>
                {
                    var entities = await c.GetAsync<RegionEntities>($"api/sharding/regions/{Uri.EscapeDataString(r.GetValue(RegionName)!)}/entities", ct);
                    return Print(c, r, () => Table(["NODE", "SHARD", "ENTITIES"],
                        entities.Nodes.SelectMany(n => n.Error is not null ? [[n.Address, "-", n.Error]]
                            : n.Shards.Select(s => new[] { n.Address, s.Shard, string.Join(" ", s.Entities) }))));
                })));
    }

    private static Command Bees() =>
        Sub("bees", "Every bee of the swarm, cluster members, edge bees and the seed's agents alike: its kind and state, where it stands, "
                    + "its link, what it follows, its last result, outbox and broker.", [], async (c, r, ct) =>
        {
            var bees = await c.GetAsync<IReadOnlyList<BeeReport>>("api/bees", ct);
            return Print(c, r, () => Table(["BEE", "KIND", "STATUS", "LOCATION", "CONNECTION", "LISTS", "TARGETS", "LAST RESULT", "OUTBOX", "DROPPED", "BROKER", "NODE"],
                bees.Select(b => b.Error is not null
                    ? new[] { "?", b.Kind, "", "", "", "", "", "", "", "", b.Error, b.Node }
                    : [b.Bee, b.Kind, b.Status, b.Location ?? "-", b.Connection ?? "-", Lists(b),
                       b.Targets.ToString(CultureInfo.InvariantCulture),
                       b.LastResult is { } t ? $"{(DateTime.UtcNow - t.ToUniversalTime()).TotalSeconds:0}s ago" : "never",
                       b.OutboxBacklog.ToString(CultureInfo.InvariantCulture), b.OutboxDropped.ToString(CultureInfo.InvariantCulture),
                       b.Broker ?? (b.Kind == BeeKinds.Cluster ? "DISCONNECTED" : "-"), b.Node]))
                + $"\n{bees.Count(b => b.Error is null)} bees ({string.Join(", ", bees.GroupBy(b => b.Kind).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))})"
                + string.Concat(bees.Where(b => b.Refused is not null).Select(b =>
                    $"\n{b.Bee} refused list {b.Refused!.List} version {b.Refused.Version?.ToString(CultureInfo.InvariantCulture) ?? "?"}: {b.Refused.Reason}")));
        });

    private static Command Verdict()
    {
        var target = new Argument<string?>("target") { Description = "Only this target, with every bee's view of it.", Arity = ArgumentArity.ZeroOrOne };
        return Sub("verdict", "Is it just me? The swarm's verdict per target (ok, everyone, some-places, one-path) and per bee "
                              + "(one-bee: its own link), with the evidence. Degraded first.", [target], async (c, r, ct) =>
        {
            var only = r.GetValue(target);
            if (only is { Length: 0 }) throw new ManagementError(Exit.BadArguments, "an empty target: name one, or none for every verdict");
            var view = await c.GetAsync<VerdictsView>(only is null ? "api/verdicts" : $"api/verdicts?target={Uri.EscapeDataString(only)}", ct);
            if (only is not null && view.Targets.Count == 0)
                throw new ManagementError(Exit.Refused, $"no verdict on {only} yet: no bee probes it, or its first rounds are not judged yet");
            return Print(c, r, () => only is not null ? OneTarget(view.Targets[0]) : Verdicts(view));
        });
    }

    private static string Verdicts(VerdictsView view)
    {
        var lines = new List<string>
        {
            Table(["TARGET", "VERDICT", "DEGRADED", "SINCE", "WHAT"], view.Targets.Select(v => new[]
            {
                Clean(v.Target), Clean(v.Verdict), $"{v.Degraded}/{v.Judged}", v.Verdict == VerdictKinds.Ok ? "-" : When(v.Since), Clean(v.Text),
            })),
        };
        var bees = view.Bees.Where(b => b.Verdict != VerdictKinds.Ok).ToList();
        lines.Add($"\n{view.Targets.Count(v => v.Verdict != VerdictKinds.Ok)} of {view.Targets.Count} targets degraded; "
                  + $"{bees.Count} of {view.Bees.Count} bees with a degraded link of their own");
        lines.AddRange(bees.Select(b => Clean(b.Text)));
        return string.Join('\n', lines);
    }

    /// <summary>What a verdict says, as a terminal may show it: its words come from the broker, so no control characters.</summary>
    private static string Clean(string? text) => text is null ? "" : new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private static string When(DateTime at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string OneTarget(TargetVerdict v) =>
        $"{Clean(v.Text)}\n\n" + Table(["BEE", "STATE", "SINCE", "LOSS", "RTT", "BASELINE", "LOCATION", "CONNECTION", "NOTE"], v.Bees.Select(b => new[]
        {
            Clean(b.Bee), Clean(b.State), When(b.Since), $"{b.Loss.ToString("0.#", CultureInfo.InvariantCulture)}%",
            b.RttMs is { } rtt ? $"{rtt.ToString("0.###", CultureInfo.InvariantCulture)} ms" : "-",
            b.BaselineMs is { } bl ? $"{bl.ToString("0.###", CultureInfo.InvariantCulture)} ms" : "-",
            Clean(b.Location ?? "-"), Clean(b.Connection ?? "-"), b.OwnLink == true ? "its own link is degraded: not counted" : "",
        }));

    /// <summary>Each list at the version the bee adopted (<c>web@v3</c>); "-" for a seed agent, which follows none.</summary>
    private static string Lists(BeeReport b) =>
        b.Lists.Count == 0 ? "-" : string.Join(",", b.Lists.Select(l => $"{l.List}@v{l.Version}{(l.Probe is null ? "" : $" ({l.Probe})")}"));

    private static Command Targets()
    {
        var targets = new Argument<string[]>("targets")
        {
            Description = "Hosts or IP addresses (ICMP), tcp://host:port, http(s)://..., dns://server/name?type=A, trace://host " +
                          "(none with add --probe: a change of settings alone).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var probe = new Option<string>("--probe")
        {
            Description = "The list's own probe settings, as JSON: '{\"interval\": \"30s\", \"count\": 3, \"spacing\": \"200ms\", \"timeout\": \"2s\", " +
                          "\"http\": {\"status\": [\"200-299\"], \"body\": \"Welcome\", \"method\": \"HEAD\", \"follow_redirects\": true}}'; '{}' returns to the node's.",
        };
        Command Change(string name, string description, Func<string, (HttpMethod, string)> route) =>
            Sub(name, description, [ListName, targets, probe], async (c, r, ct) =>
            {
                var list = r.GetValue(ListName)!;
                var (method, path) = route(Uri.EscapeDataString(list));
                System.Text.Json.JsonElement? settings = null;
                if (r.GetValue(probe) is { } text)
                {
                    try { settings = System.Text.Json.JsonDocument.Parse(text).RootElement.Clone(); }
                    catch (System.Text.Json.JsonException e) { throw new ManagementError(Exit.BadArguments, $"--probe is not JSON: {e.Message}"); }
                }
                var given = r.GetValue(targets) ?? [];
                if (given.Length == 0 && (name != "add" || settings is null)) throw new ManagementError(Exit.BadArguments, $"targets {name} needs at least one target");
                var view = await c.SendAsync<TargetsView>(method, path, new TargetsChange(given) { Probe = settings }, ct);
                return Print(c, r, () => $"list {view.List} is now version {view.Version}: {string.Join(" ", view.Targets)}" +
                                          (view.Probe is null ? "" : $"\nprobe: {Swarm.Probing.ProbeSettingsCheck.Describe(view.Probe)}"));
            });
        return Verb("targets", "Show or change a target list (as mosquitto_pub -t watch does, with an answer).",
            Sub("show", "The list's version and targets.", [ListName], async (c, r, ct) =>
            {
                var view = await c.GetAsync<TargetsView>($"api/targets/{Uri.EscapeDataString(r.GetValue(ListName)!)}", ct);
                return Print(c, r, () => $"list {view.List}, version {view.Version}, {view.Targets.Count} targets, probed with " +
                                          $"{Swarm.Probing.ProbeSettingsCheck.Describe(view.Probe)}\n{string.Join('\n', view.Targets)}");
            }),
            Change("set", "Replace the whole list.", list => (HttpMethod.Put, $"api/targets/{list}")),
            Change("add", "Add targets to the list.", list => (HttpMethod.Post, $"api/targets/{list}/add")),
            Change("remove", "Remove targets from the list.", list => (HttpMethod.Post, $"api/targets/{list}/remove")));
    }

    private static Command Verb(string name, string description, params Command[] subcommands)
    {
        var command = new Command(name, description);
        foreach (var sub in subcommands) command.Subcommands.Add(sub);
        return command;
    }

    private static Command Sub(string name, string description, Symbol[] symbols, Func<ManagementClient, ParseResult, CancellationToken, Task<int>> run)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            if (symbol is Option option) command.Options.Add(option);
            else command.Arguments.Add((Argument)symbol);
        }
        command.SetAction(async (result, ct) =>
        {
            var hostText = result.GetValue(Host) ?? Environment.GetEnvironmentVariable("SWARM_HOST") ?? DefaultHost;
            if (!Uri.TryCreate(hostText.Contains("://") ? hostText : $"http://{hostText}", UriKind.Absolute, out var host) || host.Scheme is not ("http" or "https"))
            {
                Console.Error.WriteLine($"swarm: --host '{hostText}' is not an http(s) URL, e.g. {DefaultHost}");
                return Exit.BadArguments;
            }
            var token = result.GetValue(Token) ?? Environment.GetEnvironmentVariable("SWARM_TOKEN");
            using var client = new ManagementClient(host, string.IsNullOrEmpty(token) ? null : token);
            try
            {
                return await run(client, result, ct);
            }
            catch (ManagementError e)
            {
                Console.Error.WriteLine($"{CommandLine(result)}: {e.Message}");
                return e.ExitCode;
            }
        });
        return command;
    }

    /// <summary>"swarm cluster show", for error lines.</summary>
    private static string CommandLine(ParseResult result)
    {
        var names = new List<string>();
        for (var command = result.CommandResult; command is not null; command = command.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(command.Command.Name);
        names[^1] = "swarm";
        names.Reverse();
        return string.Join(' ', names);
    }

    private static int Print(ManagementClient client, ParseResult result, Func<string> human)
    {
        Console.Out.WriteLine(result.GetValue(Json) ? client.Raw : human());
        return Exit.Ok;
    }

    private static int Print(ManagementClient client, ParseResult result, CommandDone done) => Print(client, result, () => done.Message);

    private static string Table(string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(headers).ToList();
        var widths = headers.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        return string.Join('\n', all.Select(r => string.Join("  ", r.Select((cell, i) => i == r.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd()));
    }

    private static string Tree(ActorNode root)
    {
        var lines = new List<string>();
        void Walk(ActorNode node, string indent)
        {
            lines.Add(indent + node.Path);
            foreach (var child in node.Children) Walk(child, indent + "  ");
        }
        foreach (var child in root.Children) Walk(child, "");
        return string.Join('\n', lines);
    }
}
