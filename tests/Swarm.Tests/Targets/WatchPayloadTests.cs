using System.Text;
using Swarm.Targets;

namespace Swarm.Tests.Targets;

public class WatchPayloadTests
{
    private static readonly WatchLimits Limits = new(MaxPayloadBytes: 1024, MaxTargets: 5);

    private static WatchPayload.Parsed Parse(string payload, string topic = "watch") =>
        WatchPayload.Parse(topic, Encoding.UTF8.GetBytes(payload), Limits);

    [Fact]
    public void Seed_payload_replaces_the_default_list()
    {
        var parsed = Parse("free.fr yahoo.fr  yahoo.cn\n");

        Assert.Null(parsed.Error);
        Assert.Equal("default", parsed.Command!.ListId);
        Assert.Equal(["free.fr", "yahoo.fr", "yahoo.cn"], parsed.Command.Targets);
    }

    [Fact]
    public void Targets_are_normalized_and_deduplicated_in_order()
    {
        var parsed = Parse("Free.FR. 127.0.0.1 free.fr [::1] 0:0:0:0:0:0:0:1");

        Assert.Equal(["free.fr", "127.0.0.1", "::1"], parsed.Command!.Targets);
    }

    [Fact]
    public void Json_form_carries_the_lists_probe_settings_and_a_change_of_settings_alone()
    {
        var parsed = Parse("""{"list": "web", "targets": ["https://free.fr/"], "probe": {"interval": "30s", "count": 3, "http": {"status": ["200-299"]}}}""");
        Assert.Null(parsed.Error);
        Assert.Equal(("30s", 3, "200-299"), (parsed.Command!.Probe!.Interval, parsed.Command.Probe.Count, parsed.Command.Probe.Http!.Status![0]));

        var alone = Parse("""{"list": "web", "probe": {"timeout": "2s"}}""");
        Assert.Equal((WatchOperation.Add, 0, "2s"), (alone.Command!.Operation, alone.Command.Targets.Count, alone.Command.Probe!.Timeout));

        Assert.Null(Parse("free.fr").Command!.Probe); // the seed's form keeps the list's settings
        Assert.StartsWith("probe.count: a whole number from 1 to 100", Parse("""{"targets": ["free.fr"], "probe": {"count": 1000}}""").Error);
    }

    [Fact]
    public void Named_topic_names_the_list()
    {
        Assert.Equal("web", Parse("free.fr", "watch/web").Command!.ListId);
    }

    [Fact]
    public void Json_form_names_the_list()
    {
        var parsed = Parse("""{"list": "isp", "targets": ["free.fr", "::1"]}""");

        Assert.Equal("isp", parsed.Command!.ListId);
        Assert.Equal(["free.fr", "::1"], parsed.Command.Targets);
    }

    [Theory]
    [InlineData("{\"add\": [\"Free.fr\"]}", WatchOperation.Add, "free.fr")]
    [InlineData("{\"remove\": [\"::1\"], \"list\": \"web\"}", WatchOperation.Remove, "::1")]
    [InlineData("{\"targets\": [\"tcp://a.b:1\"]}", WatchOperation.Replace, "tcp://a.b:1")]
    public void Json_form_adds_removes_or_replaces(string payload, WatchOperation operation, string target)
    {
        var command = Parse(payload).Command!;

        Assert.Equal(operation, command.Operation);
        Assert.Equal([target], command.Targets);
    }

    [Theory]
    [InlineData("", "payload is empty")]
    [InlineData("   \n ", "payload is empty")]
    [InlineData("free.fr bad_host", "1 entry refused: 'bad_host': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host")]
    [InlineData("10.1 -lead.com 999.1.1.1", "3 entries refused: '10.1': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host; '-lead.com': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host; '999.1.1.1': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host")]
    [InlineData("a b c d e f", "6 targets, over the limit of 5 per list")]
    [InlineData("{\"targets\": [1]}", "\"targets\" holds a number; every target must be a string")]
    [InlineData("{\"targets\": []}", "no targets given")]
    [InlineData("{\"list\": \"a b\", \"targets\": [\"x\"]}", "\"list\" must be a string")]
    [InlineData("{nope", "payload starts with '{' but is not valid JSON")]
    [InlineData("{\"hosts\": [\"x\"]}", "JSON payload needs exactly one of \"targets\", \"add\" or \"remove\"")]
    [InlineData("{\"add\": [\"a\"], \"remove\": [\"b\"]}", "JSON payload needs exactly one of")]
    [InlineData("{\"add\": \"a\"}", "\"add\" must be an array of targets")]
    public void Bad_payloads_are_rejected_with_a_reason(string payload, string reason)
    {
        var parsed = Parse(payload);

        Assert.Null(parsed.Command);
        Assert.Contains(reason, parsed.Error);
    }

    [Fact]
    public void Payload_that_is_not_utf8_is_rejected()
    {
        var parsed = WatchPayload.Parse("watch", [0x66, 0x72, 0xFF, 0xFE], Limits);

        Assert.Null(parsed.Command);
        Assert.StartsWith("payload is not UTF-8 text (bad byte at offset 2)", parsed.Error);
    }

    [Fact]
    public void Oversized_payload_is_rejected_before_parsing()
    {
        var parsed = Parse(string.Join(' ', Enumerable.Repeat("free.fr", 200)));

        Assert.Equal("payload is 1599 bytes, over the limit of 1024", parsed.Error);
    }

    [Fact]
    public void Topic_with_a_bad_list_name_is_rejected()
    {
        Assert.Contains("does not name a list", Parse("free.fr", "watch/a.b").Error);
    }

    [Theory]
    [InlineData("localhost", "localhost")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("fe80::1%eth0", null)]
    [InlineData("a..b", null)]
    [InlineData("host name", null)]
    [InlineData("TCP://Free.FR:443", "tcp://free.fr:443")]
    [InlineData("tcp://[::1]:22", "tcp://[::1]:22")]
    [InlineData("tcp://free.fr", null)]
    [InlineData("tcp://free.fr:99999", null)]
    [InlineData("tcp://free.fr:80/path", null)]
    [InlineData("https://Free.fr/a?b=1", "https://free.fr/a?b=1")]
    [InlineData("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")]
    [InlineData("ftp://free.fr/", null)]
    [InlineData("https://bad_host/", null)]
    public void Normalize_accepts_hosts_tcp_ports_and_http_urls_only(string entry, string? expected)
    {
        Assert.Equal(expected, WatchPayload.NormalizeTarget(entry));
    }
}
