using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Swarm.Hosting;
using Swarm.Indexing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Indexing;

/// <summary>
/// The Kibana saved objects we ship (deploy/kibana/swarm.ndjson) must import as a whole and read only fields the
/// index template maps, with a type that fits what each panel does with them. No Kibana runs here, so these are the
/// checks Kibana's import and its panels would make.
/// </summary>
public class KibanaAssetsTests
{
    private static readonly List<JsonObject> Objects = File.ReadAllLines(Repo.File("deploy", "kibana", "swarm.ndjson"))
        .Where(line => line.Length > 0)
        .Select(line => JsonNode.Parse(line)!.AsObject())
        .ToList();

    private static readonly JsonObject Mappings = IndexTemplate.Mappings()["properties"]!.AsObject();

    [Fact]
    public void Every_object_is_whole_and_every_reference_resolves_inside_the_file()
    {
        Assert.Equal(Objects.Count, Objects.Select(o => (Str(o, "type"), Str(o, "id"))).Distinct().Count());
        foreach (var o in Objects)
        {
            Assert.False(string.IsNullOrEmpty(o["attributes"]?["title"]?.GetValue<string>()), $"{Str(o, "id")} has no title");
            foreach (var reference in o["references"]!.AsArray())
            {
                var (type, id) = (Str(reference!, "type"), Str(reference!, "id"));
                Assert.True(Objects.Any(x => Str(x, "type") == type && Str(x, "id") == id),
                    $"{Str(o, "id")} refers to {type} {id}, which the file does not hold");
            }
        }
        Assert.Equal(["dashboard", "index-pattern", "lens", "lens", "lens", "map", "search", "search"], Objects.Select(o => Str(o, "type")).Order());
    }

    [Fact]
    public void The_data_view_reads_the_data_stream_the_indexer_writes_by_time()
    {
        var view = Objects.Single(o => Str(o, "type") == "index-pattern")["attributes"]!;

        Assert.Equal(SwarmOptions.Load(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()).Elasticsearch.DataStream, Str(view, "title"));
        Assert.Equal("date", TypeOf(Str(view, "timeFieldName")));
    }

    [Fact]
    public void The_dashboard_shows_rtt_loss_failures_and_the_map_each_by_a_reference_it_carries()
    {
        var dashboard = Objects.Single(o => Str(o, "type") == "dashboard");
        var panels = JsonNode.Parse(Str(dashboard["attributes"]!, "panelsJSON"))!.AsArray();
        var references = dashboard["references"]!.AsArray();

        var shown = panels.Select(panel =>
        {
            var name = $"{Str(panel!, "panelIndex")}:{Str(panel!, "panelRefName")}";
            var reference = references.SingleOrDefault(r => Str(r!, "name") == name);
            Assert.True(reference is not null, $"panel {name} has no reference");
            Assert.Equal(Str(panel!, "type"), Str(reference!, "type"));
            return Str(reference!, "id");
        }).ToList();

        Assert.Equal(["swarm-alerts", "swarm-bee-map", "swarm-failures", "swarm-loss-heatmap", "swarm-rtt-by-connection", "swarm-rtt-over-time"], shown.Order());
        foreach (var panel in panels)
        {
            var grid = panel!["gridData"]!;
            Assert.InRange(grid["x"]!.GetValue<int>() + grid["w"]!.GetValue<int>(), 1, 48);   // Kibana's grid is 48 wide
        }
    }

    [Fact]
    public void Every_lens_column_reads_a_mapped_field_of_a_type_its_operation_takes()
    {
        foreach (var lens in Objects.Where(o => Str(o, "type") == "lens"))
        {
            var state = lens["attributes"]!["state"]!;
            var layers = state["datasourceStates"]!["formBased"]!["layers"]!.AsObject();
            Assert.NotEmpty(layers);
            foreach (var (layerId, layer) in layers)
            {
                Assert.Contains(lens["references"]!.AsArray(), r => Str(r!, "name") == $"indexpattern-datasource-layer-{layerId}");
                var columns = layer!["columns"]!.AsObject();
                Assert.Equal(columns.Select(c => c.Key).Order(), layer["columnOrder"]!.AsArray().Select(c => c!.GetValue<string>()).Order());
                foreach (var (_, column) in columns)
                {
                    var field = Str(column!, "sourceField");
                    var allowed = Str(column!, "operationType") switch
                    {
                        "date_histogram" => ["date"],
                        "average" or "max" or "min" or "median" or "sum" => ["long", "float"],
                        "terms" => new[] { "keyword" },
                        var other => throw new Xunit.Sdk.XunitException($"{Str(lens, "id")}: unchecked operation {other}"),
                    };
                    Assert.Contains(TypeOf(field), allowed);
                    foreach (var secondary in column!["params"]?["secondaryFields"]?.AsArray() ?? [])
                        Assert.Equal("keyword", TypeOf(secondary!.GetValue<string>()));
                }
            }
            // Every accessor the chart draws is a column of its layer.
            var visualization = state["visualization"]!.ToJsonString();
            foreach (Match m in Regex.Matches(visualization, "\"(?:xAccessor|yAccessor|valueAccessor|splitAccessor)\":\"([^\"]+)\""))
                Assert.Contains(layers, l => l.Value!["columns"]![m.Groups[1].Value] is not null);
        }
    }

    [Fact]
    public void The_failures_table_lists_down_rounds_with_mapped_columns()
    {
        var search = Objects.Single(o => Str(o, "id") == "swarm-failures")["attributes"]!;
        var source = JsonNode.Parse(Str(search["kibanaSavedObjectMeta"]!, "searchSourceJSON"))!;

        Assert.Equal("monitor.status : \"down\"", Str(source["query"]!, "query"));
        Assert.Equal("keyword", TypeOf("monitor.status"));
        Assert.Contains("error.message", search["columns"]!.AsArray().Select(c => c!.GetValue<string>()));
        foreach (var column in search["columns"]!.AsArray()) Assert.NotNull(TypeOf(column!.GetValue<string>()));
        Assert.Equal("date", TypeOf(search["sort"]![0]![0]!.GetValue<string>()));
    }

    [Fact]
    public void The_alerts_table_lists_what_the_swarm_raised_and_cleared_with_mapped_columns()
    {
        var search = Objects.Single(o => Str(o, "id") == "swarm-alerts")["attributes"]!;
        var source = JsonNode.Parse(Str(search["kibanaSavedObjectMeta"]!, "searchSourceJSON"))!;

        Assert.Equal("event.dataset : \"swarm.alert\"", Str(source["query"]!, "query"));
        Assert.Contains("swarm.alert.text", search["columns"]!.AsArray().Select(c => c!.GetValue<string>()));
        foreach (var column in search["columns"]!.AsArray()) Assert.NotNull(TypeOf(column!.GetValue<string>()));
    }

    [Fact]
    public void The_loss_heat_map_colours_by_its_own_thresholds_a_custom_palette_on_its_value_column()
    {
        var heatmap = Objects.Single(o => Str(o, "id") == "swarm-loss-heatmap")["attributes"]!["state"]!["visualization"]!;
        var palette = heatmap["palette"]!;
        // Lens ignores the stops of a palette not named "custom", and resets them without the accessor they belong to.
        Assert.Equal(("custom", "custom"), (Str(palette, "name"), Str(palette["params"]!, "name")));
        Assert.Equal(Str(heatmap, "valueAccessor"), Str(palette, "accessor"));
        Assert.Equal([1.0, 10, 100], palette["params"]!["stops"]!.AsArray().Select(s => s!["stop"]!.GetValue<double>()));
        Assert.Equal([0.0, 1, 10], palette["params"]!["colorStops"]!.AsArray().Select(s => s!["stop"]!.GetValue<double>()));
        Assert.Equal("number", Str(palette["params"]!, "rangeType"));
    }

    [Fact]
    public void The_map_places_each_bee_by_its_geo_point_and_colours_it_by_loss()
    {
        var map = Objects.Single(o => Str(o, "type") == "map");
        var layer = JsonNode.Parse(Str(map["attributes"]!, "layerListJSON"))!.AsArray()
            .Single(l => Str(l!["sourceDescriptor"]!, "type") == "ES_SEARCH")!;
        var source = layer["sourceDescriptor"]!;

        Assert.Equal("geo_point", TypeOf(Str(source, "geoField")));
        Assert.Equal("observer.geo.location", Str(source, "geoField"));
        Assert.Equal("keyword", TypeOf(Str(source, "topHitsSplitField")));
        Assert.Equal("date", TypeOf(Str(source, "sortField")));
        Assert.Contains(map["references"]!.AsArray(), r => Str(r!, "name") == Str(source, "indexPatternRefName"));
        foreach (var tooltip in source["tooltipProperties"]!.AsArray()) Assert.NotNull(TypeOf(tooltip!.GetValue<string>()));
        Assert.Equal("float", TypeOf(Str(layer["style"]!["properties"]!["fillColor"]!["options"]!["field"]!, "name")));
    }

    [Fact]
    public void The_readme_imports_the_file_with_one_command()
    {
        var readme = File.ReadAllText(Repo.File("README.md"));

        Assert.Matches(@"curl [^\n]*/api/saved_objects/_import\?overwrite=true[^\n]*kbn-xsrf[^\n]*file=@deploy/kibana/swarm\.ndjson", readme);
    }

    /// <summary>The mapping type of a dotted field in the template Swarm installs, or null when it is not mapped.</summary>
    private static string? TypeOf(string field)
    {
        JsonObject? properties = Mappings;
        var parts = field.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            if (properties?[parts[i]] is not JsonObject mapping) return null;
            if (i == parts.Length - 1) return mapping["type"]?.GetValue<string>();
            properties = mapping["properties"] as JsonObject;
        }
        return null;
    }

    private static string Str(JsonNode node, string name) => node[name]?.GetValue<string>() ?? "";
}
