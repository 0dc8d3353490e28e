using System.Text.Json.Nodes;
using Swarm.Indexing;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Swarm.Tests.Indexing;

/// <summary>
/// Our documents against Heartbeat's own field definitions and ECS's, kept as data in
/// <c>deploy/kibana/heartbeat-fields</c> (with their source): the same names, types Kibana reads alike, the
/// <c>.text</c> sub-fields Uptime's search bar queries, and every field Uptime needs of a check.
/// </summary>
public sealed class HeartbeatFieldsTests
{
    private static readonly DateTime At = new(2026, 11, 23, 8, 0, 0, DateTimeKind.Utc);

    /// <summary>One document of each kind the indexer writes for results: icmp up and unresolved, tcp, https with a certificate.</summary>
    private static IEnumerable<JsonObject> Documents() => new ProbeResult[]
    {
        new() { Bee = "b", Seq = 1, Timestamp = At, Target = "free.fr", Kind = "icmp", Location = "paris", Geo = "48.85,2.35", Address = "212.27.48.10",
            ResolveMs = 1, Sent = 5, Received = 5, MinMs = 4, AvgMs = 4.2, MaxMs = 5, MedianMs = 4.1, P95Ms = 5, StddevMs = 0.3, JitterMs = 0.2, DurationMs = 820 },
        new() { Bee = "b", Seq = 2, Timestamp = At, Target = "nowhere.example", Kind = "icmp", Sent = 0, Received = 0, LossPercent = 100, Error = "cannot resolve nowhere.example: Name or service not known", ResolveMs = 3 },
        new() { Bee = "b", Seq = 3, Timestamp = At, Target = "tcp://a.example:443", Kind = "tcp", Address = "::1", Sent = 3, Received = 3, ConnectMs = 1, AvgMs = 1, MinMs = 1, MaxMs = 1 },
        new() { Bee = "b", Seq = 4, Timestamp = At, Target = "https://a.example/x", Kind = "http", Address = "::1", Sent = 1, Received = 1, ConnectMs = 1, TlsMs = 2,
            TtfbMs = 3, TotalMs = 4, StatusCode = 503, Error = "HTTP 503", DurationMs = 5,
            Certificate = new TlsCertificateInfo { Subject = "a.example", Issuer = "CA", NotBefore = At, NotAfter = At.AddDays(90), Sha256 = new string('f', 64) } },
        new() { Bee = "b", Seq = 5, Timestamp = At, Target = "dns://127.0.0.1/alias.swarm.test?type=A", Kind = "dns", Address = "127.0.0.1", Sent = 1, Received = 1,
            MinMs = 0.2, AvgMs = 0.2, MaxMs = 0.2, DurationMs = 0.3,
            Dns = new DnsInfo { Server = "127.0.0.1:53", Name = "alias.swarm.test", Type = "A", Rcode = "NOERROR", Transport = "udp", Answers =
            [
                new DnsAnswer { Name = "alias.swarm.test", Type = "CNAME", Ttl = 0, Data = "www.swarm.test." },
                new DnsAnswer { Name = "www.swarm.test", Type = "A", Ttl = 0, Data = "192.0.2.10" },
            ] } },
        new() { Bee = "b", Seq = 6, Timestamp = At, Target = "dns:///nope.swarm.test?type=TXT", Kind = "dns", Address = "127.0.0.53", Sent = 1, Received = 1,
            MinMs = 0.2, AvgMs = 0.2, MaxMs = 0.2, Error = "nope.swarm.test TXT: NXDOMAIN from 127.0.0.53:53",
            Dns = new DnsInfo { Server = "127.0.0.53:53", Name = "nope.swarm.test", Type = "TXT", Rcode = "NXDOMAIN", Transport = "udp", Answers = [] } },
        new() { Bee = "b", Seq = 7, Timestamp = At, Target = "trace://free.fr", Kind = "trace", Address = "212.27.48.10", Sent = 5, Received = 4, LossPercent = 20,
            MinMs = 4, AvgMs = 5, MaxMs = 6, DurationMs = 900,
            Path = new PathInfo { Protocol = "icmp", Reached = true, LossFrom = 2, Hops =
            [
                new HopInfo { Hop = 1, Address = "192.168.1.1", Sent = 5, Received = 5, AvgMs = 1, BestMs = 1, WorstMs = 1, LastMs = 1, StddevMs = 0 },
                new HopInfo { Hop = 2, Address = "212.27.48.10", Sent = 5, Received = 4, LossPercent = 20, AvgMs = 5, BestMs = 4, WorstMs = 6, LastMs = 5, StddevMs = 1 },
            ] } },
    }.Select(r => JsonNode.Parse(HeartbeatDocument.ToJson(r))!.AsObject());

    private static readonly string[] UptimeNeeds =
    [
        "@timestamp", "monitor.id", "monitor.name", "monitor.type", "monitor.status", "monitor.check_group", "monitor.timespan.gte", "monitor.timespan.lt",
        "monitor.duration.us", "summary.up", "summary.down", "url.full", "url.scheme", "url.domain", "observer.name", "event.dataset",
    ];

    [Fact]
    public void Every_field_heartbeat_or_ecs_defines_is_written_with_their_type_and_sub_fields()
    {
        var theirs = HeartbeatFields().Concat(EcsFields()).GroupBy(f => f.Name).ToDictionary(g => g.Key, g => g.First());
        var mappings = IndexTemplate.Mappings()["properties"]!.AsObject();
        var checkedFields = new HashSet<string>();
        foreach (var doc in Documents())
        {
            foreach (var field in Leaves(doc).Select(l => l.Field).Distinct())
            {
                var name = field.EndsWith(".gte") || field.EndsWith(".lt") ? field[..field.LastIndexOf('.')] : field;
                if (!theirs.TryGetValue(name, out var definition)) continue; // ours alone (swarm.*), or Heartbeat's deprecated aliases
                var (type, subFields) = Mapping(mappings, name);
                Assert.True(Alike(type, definition.Type), $"{name}: mapped {type}, Heartbeat/ECS say {definition.Type}");
                foreach (var sub in definition.SubFields) Assert.True(subFields.Contains(sub), $"{name}: no .{sub} sub-field, which Heartbeat/ECS map");
                checkedFields.Add(name);
            }
        }
        Assert.True(checkedFields.Count >= 25, $"only {checkedFields.Count} fields checked: {string.Join(", ", checkedFields)}");
        foreach (var needed in new[] { "monitor.check_group", "monitor.timespan", "tls.server.x509.not_after", "tls.server.hash.sha256", "error.code", "monitor.id", "url.full",
                     "dns.question.name", "dns.response_code", "dns.answers.data", "dns.answers.ttl", "dns.resolved_ip" })
            Assert.Contains(needed, checkedFields);
    }

    [Fact]
    public void Every_result_document_carries_what_uptime_reads_of_a_check()
    {
        foreach (var doc in Documents())
        {
            var fields = Leaves(doc).Select(l => l.Field).ToHashSet();
            foreach (var needed in UptimeNeeds) Assert.True(fields.Contains(needed), $"{doc["monitor"]!["id"]}: {needed} missing");
            Assert.Equal(doc["monitor"]!["type"]!.GetValue<string>(), doc["event"]!["dataset"]!.GetValue<string>());
            Assert.DoesNotMatch("^[a-z]+://[^/]+/$", doc["url"]!["full"]!.GetValue<string>()); // no slash added to a bare host
        }
    }

    private static (string? Type, HashSet<string> SubFields) Mapping(JsonObject properties, string field)
    {
        JsonObject? current = properties;
        var parts = field.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            if (current?[parts[i]] is not JsonObject mapping) return (null, []);
            if (i == parts.Length - 1)
                return (mapping["type"]?.GetValue<string>(), (mapping["fields"] as JsonObject)?.Select(f => f.Key).ToHashSet() ?? []);
            current = mapping["properties"] as JsonObject;
        }
        return (null, []);
    }

    /// <summary>Types Kibana queries alike: ECS's newer wildcard and match_only_text are our keyword and text; integer is a long.</summary>
    private static bool Alike(string? ours, string theirs) => ours == theirs || (ours, theirs) switch
    {
        ("long", "integer") or ("keyword", "wildcard") or ("text", "match_only_text") or ("keyword", "constant_keyword") => true,
        _ => false,
    };

    private sealed record Definition(string Name, string Type, IReadOnlyList<string> SubFields);

    /// <summary>Heartbeat's fields.common.yml, flattened: groups nest names, leaves carry a type.</summary>
    private static IEnumerable<Definition> HeartbeatFields()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Repo.File("deploy", "kibana", "heartbeat-fields", "fields.common.yml"))));
        var found = new List<Definition>();
        void Walk(YamlSequenceNode fields, string prefix)
        {
            foreach (var node in fields.Children.OfType<YamlMappingNode>())
            {
                string? Get(string key) => node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? (v as YamlScalarNode)?.Value : null;
                var name = prefix + Get("name");
                var type = Get("type") ?? "keyword"; // Beats' default
                if (type == "group" && node.Children.TryGetValue(new YamlScalarNode("fields"), out var children)) Walk((YamlSequenceNode)children, name + ".");
                else if (type is not ("group" or "alias"))
                {
                    var subs = node.Children.TryGetValue(new YamlScalarNode("multi_fields"), out var multi)
                        ? ((YamlSequenceNode)multi).Children.OfType<YamlMappingNode>().Select(m => ((YamlScalarNode)m.Children[new YamlScalarNode("name")]).Value!).ToList()
                        : [];
                    found.Add(new Definition(name, type, subs));
                }
            }
        }
        foreach (var top in ((YamlSequenceNode)yaml.Documents[0].RootNode).Children.OfType<YamlMappingNode>())
            if (top.Children.TryGetValue(new YamlScalarNode("fields"), out var fields)) Walk((YamlSequenceNode)fields, "");
        Assert.True(found.Count > 30, "Heartbeat's field definitions did not load");
        return found;
    }

    /// <summary>The ECS entries Swarm writes (<c>ecs-fields.yml</c>: flat names).</summary>
    private static IEnumerable<Definition> EcsFields()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Repo.File("deploy", "kibana", "heartbeat-fields", "ecs-fields.yml"))));
        foreach (var (key, value) in ((YamlMappingNode)yaml.Documents[0].RootNode).Children)
        {
            var entry = (YamlMappingNode)value;
            var subs = entry.Children.TryGetValue(new YamlScalarNode("multi_fields"), out var multi)
                ? ((YamlSequenceNode)multi).Children.OfType<YamlMappingNode>().Select(m => ((YamlScalarNode)m.Children[new YamlScalarNode("name")]).Value!).ToList()
                : [];
            yield return new Definition(((YamlScalarNode)key).Value!, ((YamlScalarNode)entry.Children[new YamlScalarNode("type")]).Value!, subs);
        }
    }

    private static IEnumerable<(string Field, JsonNode Value)> Leaves(JsonObject node, string prefix = "")
    {
        foreach (var (key, value) in node)
        {
            if (value is JsonObject child) foreach (var leaf in Leaves(child, $"{prefix}{key}.")) yield return leaf;
            else if (value is JsonArray { Count: > 0 } array && array.All(item => item is JsonObject))
                foreach (var item in array) foreach (var leaf in Leaves(item!.AsObject(), $"{prefix}{key}.")) yield return leaf; // dns.answers
            else yield return ($"{prefix}{key}", value!);
        }
    }
}
