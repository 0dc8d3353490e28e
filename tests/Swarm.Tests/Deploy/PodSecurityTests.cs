using System.Text.Json.Nodes;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Deploy;

/// <summary>
/// What a kubelet and an admission controller check, over every rendered pod, so a manifest that would never start
/// (or would start too open) fails here: a numeric user wherever runAsNonRoot is asked, probes on declared ports,
/// no service account token, seccomp, no privilege escalation, no capabilities kept, read-only roots where they hold,
/// network policies that select real pods, and each pod with its own identity only.
/// </summary>
public class PodSecurityTests
{
    public static readonly TheoryData<string> Overlays = DeploymentTests.Overlays;

    /// <summary>Images whose own start-up writes under their root file system (the demo's Elasticsearch and Kibana).</summary>
    private static readonly string[] WritableRootImages = ["elasticsearch", "kibana"];

    private static List<JsonObject> Rendered(string overlay) => Manifests.Objects(Manifests.Render(Manifests.K8s(overlay.Split('/'))));

    private static IEnumerable<(string Workload, JsonObject Pod, JsonObject Labels)> Pods(IEnumerable<JsonObject> objects) =>
        from o in objects
        let template = o["spec"]?["template"] as JsonObject
        where template is not null
        select ($"{o["kind"]}/{o["metadata"]!["name"]}", (JsonObject)template["spec"]!, (JsonObject)template["metadata"]!["labels"]!);

    private static IEnumerable<JsonObject> Containers(JsonObject pod, bool withInit = true) =>
        (pod["containers"]!.AsArray()).Concat(withInit ? pod["initContainers"]?.AsArray() ?? [] : []).Cast<JsonObject>();

    private static string? Text(JsonNode? node) => node?.ToString();

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_pod_would_start_under_a_kubelet_that_checks_run_as_non_root(string overlay)
    {
        foreach (var (workload, pod, _) in Pods(Rendered(overlay)))
        foreach (var container in Containers(pod))
        {
            string? Setting(string name) => Text(container["securityContext"]?[name]) ?? Text(pod["securityContext"]?[name]);
            var name = $"{overlay} {workload} {container["name"]}";
            if (Setting("runAsNonRoot") is "true" or "True")
            {
                // With a user name in the image, the kubelet refuses: "cannot verify user is non-root".
                Assert.True(long.TryParse(Setting("runAsUser"), out var uid), $"{name}: runAsNonRoot without a numeric runAsUser");
                Assert.True(uid != 0, $"{name}: runAsNonRoot with runAsUser 0");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_probe_names_a_port_its_container_declares(string overlay)
    {
        foreach (var (workload, pod, _) in Pods(Rendered(overlay)))
        foreach (var container in Containers(pod, withInit: false))
        {
            var ports = container["ports"]?.AsArray().Select(p => (Name: Text(p!["name"]), Port: Text(p!["containerPort"]))).ToList() ?? [];
            foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
            {
                var port = Text(container[probe]?["httpGet"]?["port"]) ?? Text(container[probe]?["tcpSocket"]?["port"]);
                if (port is null) continue;
                Assert.True(ports.Any(p => p.Name == port || p.Port == port), $"{overlay} {workload}: {probe} on port '{port}', which the container does not declare");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_pod_is_locked_down(string overlay)
    {
        foreach (var (workload, pod, _) in Pods(Rendered(overlay)))
        {
            var name = $"{overlay} {workload}";
            Assert.True(Text(pod["automountServiceAccountToken"]) is "false" or "False", $"{name}: mounts a service account token it never uses");
            Assert.True(Text(pod["hostNetwork"]) is "true" or "True" || Text(pod["securityContext"]?["seccompProfile"]?["type"]) == "RuntimeDefault",
                $"{name}: no seccompProfile RuntimeDefault");
            foreach (var container in Containers(pod))
            {
                var context = container["securityContext"];
                var image = Text(container["image"])!;
                var what = $"{name} {container["name"]}";
                Assert.True(Text(context?["allowPrivilegeEscalation"]) is "false" or "False", $"{what}: allowPrivilegeEscalation is not false");
                Assert.Contains("ALL", context?["capabilities"]?["drop"]?.AsArray().Select(Text) ?? []);
                if (!WritableRootImages.Any(image.Contains))
                    Assert.True(Text(context?["readOnlyRootFilesystem"]) is "true" or "True", $"{what}: the root file system is writable");
            }
        }
    }

    [Fact]
    public void Network_policies_select_real_pods_and_keep_remoting_the_broker_and_the_database_to_their_clients()
    {
        var objects = Rendered("base");
        var pods = Pods(objects).ToList();
        var policies = objects.Where(o => Text(o["kind"]) == "NetworkPolicy").ToDictionary(o => Text(o["metadata"]!["name"])!);
        bool Selects(JsonNode selector, JsonObject labels) =>
            selector["matchLabels"]?.AsObject().All(l => Text(labels[l.Key]) == Text(l.Value)) ?? true;
        string[] Selected(JsonNode selector) => pods.Where(p => Selects(selector, p.Labels)).Select(p => p.Workload).Order().ToArray();

        Assert.Equal(["DaemonSet/bee", "StatefulSet/lighthouse", "StatefulSet/queen"], Selected(policies["swarm-members"]["spec"]!["podSelector"]!));
        Assert.Equal(["StatefulSet/mosquitto"], Selected(policies["mosquitto"]["spec"]!["podSelector"]!));
        Assert.Equal(["StatefulSet/postgres"], Selected(policies["postgres"]["spec"]!["podSelector"]!));

        var remoting = policies["swarm-members"]["spec"]!["ingress"]!.AsArray().Single(r => Text(r!["ports"]![0]!["port"]) == "akka")!;
        Assert.Equal(["DaemonSet/bee", "StatefulSet/lighthouse", "StatefulSet/queen"], Selected(remoting["from"]![0]!["podSelector"]!));
        Assert.Equal(["DaemonSet/bee", "StatefulSet/lighthouse", "StatefulSet/queen"],
            Selected(policies["mosquitto"]["spec"]!["ingress"]![0]!["from"]![0]!["podSelector"]!));
        Assert.Equal(["StatefulSet/queen"], Selected(policies["postgres"]["spec"]!["ingress"]![0]!["from"]![0]!["podSelector"]!));
        // Every port a policy names is one the selected pods declare.
        foreach (var (policy, spec) in policies.Select(p => (p.Key, p.Value["spec"]!)))
        foreach (var rule in spec["ingress"]!.AsArray())
        foreach (var port in rule!["ports"]!.AsArray().Select(p => Text(p!["port"])))
        foreach (var (workload, pod, _) in pods.Where(p => Selects(spec["podSelector"]!, p.Labels)))
            Assert.True(Containers(pod, withInit: false).Any(c => c["ports"]?.AsArray().Any(p => Text(p!["name"]) == port) == true),
                $"policy {policy}: {workload} declares no port '{port}'");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Each_pod_mounts_only_its_own_identity_and_the_operator_key_is_never_in_the_cluster(string overlay)
    {
        var yaml = Manifests.Render(Manifests.K8s(overlay.Split('/')));
        Assert.DoesNotContain("operator.key", yaml);
        Assert.DoesNotContain("swarm-mqtt-clients", yaml); // the old Secret that held every key
        foreach (var (workload, pod, _) in Pods(Manifests.Objects(yaml)))
        {
            var secrets = pod["volumes"]?.AsArray().Where(v => v!["secret"] is not null)
                .ToDictionary(v => Text(v!["name"])!, v => Text(v!["secret"]!["secretName"])!) ?? [];
            foreach (var container in Containers(pod, withInit: false))
            foreach (var mount in container["volumeMounts"]?.AsArray() ?? [])
            {
                // The bees' shared Secret is for the init container that picks this node's pair out of it.
                Assert.False(secrets.GetValueOrDefault(Text(mount!["name"])!) == "swarm-mqtt-bees",
                    $"{overlay} {workload} {container["name"]}: mounts every bee's key");
            }
            var roleSecrets = secrets.Values.Where(s => s.StartsWith("swarm-cluster-")).ToList();
            Assert.True(roleSecrets.Count <= 1, $"{overlay} {workload}: more than one cluster identity: {string.Join(", ", roleSecrets)}");
        }
    }
}
