using Microsoft.Extensions.Configuration;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Swarm.Hosting;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests, the systemd units and the Dockerfiles agree with the application: they render, they
/// validate against the Kubernetes schemas, every variable they set is one the code reads, ports and seeds match.
/// </summary>
public class DeploymentTests
{
    public static readonly TheoryData<string> Overlays = new() { "base", "overlays/demo", "overlays/multi-site" };

    private static readonly HashSet<string> NodeKeys = Manifests.KeysRead(c => SwarmOptions.Load(c));
    private static readonly HashSet<string> LighthouseKeys = Manifests.KeysRead(c =>
    {
        ClusterOptions.Load(c, ClusterOptions.LighthousePort);
        ManagementOptions.Load(c, ManagementOptions.LighthouseUrl);
    });

    /// <summary>What the CLI reads, for the preStop hook's <c>swarm cluster leave</c>.</summary>
    private static readonly string[] CliVariables = ["SWARM_HOST", "SWARM_TOKEN"];

    private static List<JsonObject> Rendered(string overlay) => Manifests.Objects(Manifests.Render(Manifests.K8s(overlay.Split('/'))));

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_overlay_renders_and_every_object_validates_against_the_kubernetes_schemas(string overlay)
    {
        var tools = Manifests.K8s("tools");
        Assert.True(Directory.Exists(Path.Combine(tools, "node_modules", "kubernetes-models")),
            $"run 'npm install --prefix {tools}' (test.sh and .ci/run do) to validate offline");
        var yaml = Manifests.Render(Manifests.K8s(overlay.Split('/')));
        var count = Manifests.Objects(yaml).Count;

        var (code, output, error) = Manifests.Run("node", [Path.Combine(tools, "validate.mjs")], stdin: yaml);

        Assert.True(code == 0, $"{overlay}:\n{output}{error}");
        Assert.Contains($"{count} of {count} objects valid", output);
    }

    [Fact]
    public void The_loaders_read_the_keys_the_design_names()
    {
        // The recording is only worth something if it sees the keys: a few the design table promises.
        Assert.Contains("Swarm:Bee:Id", NodeKeys);
        Assert.Contains("Swarm:Mqtt:Brokers", NodeKeys);
        Assert.Contains("CLUSTER_SEEDS", NodeKeys);
        Assert.Contains("Swarm:Management:Token", LighthouseKeys);
        Assert.DoesNotContain("Swarm:Bee:Id", LighthouseKeys);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_variable_a_swarm_container_gets_is_one_the_application_reads(string overlay)
    {
        var objects = Rendered(overlay);
        var containers = Manifests.SwarmContainers(objects).ToList();
        Assert.NotEmpty(containers);
        foreach (var (workload, image, container, _) in containers)
        {
            var env = Manifests.Environment(container, objects);
            var reads = image.Contains("lighthouse") ? LighthouseKeys : NodeKeys;
            // Variables that only feed $(NAME) in another value are Kubernetes' business, not the application's.
            var referenced = env.Values.Where(v => v is not null).SelectMany(v => Regex.Matches(v!, @"\$\((\w+)\)").Select(m => m.Groups[1].Value)).ToHashSet();
            foreach (var name in env.Keys.Where(n => !referenced.Contains(n) && !CliVariables.Contains(n)))
                Assert.True(reads.Contains(Manifests.KeyOf(name)), $"{overlay} {workload}: {name} is not read by {(image.Contains("lighthouse") ? "the Lighthouse" : "the node")}");
            foreach (var name in referenced) Assert.True(env.ContainsKey(name), $"{overlay} {workload}: $({name}) is used but not set");
        }
        var cli = File.ReadAllText(Repo.File("src", "Swarm.Cli", "ManagementCommands.cs"));
        Assert.All(CliVariables, v => Assert.Contains($"\"{v}\"", cli));
    }

    [Fact]
    public void The_vm_env_files_and_the_images_set_only_variables_the_application_reads()
    {
        foreach (var (file, reads) in new[] { ("node.env", NodeKeys), ("lighthouse.env", LighthouseKeys) })
            foreach (var name in Manifests.EnvFile(Repo.File("deploy", "systemd", file)).Keys)
                Assert.True(reads.Contains(Manifests.KeyOf(name)), $"deploy/systemd/{file}: {name} is not read");
        foreach (var (dockerfile, reads) in new[] { ("node.Dockerfile", NodeKeys), ("lighthouse.Dockerfile", LighthouseKeys) })
            foreach (var name in DockerEnv(dockerfile).Keys)
                Assert.True(reads.Contains(Manifests.KeyOf(name)), $"deploy/docker/{dockerfile}: {name} is not read");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Container_ports_probes_and_the_endpoint_agree(string overlay)
    {
        var objects = Rendered(overlay);
        foreach (var (workload, _, container, _) in Manifests.SwarmContainers(objects))
        {
            var env = Manifests.Environment(container, objects);
            var ports = container["ports"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => int.Parse(p!["containerPort"]!.ToString()));
            Assert.Equal(new Uri(env["Swarm__Management__Url"]!).Port, ports["management"]);
            Assert.Equal("/health/live", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
            Assert.Equal("/health/ready", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
            Assert.Equal("management", container["readinessProbe"]!["httpGet"]!["port"]!.GetValue<string>());
            if (env.GetValueOrDefault("Swarm__Roles") == "edge")
            {
                // An edge bee: no cluster port, nothing to leave before it stops.
                Assert.DoesNotContain("akka", ports.Keys);
                Assert.Null(container["lifecycle"]);
                continue;
            }
            Assert.Equal(int.Parse(env["CLUSTER_PORT"]!), ports["akka"]);
            // preStop leaves the cluster through the CLI the image carries, on the endpoint this container serves.
            Assert.Equal(["/app/swarm", "cluster", "leave"], container["lifecycle"]!["preStop"]!["exec"]!["command"]!.AsArray().Select(c => c!.GetValue<string>()));
            var cliHost = env.GetValueOrDefault("SWARM_HOST") ?? "http://127.0.0.1:9110";
            Assert.True(new Uri(cliHost).Port == ports["management"], $"{workload}: the preStop hook's swarm talks to {cliHost}");
            Assert.True(env.ContainsKey("SWARM_TOKEN") == env.ContainsKey("Swarm__Management__Token"), $"{workload}: the preStop hook needs the token");
        }
        foreach (var service in objects.Where(o => o["kind"]!.GetValue<string>() == "Service" && o["metadata"]!["name"]!.GetValue<string>() == "lighthouse"))
            Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "akka" && p["port"]!.ToString() == ClusterOptions.LighthousePort.ToString());
    }

    [Fact]
    public void Every_workload_lists_the_same_seeds_which_name_the_lighthouse_pods_in_order()
    {
        var objects = Rendered("base");
        var lighthouse = objects.Single(o => o["kind"]!.GetValue<string>() == "StatefulSet" && o["metadata"]!["name"]!.GetValue<string>() == "lighthouse");
        var replicas = int.Parse(lighthouse["spec"]!["replicas"]!.ToString());
        var service = lighthouse["spec"]!["serviceName"]!.GetValue<string>();
        var ns = lighthouse["metadata"]!["namespace"]!.GetValue<string>();
        var expected = Enumerable.Range(0, replicas).Select(i => $"akka.ssl.tcp://swarm@lighthouse-{i}.{service}.{ns}.svc.cluster.local:{ClusterOptions.LighthousePort}").ToList();

        var seeds = Manifests.SwarmContainers(objects).Select(c => (c.Workload, Seeds: Manifests.Environment(c.Container, objects)["CLUSTER_SEEDS"])).ToList();
        Assert.Equal(3, seeds.Count); // lighthouse, queen, bee
        Assert.All(seeds, s => Assert.Equal(expected, s.Seeds!.Split(',')));

        // Each Lighthouse advertises itself by the name the seeds use.
        var lighthouseEnv = Manifests.Environment(Manifests.SwarmContainers(objects).Single(c => c.Workload == "StatefulSet/lighthouse").Container, objects);
        Assert.Equal($"$(POD_NAME).{service}.{ns}.svc.cluster.local", lighthouseEnv["CLUSTER_IP"]);

        // VMs join the same central seeds, in the same order.
        var vm = Manifests.EnvFile(Repo.File("deploy", "systemd", "node.env"))["CLUSTER_SEEDS"];
        Assert.Equal(vm, Manifests.EnvFile(Repo.File("deploy", "systemd", "lighthouse.env"))["CLUSTER_SEEDS"]);
        Assert.Equal(3, vm!.Split(',').Length);
    }

    [Fact]
    public void Bees_at_other_sites_are_edge_bees_that_only_dial_out_to_the_central_broker()
    {
        var multiSite = Rendered("overlays/multi-site");
        var (_, _, bee, pod) = Manifests.SwarmContainers(multiSite).Single();
        var env = Manifests.Environment(bee, multiSite);
        Assert.Equal("edge", env["Swarm__Roles"]);
        Assert.StartsWith("mqtts://", env["Swarm__Mqtt__Brokers__0"]);
        Assert.False(env.ContainsKey("CLUSTER_SEEDS"), "an edge bee joins no cluster");
        Assert.Null(pod["hostNetwork"]); // nothing inbound: the pod sysctl gives it ICMP, as in the central site
        Assert.DoesNotContain(bee["ports"]?.AsArray() ?? [], p => p!["name"]!.GetValue<string>() == "akka");
        Assert.Null(bee["lifecycle"]); // no `cluster leave` before it stops
        Assert.Contains(pod["securityContext"]!["sysctls"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "net.ipv4.ping_group_range");
        // What the manifests give it is a valid edge configuration.
        var options = Swarm.Hosting.SwarmOptions.Load(new ConfigurationBuilder().AddInMemoryCollection(
            env.Where(e => e.Key.StartsWith("Swarm__") && !e.Key.Contains("File") && !e.Key.Contains("Management") && e.Value is { } v && !v.Contains("$("))
                .Select(e => KeyValuePair.Create(e.Key.Replace("__", ":"), e.Value))).Build());
        Assert.True(options.IsEdge);
    }

    [Fact]
    public void The_bee_pod_gets_icmp_from_the_pod_sysctl_and_takes_its_name_and_place_from_the_node()
    {
        var objects = Rendered("overlays/demo");
        var (_, _, bee, pod) = Manifests.SwarmContainers(objects).Single(c => c.Workload == "DaemonSet/bee");
        Assert.Contains(pod["securityContext"]!["sysctls"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "net.ipv4.ping_group_range");
        Assert.Equal("true", pod["securityContext"]!["runAsNonRoot"]!.ToString().ToLowerInvariant());
        var env = bee["env"]!.AsArray();
        Assert.Equal("spec.nodeName", env.Single(e => e!["name"]!.GetValue<string>() == "NODE_NAME")!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
        Assert.Equal("$(NODE_NAME)", env.Single(e => e!["name"]!.GetValue<string>() == "Swarm__Bee__Id")!["value"]!.GetValue<string>());
        Assert.Equal("metadata.labels['swarm.io/location']",
            env.Single(e => e!["name"]!.GetValue<string>() == "Swarm__Bee__Location")!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());
    }

    [Fact]
    public void The_shipped_mosquitto_files_in_the_manifests_are_the_tested_ones()
    {
        foreach (var file in new[] { "mosquitto.conf", "swarm.acl" })
            Assert.Equal(File.ReadAllText(Repo.File("deploy", "mosquitto", file)), File.ReadAllText(Manifests.K8s("base", "mosquitto", file)));
    }

    [Theory]
    [InlineData("node.Dockerfile", "Swarm.Node", 9110)]
    [InlineData("lighthouse.Dockerfile", "Swarm.Lighthouse", 9100)]
    [InlineData("cli.Dockerfile", "Swarm.Cli", null)]
    public void Each_image_runs_what_its_project_publishes_and_carries_the_cli(string dockerfile, string project, int? managementPort)
    {
        var text = File.ReadAllText(Repo.File("deploy", "docker", dockerfile));
        var published = Regex.Matches(text, @"dotnet publish (\S+)\.csproj").Select(m => m.Groups[1].Value).ToList();
        Assert.All(published, p => Assert.True(File.Exists(Repo.File(p + ".csproj")), $"{dockerfile} publishes {p}.csproj, which does not exist"));
        Assert.Equal($"src/{project}/{project}", published[0]);
        // The CLI is native (NativeAOT, for the image's platform): published with -a, run without dotnet.
        Assert.Matches(@"dotnet publish src/Swarm.Cli/Swarm.Cli.csproj -c Release -a ""\$\{TARGETARCH:-amd64\}""", text);
        Assert.Contains("clang zlib1g-dev", text);
        Assert.Equal("swarm", AssemblyName("Swarm.Cli"));
        if (managementPort is null)
        {
            Assert.Contains(@"ENTRYPOINT [""/app/swarm""]", text);
            Assert.Contains("FROM mcr.microsoft.com/dotnet/runtime-deps:10.0", text);
            return;
        }
        var entry = Regex.Match(text, @"ENTRYPOINT \[""dotnet"", ""/app/([^""]+)\.dll""\]").Groups[1].Value;
        Assert.Equal(AssemblyName(project), entry);
        // Precompiled (ReadyToRun) for the image's platform, still framework-dependent: the aspnet image runs it.
        Assert.Contains($@"RUN dotnet publish src/{project}/{project}.csproj -c Release -a ""${{TARGETARCH:-amd64}}"" --self-contained false -p:PublishReadyToRun=true -o /app", text);

        // The preStop hook runs /app/swarm: the image copies the native CLI there.
        Assert.Contains("src/Swarm.Cli/Swarm.Cli", published);
        Assert.Contains("cp /cli/swarm /app/swarm", text);
        var env = DockerEnv(dockerfile);
        Assert.Equal(managementPort, new Uri(env["Swarm__Management__Url"]).Port);
        var exposed = Regex.Match(text, @"EXPOSE ([\d ]+)").Groups[1].Value.Split(' ').Select(int.Parse).ToList();
        Assert.Equal([managementPort.Value, int.Parse(env["CLUSTER_PORT"])], exposed);
    }

    [Fact]
    public void The_edge_image_runs_the_native_edge_bee_in_a_data_folder_its_user_owns_with_the_cli_beside_it()
    {
        var text = File.ReadAllText(Repo.File("deploy", "docker", "node.Dockerfile")).Replace("\\\n", " ");
        Assert.Contains(@"FROM build AS edge-build", text);
        Assert.Contains(@"RUN dotnet publish src/Swarm.Node/Swarm.Node.csproj -c Release -a ""${TARGETARCH:-amd64}"" -p:NativeEdge=true -o /edge", text);
        // The stage itself: on runtime-deps (no .NET runtime), up to the next FROM.
        var stage = Regex.Match(text, @"^FROM mcr\.microsoft\.com/dotnet/runtime-deps:10\.0 AS edge$(.*?)(?=^FROM |\z)", RegexOptions.Multiline | RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("COPY --from=edge-build /edge/Swarm.Node /edge/libe_sqlite3.so /edge/appsettings.json /app/", stage);
        Assert.Contains("COPY --from=build /app/swarm /app/swarm", stage);
        var owned = stage.IndexOf("RUN install -d -o 1654 -g 1654 /var/lib/swarm", StringComparison.Ordinal);
        Assert.InRange(owned, 0, stage.IndexOf("USER 1654", StringComparison.Ordinal)); // made as root, before the switch
        var env = Regex.Matches(stage, @"^ENV (.+)$", RegexOptions.Multiline)
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, @"(\w+)=(\S+)")).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal("edge", env["Swarm__Roles"]);
        Assert.Equal("/var/lib/swarm", env["Swarm__DataDir"]);
        Assert.Equal($"EXPOSE {new Uri(env["Swarm__Management__Url"]).Port}", Regex.Match(stage, @"EXPOSE [\d ]+").Value.Trim());
        Assert.Contains(@"ENTRYPOINT [""/app/Swarm.Node""]", stage);
    }

    [Fact]
    public void The_systemd_units_run_what_the_install_script_lays_out()
    {
        var install = File.ReadAllText(Repo.File("deploy", "systemd", "install.sh"));
        foreach (var (unit, project, folder, env) in new[]
                 {
                     ("swarm-node.service", "Swarm.Node", "node", "node.env"),
                     ("swarm-lighthouse.service", "Swarm.Lighthouse", "lighthouse", "lighthouse.env"),
                 })
        {
            var text = File.ReadAllText(Repo.File("deploy", "systemd", unit));
            Assert.Contains($"ExecStart=/usr/bin/dotnet /opt/swarm/{folder}/{AssemblyName(project)}.dll", text);
            Assert.Contains($"EnvironmentFile=/etc/swarm/{env}", text);
            Assert.Contains("Restart=on-failure", text);
            Assert.Contains("RestartPreventExitStatus=2", text); // bad configuration: restarting cannot help
            Assert.Contains($"{project}:{folder}", install);
            Assert.Contains("-c Release -r \"$rid\" --self-contained false -p:PublishReadyToRun=true", install.Replace("\\\n", " "));
            Assert.Contains(env, install);
        }
        Assert.Contains("AmbientCapabilities=CAP_NET_RAW", File.ReadAllText(Repo.File("deploy", "systemd", "swarm-node.service")));
        // The edge bee's unit runs the native build that install.sh publishes for this machine.
        var edge = File.ReadAllText(Repo.File("deploy", "systemd", "swarm-edge.service"));
        Assert.Contains("ExecStart=/opt/swarm/edge/Swarm.Node\n", edge);
        Assert.Contains("EnvironmentFile=/etc/swarm/edge.env", edge);
        Assert.Contains("RestartPreventExitStatus=2", edge);
        Assert.Contains("AmbientCapabilities=CAP_NET_RAW", edge);
        Assert.Contains("dotnet publish \"$repo/src/Swarm.Node/Swarm.Node.csproj\" -c Release -r \"$rid\" -p:NativeEdge=true -o \"$root/opt/swarm/edge\"", install);
        Assert.Contains("edge.env", install);
        Assert.Equal("edge", Manifests.EnvFile(Repo.File("deploy", "systemd", "edge.env"))["Swarm__Roles"]);
        // The native CLI, linked for this machine, is what /usr/local/bin/swarm points at.
        Assert.Contains("dotnet publish \"$repo/src/Swarm.Cli/Swarm.Cli.csproj\" -c Release -r \"$rid\" -o \"$root/opt/swarm/cli\"", install);
        Assert.Contains("ln -sf /opt/swarm/cli/swarm", install);
    }

    private static Dictionary<string, string> DockerEnv(string dockerfile)
    {
        var text = File.ReadAllText(Repo.File("deploy", "docker", dockerfile)).Replace("\\\n", " ");
        return Regex.Matches(text, @"^ENV (.+)$", RegexOptions.Multiline)
            .SelectMany(m => Regex.Matches(m.Groups[1].Value, @"(\w+)=(\S+)"))
            .GroupBy(m => m.Groups[1].Value) // a later stage (the native edge image) sets some again: the first stage's value
            .ToDictionary(g => g.Key, g => g.First().Groups[2].Value);
    }

    private static string AssemblyName(string project) =>
        Regex.Match(File.ReadAllText(Repo.File("src", project, project + ".csproj")), "<AssemblyName>([^<]+)</AssemblyName>") is { Success: true } m
            ? m.Groups[1].Value
            : project;
}
