using Swarm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Swarm.Tests.Verdicts;

/// <summary>
/// The live page in a real browser (Debian's Chromium, headless, over DevTools) against a running node whose bee
/// probes loopback and a target in a namespace of the test's own that drops half its echo replies.
/// </summary>
public sealed class LivePageTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_page_lists_the_bee_colours_the_lossy_target_says_the_verdict_and_updates_without_a_reload()
    {
        Skip.If(Chromium.Binary is null, "chromium is not installed (./test.sh installs it)");
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        await network!.DropEchoRepliesAsync(oneIn: 2);
        var peer = network.PeerAddress.ToString();

        using var data = new TempDir();
        var port = Ports.Free();
        await using var node = NodeProcess.StartProbing("page-bee", data.Path, port, $"127.0.0.1 {peer}", ("Swarm__Bee__Location", "lab"));
        await Listening(port);
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync($"http://127.0.0.1:{port}/");
        await browser.EvaluateAsync("window.__sameDocument = 42");

        async Task<string?> Text(string js) => (await browser.EvaluateAsync(js)).ToString();
        var row = $"document.querySelector('.row[data-target=\"{peer}\"]')";
        await Eventually.True(async () => await Text($"{row}?.dataset.verdict ?? ''") == "everyone", TimeSpan.FromSeconds(60),
            () => $"the page shows {peer} as degraded for everyone; node said:\n{node.Output}");

        // The lossy target: its cell in the degraded colour (#ef7d00), the verdict in words; loopback is ok, in green.
        Assert.Equal("lossy", await Text($"{row}.querySelector('.cell').dataset.state"));
        Assert.Equal("rgb(239, 125, 0)", await Text($"getComputedStyle({row}.querySelector('.cell')).backgroundColor"));
        Assert.Equal("ok", await Text("document.querySelector('.row[data-target=\"127.0.0.1\"]').dataset.verdict"));
        Assert.Equal("rgb(46, 158, 79)", await Text("getComputedStyle(document.querySelector('.row[data-target=\"127.0.0.1\"] .cell')).backgroundColor"));
        Assert.StartsWith($"{peer}: lossy for everyone (1 of 1 bee) since", await Text("document.querySelector('#verdicts li.everyone').textContent"));
        Assert.Equal("2 targets × 1 bee", await Text("document.querySelector('#matrix-count').textContent"));

        // The bees: this node's bee, where it stands and how it is linked.
        await Eventually.True(async () => await Text("document.querySelector('#bees tr[data-bee=\"page-bee\"]')?.textContent ?? ''") is { } t
            && t.Contains("lab") && t.Contains("ethernet") && t.Contains("online"), TimeSpan.FromSeconds(30), "the bee listed with its place and link");

        // A click on the lossy target's row charts it; new rounds reach the chart through the event stream, in the
        // same document: no reload.
        await browser.EvaluateAsync($"{row}.querySelector('.name').click()");
        await Eventually.True(async () => (await Text("document.querySelector('#chart-title').textContent"))!.StartsWith(peer)
            && await Text("document.querySelector('#chart').dataset.points ?? ''") is { Length: > 0 }, TimeSpan.FromSeconds(30), "the lossy target charted");
        var points = int.Parse((await Text("document.querySelector('#chart').dataset.points"))!);
        await Eventually.True(async () => int.Parse((await Text("document.querySelector('#chart').dataset.points"))!) >= points + 2,
            TimeSpan.FromSeconds(30), "two more rounds on the chart");
        Assert.Equal("42", await Text("String(window.__sameDocument)"));
        Assert.Equal("live", await Text("document.querySelector('#live').textContent"));
        Assert.Contains(peer, await Text("document.querySelector('#chart-title').textContent"));

        // The same answer in a terminal.
        var host = $"http://127.0.0.1:{port}";
        var (code, table) = await SwarmCommand.RunAsync("verdict", "--host", host);
        Assert.True(code == 0, table);
        Assert.Contains($"{peer}: lossy for everyone (1 of 1 bee) since", table);
        Assert.Contains("1 of 2 targets degraded; 0 of 1 bees with a degraded link of their own", table);
        var (oneCode, one) = await SwarmCommand.RunAsync("verdict", peer, "--host", host);
        Assert.True(oneCode == 0, one);
        Assert.Matches(@"page-bee\s+lossy\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d+(\.\d)?%", one);
        Assert.Equal(1, (await SwarmCommand.RunAsync("verdict", "nowhere.example", "--host", host)).Code);

        var shot = Path.Combine(AppContext.BaseDirectory, "artifacts", "live-page.png");
        await browser.ScreenshotAsync(shot);
        output.WriteLine($"screenshot: {shot}");
        Assert.True(new FileInfo(shot).Length > 10_000);
    }

    /// <summary>Waits for the node's endpoint: Chromium shows an error page for a refused connection, and reloads it later by itself.</summary>
    private static async Task Listening(int port)
    {
        using var http = new HttpClient();
        await Eventually.True(async () =>
        {
            try { return (await http.GetAsync($"http://127.0.0.1:{port}/health/live")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "the node's endpoint");
    }

    [SkippableFact]
    public async Task With_a_token_the_page_asks_for_it_and_the_stream_refuses_without_it()
    {
        Skip.If(Chromium.Binary is null, "chromium is not installed (./test.sh installs it)");
        using var data = new TempDir();
        var port = Ports.Free();
        await using var node = NodeProcess.StartProbing("token-bee", data.Path, port, "127.0.0.1", ("Swarm__Management__Token", "s3cret-token"));
        await Listening(port);
        using var http = new HttpClient();
        Assert.Equal(401, (int)(await http.GetAsync($"http://127.0.0.1:{port}/api/events")).StatusCode);
        Assert.Equal(401, (int)(await http.GetAsync($"http://127.0.0.1:{port}/api/matrix")).StatusCode);
        var page = await http.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(200, (int)page.StatusCode);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync($"http://127.0.0.1:{port}/");
        async Task<string?> Text(string js) => (await browser.EvaluateAsync(js)).ToString();
        await Eventually.True(async () => await Text("String(document.querySelector('#login').hidden)") == "false", TimeSpan.FromSeconds(30), "the token asked for");
        await browser.EvaluateAsync("document.querySelector('#token').value = 'wrong'; document.querySelector('#login').requestSubmit()");
        await Eventually.True(async () => await Text("document.querySelector('#login-error').textContent") == "that token was refused", TimeSpan.FromSeconds(30), "a wrong token refused");
        await browser.EvaluateAsync("document.querySelector('#token').value = 's3cret-token'; document.querySelector('#login').requestSubmit()");
        await Eventually.True(async () => await Text("String(document.querySelector('#main').hidden)") == "false"
            && await Text("document.querySelector('.row[data-target=\"127.0.0.1\"]')?.dataset.verdict ?? ''") == "ok", TimeSpan.FromSeconds(60), "the page open with the token");
        await Eventually.True(async () => await Text("document.querySelector('#live').textContent") == "live", TimeSpan.FromSeconds(30), "the stream open with the token");
    }

    [SkippableFact]
    public async Task A_path_target_shows_its_hops_as_mtr_does_under_its_chart()
    {
        Skip.If(Chromium.Binary is null, "chromium is not installed (./test.sh installs it)");
        using var data = new TempDir();
        var port = Ports.Free();
        await using var node = NodeProcess.StartProbing("path-bee", data.Path, port, "trace://127.0.0.1", ("Swarm__Probe__AllowNetworks__0", "127.0.0.0/8"));
        await Listening(port);
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync($"http://127.0.0.1:{port}/");
        async Task<string?> Text(string js) => (await browser.EvaluateAsync(js)).ToString();

        var row = "document.querySelector('.row[data-target=\"trace://127.0.0.1\"]')";
        await Eventually.True(async () => await Text($"{row}?.dataset.verdict ?? ''") == "ok", TimeSpan.FromSeconds(60),
            () => $"the path target on the page; node said:\n{node.Output}");
        await browser.EvaluateAsync($"{row}.querySelector('.name').click()");
        // Hop 1 is the target itself (its reverse name comes from this machine's hosts file, if it has one), 10 probes, no loss.
        await Eventually.True(async () => await Text("[...(document.querySelector('#path-rows tr[data-hop=\"1\"]')?.cells ?? [])].map(c => c.textContent).join('|')") is { } hop
            && hop.StartsWith("1.|") && hop.Split('|')[1].Contains("127.0.0.1") && hop.Split('|')[2..4].SequenceEqual(["0.0%", "10"]), TimeSpan.FromSeconds(30), () => "hop 1 in the path table: the target itself, 10 probes, no loss; the page has " +
            Text("document.querySelector('#path-section').outerHTML + document.querySelector('#chart-title').textContent").Result + "; node said:\n" + node.Output);
        Assert.Equal("false", await Text("String(document.querySelector('#path-section').hidden)"));
        Assert.Equal("Path from path-bee: 1 hop, target reached (icmp)", await Text("document.querySelector('#path-title').textContent"));
        Assert.Equal("no loss or delay that lasts to the end of the path", await Text("document.querySelector('#path-note').textContent"));

        var shot = Path.Combine(AppContext.BaseDirectory, "artifacts", "live-page-path.png");
        await browser.ScreenshotAsync(shot);
        output.WriteLine($"screenshot: {shot}");
    }
}
