using System.Text.Json;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Architecture;

/// <summary>
/// The projects' dependencies follow the data flow: the probe engine and the wire formats know nothing of Akka, MQTT
/// or databases, so that the native <c>swarm</c> carries none of them. Read from what restore resolved (every
/// package and project, transitively), not from the project files alone.
/// </summary>
public class DependencyTests
{
    private static readonly string[] Forbidden = ["Akka", "MQTTnet", "Npgsql", "Microsoft.Data.Sqlite", "SQLitePCLRaw", "Swarm.Actors", "Swarm.Management"];

    [Theory]
    [InlineData("Swarm.Protocol", new string[0])]
    [InlineData("Swarm.Probing", new[] { "Swarm.Protocol" })]
    [InlineData("Swarm.Cli", new[] { "Swarm.Probing", "Swarm.Protocol" })]
    public void Lean_projects_depend_on_no_actor_broker_or_database_package(string project, string[] swarmProjects)
    {
        var libraries = Libraries(project);
        var offending = libraries.Where(l => Forbidden.Any(f => l.Equals(f, StringComparison.OrdinalIgnoreCase) || l.StartsWith(f + ".", StringComparison.OrdinalIgnoreCase))).ToList();
        Assert.True(offending.Count == 0, $"{project} depends on {string.Join(", ", offending)}");
        Assert.Equal(swarmProjects.Order(), libraries.Where(l => l.StartsWith("Swarm.", StringComparison.Ordinal)).Order());
    }

    [Fact]
    public void The_check_sees_what_a_project_really_pulls_in()
    {
        // The node does pull in Akka, MQTTnet and SQLite through Swarm.Actors: if this saw nothing, the test above proved nothing.
        var node = Libraries("Swarm.Node");
        Assert.Contains(node, l => l.StartsWith("Akka.", StringComparison.Ordinal));
        Assert.Contains("MQTTnet", node);
        Assert.Contains("Microsoft.Data.Sqlite", node);
        Assert.Contains("Swarm.Actors", node);
    }

    /// <summary>Every package and project <paramref name="project"/> resolves to, by name (restore's project.assets.json).</summary>
    private static List<string> Libraries(string project)
    {
        var assets = Repo.File("src", project, "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} is missing: restore the solution first");
        using var json = JsonDocument.Parse(File.ReadAllText(assets));
        return json.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
    }
}
