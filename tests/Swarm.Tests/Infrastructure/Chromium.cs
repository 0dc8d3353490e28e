using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven over the DevTools protocol (a WebSocket, no driver to download): navigate,
/// evaluate JavaScript in the page, take screenshots. Killed by PID on dispose.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDir _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _reader;
    private int _nextId;

    public static string? Binary => new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    private Chromium(Process process, TempDir profile) => (_process, _profile) = (process, profile);

    public static async Task<Chromium> StartAsync(int width = 1400, int height = 1000)
    {
        var binary = Binary ?? throw new InvalidOperationException("chromium is not installed: run ./test.sh (it installs it) or apt-get install chromium");
        var profile = new TempDir();
        var process = Process.Start(new ProcessStartInfo(binary,
        [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--remote-debugging-port=0", $"--user-data-dir={profile.Path}", $"--window-size={width},{height}", "about:blank",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var browser = new Chromium(process, profile);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { if (!process.HasExited) process.Kill(true); } catch (InvalidOperationException) { } };
        _ = process.StandardOutput.ReadToEndAsync();
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr, once it listens.
        string? endpoint = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (endpoint is null)
        {
            var line = await process.StandardError.ReadLineAsync(deadline.Token)
                       ?? throw new InvalidOperationException($"chromium exited ({(process.HasExited ? process.ExitCode : -1)}) before listening");
            if (line.Contains("DevTools listening on ")) endpoint = line[(line.IndexOf("ws://", StringComparison.Ordinal))..].Trim();
        }
        _ = Task.Run(async () => { while (await process.StandardError.ReadLineAsync() is not null) { } });
        var port = new Uri(endpoint).Port;
        using var http = new HttpClient();
        string? page = null;
        await Eventually.True(async () =>
        {
            var list = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            page = list.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
            return page is not null;
        }, TimeSpan.FromSeconds(30), "a page target in chromium");
        await browser._socket.ConnectAsync(new Uri(page!), deadline.Token);
        browser._reader = Task.Run(browser.ReadLoop);
        await browser.SendAsync("Page.enable");
        await browser.SendAsync("Runtime.enable");
        return browser;
    }

    public int Pid => _process.Id;

    private async Task ReadLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var json = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                if (json.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var waiter))
                {
                    if (json.TryGetProperty("error", out var error)) waiter.TrySetException(new InvalidOperationException($"chromium: {error}"));
                    else waiter.TrySetResult(json.GetProperty("result"));
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
        foreach (var waiter in _pending.Values) waiter.TrySetException(new InvalidOperationException("chromium's DevTools connection closed"));
    }

    /// <summary>One DevTools command; its result.</summary>
    public async Task<JsonElement> SendAsync(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, _stop.Token);
        return await waiter.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async Task NavigateAsync(string url)
    {
        await SendAsync("Page.navigate", new { url });
        await Eventually.True(async () => (await EvaluateAsync("document.readyState")).GetString() == "complete", TimeSpan.FromSeconds(30), $"{url} loaded");
    }

    /// <summary>Evaluates JavaScript in the page (promises awaited); its value as JSON.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result.TryGetProperty("exceptionDetails", out var exception)) throw new InvalidOperationException($"page: {exception}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value : default;
    }

    public async Task ScreenshotAsync(string path)
    {
        var shot = await SendAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.GetProperty("data").GetString()!));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync();
        if (_reader is not null) await _reader;
        _socket.Dispose();
        _process.Dispose();
        _profile.Dispose();
    }
}
