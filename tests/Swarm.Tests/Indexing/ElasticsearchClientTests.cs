using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Swarm.Indexing;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Indexing;

public sealed class ElasticsearchClientTests : IAsyncLifetime
{
    private readonly FakeElasticsearch _es = new();

    private static ProbeResult Result(long seq, string target = "free.fr", string? error = null) => new()
    {
        Bee = "paris-1", Seq = seq, Timestamp = new DateTime(2026, 11, 23, 8, 0, 0, DateTimeKind.Utc), Target = target, Kind = "icmp",
        Location = "paris", Address = error is null ? "212.27.48.10" : null, ResolveMs = 1.5, Sent = 5, Received = error is null ? 5 : 0,
        LossPercent = error is null ? 0 : 100, MinMs = error is null ? 4.1 : null, AvgMs = error is null ? 4.25 : null,
        MaxMs = error is null ? 4.9 : null, Error = error,
    };

    private static (string Id, byte[] Json) Doc(ProbeResult r) =>
        (HeartbeatDocument.IdOf(r, JsonSerializer.SerializeToUtf8Bytes(r, SwarmJson.Wire.ProbeResult)), HeartbeatDocument.ToUtf8(r));

    [Fact]
    public async Task Bulk_items_are_told_apart_stored_already_stored_retry_and_rejected()
    {
        using var client = new ElasticsearchClient(new ElasticsearchSettings([_es.Url]));
        await client.BulkCreateAsync("swarm", [Doc(Result(1))], default);
        _es.FailItemOnce("paris-1-3", 429);
        _es.FailItemOnce("paris-1-4", 400);

        var results = await client.BulkCreateAsync("swarm", [Doc(Result(1)), Doc(Result(2)), Doc(Result(3)), Doc(Result(4))], default);

        Assert.Equal([BulkItemOutcome.AlreadyStored, BulkItemOutcome.Stored, BulkItemOutcome.Retry, BulkItemOutcome.Rejected], results.Select(r => r.Outcome));
        Assert.Equal([409, 201, 429, 400], results.Select(r => r.Status));
        Assert.StartsWith("document_parsing_exception: [1:2] failed to parse field", results[3].Error);
        Assert.Equal(["paris-1-1", "paris-1-2"], _es.Results.Keys.Order());
    }

    [Theory]
    [InlineData(503, "unavailable_shards_exception")]
    [InlineData(429, "es_rejected_execution_exception")]
    public async Task A_whole_request_refused_is_an_exception_with_the_status_and_the_reason(int status, string type)
    {
        using var client = new ElasticsearchClient(new ElasticsearchSettings([_es.Url]));
        _es.FailRequests = (status, 1);

        var e = await Assert.ThrowsAsync<ElasticsearchUnavailableException>(() => client.BulkCreateAsync("swarm", [Doc(Result(1))], default));

        Assert.Equal(status, e.Status);
        Assert.Contains(type, e.Message);
        Assert.Empty(_es.Documents);
    }

    [Theory]
    [InlineData("{\"took\":1,\"errors\":false}", "a _bulk answer without items")]
    [InlineData("{\"took\":1,\"errors\":false,\"items\":[]}", "_bulk answered 0 items for 1 documents")]
    [InlineData("{\"took\":1,\"errors\":true,\"items\":[{\"create\":{\"_id\":\"x\"}}]}", "an item without a status for document 1")]
    [InlineData("{\"took\":1,\"errors\":true,\"items\":[\"create\"]}", "an item without a status for document 1")]
    [InlineData("<html>a proxy's page</html>", "something that is not JSON")]
    public async Task A_bulk_answer_that_is_not_what_bulk_answers_is_a_failed_request(string answer, string expected)
    {
        // A proxy in front of the cluster, or a version that answers otherwise: nothing in it is trusted, all is sent again.
        await using var server = new TestHttpServer
        {
            Answer = _ => $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(answer)}\r\nConnection: close\r\n\r\n{answer}",
        };
        using var client = new ElasticsearchClient(new ElasticsearchSettings([new Uri($"http://127.0.0.1:{server.Port}/")]));
        var e = await Assert.ThrowsAsync<ElasticsearchUnavailableException>(() => client.BulkCreateAsync("swarm", [Doc(Result(1))], default));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task An_unreachable_node_is_skipped_for_the_next_one()
    {
        using var client = new ElasticsearchClient(new ElasticsearchSettings([new Uri($"http://127.0.0.1:{Ports.Free()}/"), _es.Url]));

        for (var i = 1; i <= 3; i++) await client.BulkCreateAsync("swarm", [Doc(Result(i))], default);

        Assert.Equal(3, _es.Documents.Count);
    }

    [Theory]
    [InlineData("key-123", null, null, "ApiKey key-123")]
    [InlineData(null, "elastic", "changeme", "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==")]
    public async Task Credentials_go_in_the_authorization_header(string? apiKey, string? user, string? password, string expected)
    {
        using var client = new ElasticsearchClient(new ElasticsearchSettings([_es.Url], apiKey, user, password));

        await client.EnsureDataStreamAsync("swarm", default);

        Assert.All(_es.Authorizations, a => Assert.Equal(expected, a));
    }

    [Fact]
    public async Task Setup_installs_the_ilm_policy_and_a_data_stream_template_mapping_every_field_we_write()
    {
        using var client = new ElasticsearchClient(new ElasticsearchSettings([_es.Url]));

        await client.EnsureDataStreamAsync("swarm", default);
        await client.EnsureDataStreamAsync("swarm", default); // idempotent

        Assert.Equal("1d", _es.Policies["swarm"]["policy"]!["phases"]!["hot"]!["actions"]!["rollover"]!["max_age"]!.GetValue<string>());
        var template = _es.Templates["swarm"];
        Assert.NotNull(template["data_stream"]);
        Assert.Equal("swarm", template["template"]!["settings"]!["index.lifecycle.name"]!.GetValue<string>());
        var mappings = template["template"]!["mappings"]!["properties"]!.AsObject();
        var http = new ProbeResult
        {
            Bee = "b", Seq = 9, Timestamp = DateTime.UtcNow, Target = "https://free.fr/", Kind = "http", Address = "::1", ResolveMs = 2,
            Sent = 1, Received = 1, AvgMs = 9, ConnectMs = 1, TlsMs = 2, TtfbMs = 3, TotalMs = 9, StatusCode = 503, Error = "HTTP 503", JitterMs = 0.1,
            MedianMs = 9, P95Ms = 9, StddevMs = 0, MinMs = 9, MaxMs = 9, Location = "paris", Geo = "48.8566,2.3522", DurationMs = 11,
            Certificate = new TlsCertificateInfo { Subject = "free.fr", Issuer = "R11", NotBefore = DateTime.UtcNow.AddDays(-1), NotAfter = DateTime.UtcNow.AddDays(60), Sha256 = new string('a', 64) },
        };
        var verdict = new TargetVerdict("free.fr", "everyone", "free.fr: lossy for everyone") { At = DateTime.UtcNow, Since = DateTime.UtcNow, Bees = [new PairView("b", "lossy")] };
        var alert = new Alert("free.fr", Alert.AboutTarget, Alert.Raised, "everyone", "free.fr: lossy for everyone") { Id = "target:free.fr:raised:1", At = DateTime.UtcNow };
        var said = new[]
        {
            VerdictDocument.Of("verdict/free.fr", JsonSerializer.SerializeToUtf8Bytes(verdict, SwarmJson.Wire.TargetVerdict)),
            VerdictDocument.Of("alert/free.fr", JsonSerializer.SerializeToUtf8Bytes(alert, SwarmJson.Wire.Alert)),
            VerdictDocument.Of("verdict/bee/b", JsonSerializer.SerializeToUtf8Bytes(new BeeVerdict("b", "one-bee", "bee b: its own link") { At = DateTime.UtcNow, Evidence = [new BeeTargetView("free.fr", "lossy")] }, SwarmJson.Wire.BeeVerdict)),
        }.Select(d => JsonNode.Parse(d.Document!.Value.Json)!.AsObject());
        foreach (var doc in new[] { Document(Result(1)), Document(Result(2, error: "cannot resolve x")), Document(http) }.Concat(said))
        {
            foreach (var (field, value) in Leaves(doc))
            {
                var type = TypeOf(mappings, field);
                Assert.True(type is not null, $"{field} is written but not mapped");
                Assert.True(Fits(value, type!), $"{field} = {value} does not fit its mapping type {type}");
            }
        }
    }

    [Fact]
    public void A_failed_probe_is_indexed_as_down_with_its_error()
    {
        var doc = Document(Result(7, error: "cannot resolve free.fr: Name or service not known"));

        Assert.Equal("down", doc["monitor"]!["status"]!.GetValue<string>());
        Assert.Equal(1, doc["summary"]!["down"]!.GetValue<int>());
        Assert.Equal("cannot resolve free.fr: Name or service not known", doc["error"]!["message"]!.GetValue<string>());
        Assert.Equal("paris", doc["observer"]!["geo"]!["name"]!.GetValue<string>());
        Assert.Matches("^paris-1-7-[0-9a-f]{16}$", HeartbeatDocument.IdOf(Result(7), "{}"u8));
    }

    [Fact]
    public void An_icmp_result_reads_as_heartbeat_writes_it()
    {
        var doc = Document(Result(1));

        Assert.Equal("2026-11-23T08:00:00.0000000Z", doc["@timestamp"]!.GetValue<string>());
        Assert.Equal(("up", "icmp", "free.fr"), (doc["monitor"]!["status"]!.GetValue<string>(), doc["monitor"]!["type"]!.GetValue<string>(), doc["monitor"]!["name"]!.GetValue<string>()));
        Assert.Equal(4250, doc["icmp"]!["rtt"]!["us"]!.GetValue<long>());
        Assert.Equal(5, doc["icmp"]!["requests"]!.GetValue<int>());
        Assert.Equal(1500, doc["resolve"]!["rtt"]!["us"]!.GetValue<long>());
        Assert.Equal("icmp://free.fr", doc["url"]!["full"]!.GetValue<string>()); // as written: no trailing slash
        Assert.Equal(0.0, doc["swarm"]!["loss"]!.GetValue<double>());
        Assert.Null(doc["error"]);
        Assert.Equal("icmp", doc["event"]!["dataset"]!.GetValue<string>()); // Heartbeat's: the monitor type
        Assert.Equal("paris-1-1", doc["monitor"]!["check_group"]!.GetValue<string>());
        Assert.Equal("2026-11-23T08:00:00.0000000Z", doc["monitor"]!["timespan"]!["gte"]!.GetValue<string>());
        Assert.Equal("2026-11-23T08:00:10.0000000Z", doc["monitor"]!["timespan"]!["lt"]!.GetValue<string>());
        Assert.Equal(4900, doc["monitor"]!["duration"]!["us"]!.GetValue<long>()); // no round duration given: the slowest echo
        Assert.Equal(7000, Document(Result(1) with { DurationMs = 7 })["monitor"]!["duration"]!["us"]!.GetValue<long>());
    }

    [Fact]
    public void A_name_that_does_not_resolve_is_an_io_error_with_heartbeats_dns_code_and_a_bad_status_a_validate_error()
    {
        var unresolved = Document(Result(3, error: "cannot resolve free.fr: Name or service not known"));
        Assert.Equal(("io", "DNS_LOOKUP_FAILED"), (unresolved["error"]!["type"]!.GetValue<string>(), unresolved["error"]!["code"]!.GetValue<string>()));
        var status = Document(new ProbeResult
        {
            Bee = "b", Seq = 1, Timestamp = DateTime.UtcNow, Target = "http://a.example", Kind = "http", Address = "::1", Sent = 1, Received = 1,
            StatusCode = 503, Error = "HTTP 503", TotalMs = 3,
        });
        Assert.Equal("validate", status["error"]!["type"]!.GetValue<string>());
        Assert.Null(status["error"]!["code"]);
        Assert.Equal("http://a.example", status["url"]!["full"]!.GetValue<string>());
    }

    [Fact]
    public void A_certificate_is_written_where_ecs_and_uptimes_certificates_page_read_it()
    {
        var doc = Document(new ProbeResult
        {
            Bee = "b", Seq = 1, Timestamp = DateTime.UtcNow, Target = "https://a.example/", Kind = "http", Address = "::1", Sent = 1, Received = 1,
            StatusCode = 200, TotalMs = 3, TlsMs = 1,
            Certificate = new TlsCertificateInfo
            {
                Subject = "a.example", Issuer = "Test CA", NotBefore = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc),
                NotAfter = new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc), Sha256 = new string('0', 64),
            },
        });
        var x509 = doc["tls"]!["server"]!["x509"]!;
        Assert.Equal("2027-01-01T00:00:00.0000000Z", x509["not_after"]!.GetValue<string>());
        Assert.Equal("2026-01-01T00:00:00.0000000Z", x509["not_before"]!.GetValue<string>());
        Assert.Equal("a.example", x509["subject"]!["common_name"]!.GetValue<string>());
        Assert.Equal("Test CA", x509["issuer"]!["common_name"]!.GetValue<string>());
        Assert.Equal(new string('0', 64), doc["tls"]!["server"]!["hash"]!["sha256"]!.GetValue<string>());
        Assert.Equal(1000, doc["tls"]!["rtt"]!["handshake"]!["us"]!.GetValue<long>());
    }

    /// <summary>The document exactly as the indexer sends it, read back to walk its fields.</summary>
    private static JsonObject Document(ProbeResult r) => JsonNode.Parse(HeartbeatDocument.ToJson(r))!.AsObject();

    private static IEnumerable<(string Field, JsonNode Value)> Leaves(JsonObject node, string prefix = "")
    {
        foreach (var (key, value) in node)
        {
            if (value is JsonObject child) foreach (var leaf in Leaves(child, $"{prefix}{key}.")) yield return leaf;
            else if (value is JsonArray array) foreach (var item in array) yield return ($"{prefix}{key}", item!);
            else yield return ($"{prefix}{key}", value!);
        }
    }

    private static string? TypeOf(JsonObject properties, string field)
    {
        var parts = field.Split('.');
        JsonObject? current = properties;
        for (var i = 0; i < parts.Length; i++)
        {
            if (current?[parts[i]] is not JsonObject mapping) return null;
            if (i == parts.Length - 1) return mapping["type"]?.GetValue<string>();
            // A range's bounds: {"gte": …, "lt": …} under a date_range.
            if (i == parts.Length - 2 && mapping["type"]?.GetValue<string>() == "date_range" && parts[^1] is "gte" or "gt" or "lt" or "lte") return "date";
            current = mapping["properties"] as JsonObject;
        }
        return null;
    }

    private static bool Fits(JsonNode value, string type) => type switch
    {
        "keyword" or "text" => value.GetValueKind() == System.Text.Json.JsonValueKind.String,
        "ip" => System.Net.IPAddress.TryParse(value.GetValue<string>(), out _),
        "date" => DateTime.TryParse(value.GetValue<string>(), out _),
        "long" => value.GetValueKind() == System.Text.Json.JsonValueKind.Number && value.ToJsonString().All(c => char.IsDigit(c) || c == '-'),
        "float" => value.GetValueKind() == System.Text.Json.JsonValueKind.Number,
        "geo_point" => value.GetValue<string>().Split(',') is [var lat, var lon] && double.TryParse(lat, System.Globalization.CultureInfo.InvariantCulture, out _) && double.TryParse(lon, System.Globalization.CultureInfo.InvariantCulture, out _),
        _ => false,
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _es.DisposeAsync();
}
