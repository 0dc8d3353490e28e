using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary>
/// The NativeAOT <c>swarm</c>, as shipped: one native file, no runtime beside it, probing loopback. <c>./test.sh</c>
/// publishes it before the tests; run alone, the fixture publishes it (it needs clang and zlib1g-dev).
/// </summary>
public class NativeCliTests(NativeCliTests.NativeSwarm native) : IClassFixture<NativeCliTests.NativeSwarm>
{
    public sealed class NativeSwarm
    {
        /// <summary>Where <c>./test.sh</c> publishes it (<c>SWARM_NATIVE</c> overrides).</summary>
        public static string DefaultPath => Environment.GetEnvironmentVariable("SWARM_NATIVE") ?? NativeBuild.PathOf("Swarm.Cli", "swarm");

        public string Path { get; } = NativeBuild.Ensure(DefaultPath, "Swarm.Cli");
    }

    private async Task<(int Code, string Output)> Run(params string[] args)
    {
        await using var process = NodeProcess.StartExecutable(native.Path, args);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, process.Output);
    }

    [Fact]
    public void It_is_one_native_executable_with_no_managed_assembly_beside_it()
    {
        var bytes = File.ReadAllBytes(native.Path);
        Assert.True(bytes.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), "not an ELF executable");
        var folder = Path.GetDirectoryName(native.Path)!;
        Assert.Empty(Directory.GetFiles(folder, "*.dll"));
        Assert.False(File.Exists(Path.Combine(folder, "swarm.runtimeconfig.json")), "a runtimeconfig means a framework-dependent build");
    }

    [Fact]
    public async Task It_probes_loopback_v4_v6_and_tcp_and_says_so_in_fping_form()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var (code, output) = await Run("probe", "-c", "3", "-p", "20", "127.0.0.1", "::1", $"tcp://127.0.0.1:{port}");
        Assert.True(code == 0, $"exit {code}:\n{output}");
        Assert.Matches(@"127\.0\.0\.1\s+: xmt/rcv/%loss = 3/3/0%, min/avg/max = ", output);
        Assert.Matches(@"::1\s+: xmt/rcv/%loss = 3/3/0%", output);
        Assert.Matches($@"tcp://127\.0\.0\.1:{port} : xmt/rcv/%loss = 3/3/0%", output);
    }

    [Fact]
    public async Task Its_json_is_the_result_published_on_ping_target()
    {
        var (code, output) = await Run("probe", "--json", "-c", "2", "-p", "10", "127.0.0.1");
        Assert.True(code == 0, $"exit {code}:\n{output}");
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal("127.0.0.1", json.GetProperty("target").GetString());
        Assert.Equal(2, json.GetProperty("received").GetInt32());
        Assert.True(json.GetProperty("rtt_max_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Bad_arguments_and_an_unreachable_endpoint_end_with_their_codes()
    {
        var (badCode, bad) = await Run("probe", "-c", "0", "127.0.0.1");
        Assert.Equal(3, badCode);
        Assert.Contains("--count must be from 1 to 100000", bad);
        var (downCode, down) = await Run("cluster", "show", "--host", $"http://127.0.0.1:{Ports.Free()}");
        Assert.Equal(2, downCode);
        Assert.Contains("cannot reach", down);
    }
}
