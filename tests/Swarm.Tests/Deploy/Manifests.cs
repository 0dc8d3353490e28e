using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using Swarm.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Swarm.Tests.Deploy;

/// <summary>The deployment files as the tests read them: rendered Kubernetes objects, env files, Dockerfiles.</summary>
public static class Manifests
{
    public static string K8s(params string[] parts) => Repo.File(["deploy", "k8s", .. parts]);

    /// <summary><c>kubectl kustomize DIR</c>, as a user renders it.</summary>
    public static string Render(string dir)
    {
        var (code, output, error) = Run("kubectl", ["kustomize", dir]);
        Assert.True(code == 0, $"kubectl kustomize {dir} failed ({code}): {error}");
        return output;
    }

    public static List<JsonObject> Objects(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => ToJson(d.RootNode)).OfType<JsonObject>().ToList();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => null,
    };

    /// <summary>Containers running our images, with the workload they belong to.</summary>
    public static IEnumerable<(string Workload, string Image, JsonObject Container, JsonObject PodSpec)> SwarmContainers(IEnumerable<JsonObject> objects) =>
        from o in objects
        let spec = o["spec"]?["template"]?["spec"] as JsonObject
        where spec is not null
        from c in spec["containers"]!.AsArray().Cast<JsonObject>()
        let image = c["image"]!.GetValue<string>()
        where image.Contains("swarm-node") || image.Contains("swarm-lighthouse")
        select ($"{o["kind"]}/{o["metadata"]!["name"]}", image, c, spec);

    /// <summary>Every variable a container gets: its own env, then the ConfigMaps it takes whole (env wins).</summary>
    public static Dictionary<string, string?> Environment(JsonObject container, IEnumerable<JsonObject> objects)
    {
        var env = new Dictionary<string, string?>();
        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            var name = source!["configMapRef"]!["name"]!.GetValue<string>();
            var map = objects.Single(o => o["kind"]!.GetValue<string>() == "ConfigMap" && o["metadata"]!["name"]!.GetValue<string>() == name);
            foreach (var (key, value) in map["data"]!.AsObject()) env[key] = value!.GetValue<string>();
        }
        foreach (var variable in container["env"]?.AsArray() ?? [])
            env[variable!["name"]!.GetValue<string>()] = variable["value"]?.GetValue<string>();
        return env;
    }

    /// <summary>KEY=VALUE lines of an env file (systemd EnvironmentFile), comments left out.</summary>
    public static Dictionary<string, string> EnvFile(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    /// <summary>The configuration key an environment variable sets: <c>Swarm__Mqtt__Brokers__0</c> is <c>Swarm:Mqtt:Brokers</c>.</summary>
    public static string KeyOf(string variable) => Regex.Replace(variable.Replace("__", ":"), @"(:\d+)+$", "");

    /// <summary>The keys a loader asks for, recorded from a run of it on an empty configuration.</summary>
    public static HashSet<string> KeysRead(Action<IConfiguration> load)
    {
        var recording = new RecordingConfiguration();
        load(recording);
        return recording.Read;
    }

    public static (int Code, string Output, string Error) Run(string file, string[] args, string? stdin = null)
    {
        var onPath = (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, file)));
        Assert.True(onPath, $"{file} is needed on the PATH for this test (kubectl renders the manifests offline; node runs the schema check)");
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        })!;
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000)) process.Kill(entireProcessTree: true);
        return (process.ExitCode, output.Result, error.Result);
    }

    private sealed class RecordingConfiguration : IConfiguration
    {
        private readonly IConfigurationRoot _empty = new ConfigurationBuilder().Build();

        public HashSet<string> Read { get; } = [];

        public string? this[string key]
        {
            get { Read.Add(key); return null; }
            set { }
        }

        public IConfigurationSection GetSection(string key)
        {
            Read.Add(key);
            return _empty.GetSection(key);
        }

        public IEnumerable<IConfigurationSection> GetChildren() => [];

        public IChangeToken GetReloadToken() => _empty.GetReloadToken();
    }
}
