using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.EndToEnd;

/// <summary>The real <c>swarm probe</c> binary.</summary>
public class ProbeCommandTests
{
    [Fact]
    public async Task Probe_prints_one_line_per_target_and_exits_1_when_one_never_answers()
    {
        var closed = Ports.Free();
        await using var cli = NodeProcess.StartCli("probe", "-c", "3", "-p", "20", "127.0.0.1", "::1", $"tcp://127.0.0.1:{closed}");

        Assert.Equal(1, await cli.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var lines = cli.Output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("127.0.0.1 ") && l.Contains(": xmt/rcv/%loss = 3/3/0%, min/avg/max = "));
        Assert.Contains(lines, l => l.StartsWith("::1 ") && l.Contains("3/3/0%"));
        Assert.Contains(lines, l => l.Contains($"xmt/rcv/%loss = 3/0/100% (connect to 127.0.0.1:{closed} failed: connection refused)"));
    }

    [Fact]
    public async Task Probe_json_prints_results_as_published_and_exits_0_when_all_answer()
    {
        await using var cli = NodeProcess.StartCli("probe", "--json", "-c", "4", "-p", "10", "127.0.0.2");

        Assert.Equal(0, await cli.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var result = JsonDocument.Parse(cli.Output.Trim()).RootElement;
        Assert.Equal("127.0.0.2", result.GetProperty("target").GetString());
        Assert.Equal(4, result.GetProperty("received").GetInt32());
        Assert.True(result.GetProperty("rtt_median_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Bad_arguments_exit_3_and_say_what_is_wrong()
    {
        await using var cli = NodeProcess.StartCli("probe", "-c", "0", "bad_host");

        Assert.Equal(3, await cli.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--count must be from 1 to 100000", cli.Output);
        Assert.Contains("1 entry refused: 'bad_host': not a host, tcp://host:port, http(s):// URL, dns://server/name?type=A or trace://host", cli.Output);
    }
}
