using System.Diagnostics;
using System.Text.RegularExpressions;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Management;

/// <summary>The shipped alerting rules (<c>deploy/prometheus/swarm-rules.yml</c>): valid for promtool, and firing in a real Prometheus.</summary>
public sealed class PrometheusRulesTests
{
    private static string RulesFile => Repo.File("deploy/prometheus/swarm-rules.yml");

    [Fact]
    public async Task Promtool_accepts_the_shipped_rules()
    {
        using var promtool = Process.Start(new ProcessStartInfo("promtool", ["check", "rules", RulesFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync();
        Assert.True(promtool.ExitCode == 0, output);
        Assert.Contains("SUCCESS: 9 rules found", output);
    }

    /// <summary>
    /// A node whose one real target, in a namespace of the test's own, drops half its echo replies: Prometheus scrapes
    /// it and the shipped rules fire, the loss rule and the swarm's verdict rule. The test's copy shortens every
    /// <c>for:</c> to 1s (the expressions are the shipped ones; minutes of holding are not what is tested).
    /// </summary>
    [SkippableFact]
    public async Task The_loss_and_verdict_rules_fire_against_a_node_whose_target_is_lossy()
    {
        var (network, reason) = await TestNetwork.TryCreateAsync();
        Skip.If(network is null, reason);
        await using var _ = network;
        await network!.DropEchoRepliesAsync(oneIn: 2);
        var peer = network.PeerAddress.ToString();

        using var data = new TempDir();
        var port = Ports.Free();
        await using var node = NodeProcess.StartProbing("rules-bee", data.Path, port, $"127.0.0.1 {peer}");
        var rules = Regex.Replace(await File.ReadAllTextAsync(RulesFile), @"for: \d+[smhd]", "for: 1s");
        await using var prometheus = await PrometheusServer.StartWithRulesAsync(rules, $"127.0.0.1:{port}");

        IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)> firing = [];
        await Eventually.True(async () =>
        {
            firing = await prometheus.QueryAsync("ALERTS{alertstate=\"firing\"}");
            return firing.Any(a => a.Labels["alertname"] == "SwarmTargetLossy") && firing.Any(a => a.Labels["alertname"] == "SwarmTargetDegradedForEveryone");
        }, TimeSpan.FromSeconds(90), () => $"the loss and verdict rules firing; firing now: {string.Join(", ", firing.Select(a => a.Labels["alertname"]))}; node said:\n{node.Output}");

        var lossy = firing.Where(a => a.Labels["alertname"] == "SwarmTargetLossy").ToList();
        Assert.All(lossy, a => Assert.Equal(peer, a.Labels["target"]));
        Assert.Equal("rules-bee", lossy.Single().Labels["bee"]);
        Assert.Equal(peer, firing.Single(a => a.Labels["alertname"] == "SwarmTargetDegradedForEveryone").Labels["target"]);
        Assert.DoesNotContain(firing, a => a.Labels.TryGetValue("target", out var t) && t == "127.0.0.1");
    }
}
