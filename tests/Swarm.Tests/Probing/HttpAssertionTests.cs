using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Swarm.Indexing;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>A list's HTTP expectations against a local server: status, body, method, headers, redirects, and the certificate's date.</summary>
public sealed class HttpAssertionTests
{
    private static readonly ProbePacer Pacer = new(ProbeLimits.Unlimited);
    private static readonly AddressPolicy Loopback = new([IPNetwork.Parse("127.0.0.0/8")], []);

    private static Task<ProbeOutcome> Probe(string url, HttpExpectations? expect, AddressPolicy? policy = null, X509Certificate2Collection? roots = null) =>
        new HttpProber(Pacer, roots, policy ?? Loopback).ProbeAsync(url,
            new RoundSettings(1, TimeSpan.Zero, TimeSpan.FromSeconds(2)) { RequestTimeout = TimeSpan.FromSeconds(5), Http = expect }, default);

    private static string Response(int status, string body, string headers = "") =>
        $"HTTP/1.1 {status} X\r\n{headers}Content-Length: {System.Text.Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    [Fact]
    public async Task The_status_must_be_one_the_list_expects_or_the_round_is_down_with_the_reason()
    {
        await using var server = new TestHttpServer { Status = 404 };
        var url = $"http://127.0.0.1:{server.Port}/missing";

        var plain = await Probe(url, null);
        Assert.Equal(("HTTP 404", 1), (plain.Error, plain.Stats.Received)); // no expectation: a 4xx is an answer with an error, as before

        var expected = await Probe(url, new HttpExpectations { Status = ["200-299", "301"] });
        Assert.Equal(($"HTTP 404 from 127.0.0.1, expected 200-299, 301", 0, 100.0), (expected.Error, expected.Stats.Received, expected.Stats.LossPercent));
        Assert.Equal(404, expected.StatusCode);

        var allowed = await Probe(url, new HttpExpectations { Status = ["404"] });
        Assert.Null(allowed.Error); // a 404 the list expects is up
        Assert.Equal(1, allowed.Stats.Received);
    }

    [Fact]
    public async Task The_body_must_contain_the_text_or_match_the_expression_in_its_first_64_KiB_chunked_or_not()
    {
        await using var server = new TestHttpServer();
        var page = "<html><title>Welcome to swarm v2.7</title></html>";
        server.Answer = head => head.Contains("/chunked")
            ? $"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{page.Length - 20:x}\r\n{page[..^20]}\r\n14\r\n{page[^20..]}\r\n0\r\n\r\n"
            : head.Contains("/late") ? Response(200, new string('x', 70_000) + "Welcome") : Response(200, page);
        var at = $"http://127.0.0.1:{server.Port}";

        Assert.Null((await Probe($"{at}/", new HttpExpectations { Body = "Welcome to swarm" })).Error);
        Assert.Null((await Probe($"{at}/chunked", new HttpExpectations { Body = "swarm v2.7</title>" })).Error); // across a chunk boundary
        Assert.Null((await Probe($"{at}/", new HttpExpectations { BodyRegex = @"v\d+\.\d+" })).Error);
        Assert.Equal("the body does not contain \"Goodbye\" (its first 49 bytes read)", (await Probe($"{at}/", new HttpExpectations { Body = "Goodbye" })).Error);
        Assert.Equal(@"the body does not match /v3\.\d/ (its first 49 bytes read)", (await Probe($"{at}/", new HttpExpectations { BodyRegex = @"v3\.\d" })).Error);
        var late = await Probe($"{at}/late", new HttpExpectations { Body = "Welcome" });
        Assert.Equal($"the body does not contain \"Welcome\" (its first {HttpProber.CheckedBodyBytes} bytes read)", late.Error); // only the first 64 KiB count
    }

    [Fact]
    public async Task With_expectations_a_4xx_or_no_status_is_down_and_an_interim_1xx_is_not_the_answer()
    {
        await using var server = new TestHttpServer();
        server.Answer = head => head.Contains("/gone") ? Response(404, "gone")
            : head.Contains("/hints") ? "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + Response(200, "Welcome")
            : "garbage\r\n\r\n";
        var at = $"http://127.0.0.1:{server.Port}";

        var gone = await Probe($"{at}/gone", new HttpExpectations { Body = "Welcome" });
        Assert.Equal(("HTTP 404 from 127.0.0.1, expected a status below 400", 0), (gone.Error, gone.Stats.Received));
        var hints = await Probe($"{at}/hints", new HttpExpectations { Status = ["200"], Body = "Welcome" });
        Assert.Equal(((string?)null, 200), (hints.Error, hints.StatusCode));
        var garbage = await Probe($"{at}/x", new HttpExpectations { Body = "Welcome" });
        Assert.Equal(("the server closed the connection without an HTTP status line", 0), (garbage.Error, garbage.Stats.Received));
    }

    [Fact]
    public async Task A_regex_that_would_backtrack_forever_is_stopped_by_its_timeout()
    {
        await using var server = new TestHttpServer();
        server.Answer = _ => Response(200, new string('a', 5000) + "!");
        var clock = Stopwatch.StartNew();

        var outcome = await Probe($"http://127.0.0.1:{server.Port}/", new HttpExpectations { BodyRegex = "^(a+)+$" });

        Assert.StartsWith("the body regex /^(a+)+$/ gave up after 100 ms", outcome.Error);
        Assert.Equal(0, outcome.Stats.Received);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Head_and_headers_are_sent_as_the_list_says()
    {
        await using var server = new TestHttpServer();
        server.Answer = head => head.StartsWith("HEAD") ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" : null;

        var outcome = await Probe($"http://127.0.0.1:{server.Port}/x", new HttpExpectations
        {
            Method = "HEAD", Headers = new Dictionary<string, string> { ["Accept"] = "text/html", ["X-Swarm-Test"] = "1" },
        });

        Assert.Null(outcome.Error); // a HEAD answer has no body, whatever its Content-Length says
        var (line, _, _) = Assert.Single(server.Received);
        Assert.Equal("HEAD /x HTTP/1.1", line);
    }

    [Fact]
    public async Task Redirects_are_the_answer_unless_the_list_follows_them_and_then_the_chain_is_recorded()
    {
        await using var server = new TestHttpServer();
        server.Answer = head => head.Contains("GET /old ") ? Response(301, "", "Location: /middle\r\n")
            : head.Contains("GET /middle ") ? Response(302, "", $"Location: http://localhost:{server.Port}/new\r\n")
            : head.Contains("GET /loop ") ? Response(302, "", "Location: /loop\r\n")
            : head.Contains("GET /metadata ") ? Response(302, "", "Location: http://169.254.169.254/latest/meta-data/\r\n")
            : Response(200, "the new page");
        var at = $"http://127.0.0.1:{server.Port}";

        var unfollowed = await Probe($"{at}/old", null);
        Assert.Equal((301, (string?)null), (unfollowed.StatusCode, unfollowed.Error));

        var followed = await Probe($"{at}/old", new HttpExpectations { FollowRedirects = true, Body = "new page", Status = ["200"] });
        Assert.Null(followed.Error);
        Assert.Equal(200, followed.StatusCode);
        Assert.Equal([($"{at}/old", 301), ($"{at}/middle", 302)], followed.Redirects!.Select(r => (r.Url, r.Status)));

        var loop = await Probe($"{at}/loop", new HttpExpectations { FollowRedirects = true });
        Assert.Equal($"more than 10 redirects (the last to {at}/loop)", loop.Error);

        // A redirect is judged by the address policy like any target: no way into cloud metadata through a 302.
        var metadata = await Probe($"{at}/metadata", new HttpExpectations { FollowRedirects = true });
        Assert.Equal("not probed: 169.254.169.254 is link-local (cloud metadata lives there): never probed", metadata.Error);
    }

    [Fact]
    public async Task An_expiring_certificate_is_reported_with_its_date_in_the_result_and_the_document()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        var expires = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(3).AddHours(12), TimeSpan.Zero);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-80), expires);
        using var cert = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
        await using var server = new TestHttpServer(cert);
        using var publicPart = X509CertificateLoader.LoadCertificate(cert.Export(X509ContentType.Cert));

        var outcome = await Probe($"https://localhost:{server.Port}/", null, roots: [publicPart]);

        Assert.Null(outcome.Error);
        Assert.Equal(expires.UtcDateTime, outcome.Certificate!.NotAfter);
        var document = JsonNode.Parse(HeartbeatDocument.ToJson(outcome.ToResult("b", 1, DateTime.UtcNow, null)))!;
        Assert.Equal(expires.UtcDateTime, document["tls"]!["server"]!["x509"]!["not_after"]!.GetValue<DateTime>().ToUniversalTime());
        Assert.Equal("localhost", document["tls"]!["server"]!["x509"]!["issuer"]!["common_name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"interval": "30s", "count": 3, "spacing": "0.5s", "timeout": "2s"}""", "interval 30s, count 3, spacing 500ms, timeout 2s")]
    [InlineData("""{"http": {"method": "head", "status": [200, "300-399"], "follow_redirects": true}}""", "http HEAD, status 200,300-399, follows redirects")]
    [InlineData("""{"http": {"body": "ok", "headers": {"Accept": "text/html"}}}""", "body contains \"ok\", 1 header")]
    [InlineData("""{}""", "the node's settings")]
    [InlineData("""{"interval": "1.9999999s"}""", "interval 2s")]
    public void Probe_settings_are_read_normalised_and_described(string json, string described)
    {
        var (settings, error) = ProbeSettingsCheck.Read(JsonDocument.Parse(json).RootElement);
        Assert.Null(error);
        Assert.Equal(described, ProbeSettingsCheck.Describe(settings));
    }

    [Theory]
    [InlineData("""{"intervall": "30s"}""", "probe: unknown setting 'intervall'")]
    [InlineData("""{"interval": "10ms"}""", "probe.interval: a duration from 1s to 150s")]
    [InlineData("""{"interval": 30}""", "probe.interval: a duration")]
    [InlineData("""{"count": 0}""", "probe.count: a whole number from 1 to 100")]
    [InlineData("""{"count": 1.5}""", "probe.count")]
    [InlineData("""{"http": {"status": ["600"]}}""", "probe.http.status: '600' is not a code or range")]
    [InlineData("""{"http": {"status": ["299-200"]}}""", "probe.http.status: '299-200'")]
    [InlineData("""{"http": {"method": "POST"}}""", "probe.http.method: GET or HEAD")]
    [InlineData("""{"http": {"body_regex": "(unclosed"}}""", "probe.http.body_regex: not a regular expression")]
    [InlineData("""{"http": {"headers": {"Host": "evil.example"}}}""", "probe.http.headers: 'Host' is not a header Swarm sends")]
    [InlineData("""{"http": {"headers": {"X-A": "a\r\nInjected: 1"}}}""", "probe.http.headers: 'X-A'")]
    [InlineData("""[1]""", "\"probe\" must be an object")]
    [InlineData("""{"interval": "1e15s"}""", "probe.interval: a duration from 1s to 150s")]
    [InlineData("""{"interval": "10m"}""", "probe.interval: a duration from 1s to 150s")]
    [InlineData("""{"http": {"headers": {"Authorization": "Bearer x"}}}""", "probe.http.headers: 'Authorization' is refused: a secret")]
    [InlineData("""{"http": {"method": "HEAD", "body": "x"}}""", "probe.http: a HEAD request has no body to check")]
    public void Bad_probe_settings_are_refused_naming_the_key(string json, string error)
    {
        var (settings, problem) = ProbeSettingsCheck.Read(JsonDocument.Parse(json).RootElement);
        Assert.Null(settings);
        Assert.StartsWith(error, problem);
    }

    [Fact]
    public void A_lists_settings_win_over_the_nodes_where_given_and_the_rest_stay_the_nodes()
    {
        var node = new RoundSettings(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)) { RequestTimeout = TimeSpan.FromSeconds(5) };
        var (interval, round) = ProbeSettingsCheck.Effective(new ProbeSettings { Interval = "30s", Count = 2, Timeout = "3s" }, TimeSpan.FromSeconds(10), node);

        Assert.Equal(TimeSpan.FromSeconds(30), interval);
        Assert.Equal((2, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)), (round.Count, round.Spacing, round.Timeout, round.RequestTimeout));
        Assert.Equal((TimeSpan.FromSeconds(10), node), ProbeSettingsCheck.Effective(null, TimeSpan.FromSeconds(10), node));
    }
}
