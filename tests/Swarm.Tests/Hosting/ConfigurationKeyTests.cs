using System.Reflection;
using System.Text.RegularExpressions;
using Swarm.Hosting;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Hosting;

/// <summary>The configuration keys live in one place (<see cref="SwarmKeys"/>); what the deployment and the docs set must be among them.</summary>
public class ConfigurationKeyTests
{
    private static readonly HashSet<string> Known = typeof(SwarmKeys).GetNestedTypes().Append(typeof(SwarmKeys))
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToHashSet(StringComparer.OrdinalIgnoreCase);

    [Fact]
    public void Every_key_the_deployment_files_and_the_readme_set_is_one_the_node_reads()
    {
        var files = Directory.EnumerateFiles(Repo.File("deploy"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("node_modules", StringComparison.Ordinal))
            .Append(Repo.File("README.md"));
        var used = files.SelectMany(f => Regex.Matches(File.ReadAllText(f), @"\bSwarm__([A-Za-z]+(?:__[A-Za-z]+)*)(?![A-Za-z_])").Select(m => (File: f, Key: m.Groups[1].Value)))
            .Where(u => !u.Key.EndsWith("__", StringComparison.Ordinal))
            .Select(u => (u.File, Key: "Swarm:" + u.Key.Replace("__", ":")))
            .ToList();

        Assert.NotEmpty(used);
        var unknown = used.Where(u => !Known.Contains(u.Key) && !Known.Any(k => u.Key.StartsWith(k + ":", StringComparison.OrdinalIgnoreCase))).ToList();
        Assert.True(unknown.Count == 0, "keys no option reads: " + string.Join(", ", unknown.Select(u => $"{u.Key} ({Path.GetFileName(u.File)})")));
    }

    [Fact]
    public void A_misspelt_key_would_be_caught()
    {
        Assert.Contains("Swarm:Mqtt:Brokers", Known);
        Assert.DoesNotContain("Swarm:Mqtt:Broker", Known);
        Assert.Contains("CLUSTER_SEEDS", Known);
    }
}
