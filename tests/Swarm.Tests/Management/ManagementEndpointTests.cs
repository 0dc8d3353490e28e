using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>
/// A node whose management endpoint listens on every interface (0.0.0.0) must want its token, and every request it
/// refuses says why. Requests go to 127.0.0.1: the binding is what counts, and no traffic leaves the machine.
/// </summary>
public sealed class ManagementEndpointTests : IAsyncLifetime
{
    private const string Token = "s3cret-token";
    private const string MetricsToken = "scrape-token";
    private readonly TempDir _data = new();
    private readonly int _port = Ports.Free();
    private readonly HttpClient _http = new();
    private NodeProcess _node = null!;

    private string Url(string path) => $"http://127.0.0.1:{_port}{path}";

    public async Task InitializeAsync()
    {
        _node = NodeProcess.Start(new Dictionary<string, string>
        {
            ["Swarm__DataDir"] = _data.Path,
            ["Swarm__Mqtt__EmbeddedPort"] = Ports.Free().ToString(),
            ["Swarm__Management__Url"] = $"http://0.0.0.0:{_port}",
            ["Swarm__Management__Token"] = Token,
            ["Swarm__Management__MetricsToken"] = MetricsToken,
            ["Swarm__Targets__Default"] = "127.0.0.1",
        });
        await Eventually.True(Ready, TimeSpan.FromSeconds(60), $"node ready:\n{_node.Output}");
    }

    private async Task<bool> Ready()
    {
        try { return (await _http.GetAsync(Url("/health/ready"))).StatusCode == HttpStatusCode.OK; }
        catch (HttpRequestException) { return false; }
    }

    private async Task<(HttpStatusCode Status, string Error)> Send(HttpMethod method, string path, string? token = Token, string? body = null,
        string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, Url(path));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, contentType);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var error = response.IsSuccessStatusCode ? text : JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        return (response.StatusCode, error);
    }

    [Fact]
    public async Task Bound_off_loopback_the_api_wants_the_token_but_health_does_not()
    {
        Assert.Equal((HttpStatusCode.Unauthorized, "this endpoint wants a bearer token: pass --token (or SWARM_TOKEN) to swarm, or 'Authorization: Bearer <token>'"),
            await Send(HttpMethod.Get, "/api/cluster", token: null));
        Assert.Equal((HttpStatusCode.Unauthorized, "the bearer token does not match Swarm:Management:Token"),
            await Send(HttpMethod.Get, "/api/cluster", token: "guess"));
        var (status, body) = await Send(HttpMethod.Get, "/api/cluster");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("up", JsonDocument.Parse(body).RootElement.GetProperty("members")[0].GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(Url("/health/live"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(Url("/health/ready"))).StatusCode);

        var (cliCode, cliOutput) = await SwarmCommand.RunAsync("cluster", "show", "--host", Url(""));
        Assert.Equal(1, cliCode);
        Assert.Contains("wants a bearer token", cliOutput);
        var (okCode, okOutput) = await SwarmCommand.RunAsync("cluster", "show", "--host", Url(""), "--token", Token);
        Assert.True(okCode == 0, okOutput);
    }

    [Fact]
    public async Task Malformed_requests_get_a_4xx_that_says_what_is_wrong()
    {
        Assert.Equal((HttpStatusCode.BadRequest, "the body must be JSON: {\"targets\": [\"host\", \"tcp://host:port\", \"https://...\"], \"probe\": {\"interval\": \"30s\"}}"),
            await Send(HttpMethod.Put, "/api/targets/default", body: "{}"));
        var (status, error) = await Send(HttpMethod.Put, "/api/targets/default", body: "{\"targets\": [");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("the body is not the JSON expected:", error);
        Assert.Equal((HttpStatusCode.BadRequest, "1 entry refused: 'bad host!': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host"),
            await Send(HttpMethod.Put, "/api/targets/default", body: "{\"targets\": [\"127.0.0.2\", \"bad host!\"]}"));
        Assert.Equal((HttpStatusCode.BadRequest, "'bad.name' is not a list name: letters, digits, '-' and '_', up to 64 characters"),
            await Send(HttpMethod.Get, "/api/targets/bad.name"));
        Assert.Equal((HttpStatusCode.BadRequest, "'akka.tcp://other@h:1' is not a cluster address; write akka.tcp://swarm@host:port"),
            await Send(HttpMethod.Post, "/api/cluster/down", body: "{\"address\": \"akka.tcp://other@h:1\"}"));
        var (notMember, notMemberError) = await Send(HttpMethod.Post, "/api/cluster/down", body: "{\"address\": \"akka.tcp://swarm@127.0.0.9:1\"}");
        Assert.Equal(HttpStatusCode.NotFound, notMember);
        Assert.StartsWith("akka.tcp://swarm@127.0.0.9:1 is not a member; members: ", notMemberError);
        Assert.Equal((HttpStatusCode.BadRequest, "?lines=0: must be a whole number from 1 to 1000"), await Send(HttpMethod.Get, "/api/log?lines=0"));
        Assert.Equal((HttpStatusCode.NotFound, "no such endpoint: GET /api/nothing; 'swarm --help' lists what there is"), await Send(HttpMethod.Get, "/api/nothing"));

        // Nothing refused changed the list.
        var (_, list) = await Send(HttpMethod.Get, "/api/targets/default");
        Assert.Equal(["127.0.0.1"], JsonDocument.Parse(list).RootElement.GetProperty("targets").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task A_change_must_be_declared_json_so_a_cross_site_form_or_beacon_cannot_make_it()
    {
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "POST wants 'Content-Type: application/json' (got 'text/plain; charset=utf-8'), even with an empty body"),
            await Send(HttpMethod.Post, "/api/cluster/leave", body: "", contentType: "text/plain"));
        Assert.Equal((HttpStatusCode.UnsupportedMediaType, "POST wants 'Content-Type: application/json' (got ''), even with an empty body"),
            await Send(HttpMethod.Post, "/api/cluster/leave"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType,
            (await Send(HttpMethod.Put, "/api/targets/default", body: "targets=10.0.0.1", contentType: "application/x-www-form-urlencoded")).Status);

        var (_, cluster) = await Send(HttpMethod.Get, "/api/cluster"); // still a member: nothing left
        Assert.Equal("up", JsonDocument.Parse(cluster).RootElement.GetProperty("members")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Wrong_methods_unknown_routes_and_oversized_bodies_are_refused_in_json()
    {
        Assert.Equal((HttpStatusCode.MethodNotAllowed, "POST is not allowed on /health/live; 'swarm --help' lists what there is"),
            await Send(HttpMethod.Post, "/health/live", body: "{}"));
        Assert.Equal((HttpStatusCode.NotFound, "no such endpoint: DELETE /api/cluster; 'swarm --help' lists what there is"),
            await Send(HttpMethod.Delete, "/api/cluster", body: "{}"));
        Assert.Equal((HttpStatusCode.NotFound, "no such endpoint: GET /nothing; 'swarm --help' lists what there is"), await Send(HttpMethod.Get, "/nothing"));
        var big = "{\"targets\": [\"" + new string('a', 2 << 20) + "\"]}";
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "the body is over the limit of 1048576 bytes"), await Send(HttpMethod.Put, "/api/targets/default", body: big));
    }

    [Fact]
    public async Task Metrics_want_their_own_token_when_one_is_set()
    {
        var (status, error) = await Send(HttpMethod.Get, "/metrics", token: null);
        Assert.Equal((HttpStatusCode.Unauthorized, "/metrics wants the bearer token Swarm:Management:MetricsToken"), (status, error));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/metrics", token: Token)).Status);
        var (ok, text) = await Send(HttpMethod.Get, "/metrics", token: MetricsToken);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Contains("swarm_cluster_members", text);
    }

    [Fact]
    public async Task Hundreds_of_generated_bad_requests_each_get_a_4xx_in_words_and_change_nothing()
    {
        var requests = FsCheck.Fluent.Gen.Sample(ApiFuzz.Requests(), 400, new FsCheck.Rnd(20261201UL), 30);
        foreach (var r in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(r.Method), Url(r.Path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", r.Token);
            if (r.Body is not null)
            {
                request.Content = new ByteArrayContent(r.Body);
                if (r.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", r.ContentType);
            }
            using var response = await _http.SendAsync(request);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status is >= 200 and < 500, $"{r}: {status} {text}");
            if (status >= 400) Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()), $"{r}: {text}");
        }

        var (_, list) = await Send(HttpMethod.Get, "/api/targets/default");
        Assert.Equal(["127.0.0.1"], JsonDocument.Parse(list).RootElement.GetProperty("targets").EnumerateArray().Select(t => t.GetString()));
        var (_, cluster) = await Send(HttpMethod.Get, "/api/cluster");
        Assert.Equal("up", JsonDocument.Parse(cluster).RootElement.GetProperty("members")[0].GetProperty("status").GetString());
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _http.Dispose();
        _data.Dispose();
    }
}
