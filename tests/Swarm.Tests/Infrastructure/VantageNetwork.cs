using System.Net;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A small internet of the test's own: a <c>world</c> namespace routes between bee namespaces (10.88.k.2, one link
/// each) and target namespaces (10.89.k.2, whose kernels answer echoes), and masquerades what it sends on to this
/// namespace over 198.20.n.0/30, where a broker listens on <see cref="Outside"/>. Faults are nftables rules: a share
/// of a target's echo replies dropped, or a share of everything on a bee's link. Removed on dispose.
/// </summary>
public sealed class VantageNetwork : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 200);
    private readonly int _n;
    private readonly List<string> _namespaces = [];
    private readonly List<string> _links = []; // host-side links of this namespace, deleted on dispose

    private VantageNetwork(int n)
    {
        _n = n;
        World = $"swarm-w{Environment.ProcessId % 10000}-{n}";
        Outside = IPAddress.Parse($"198.20.{n}.1");
    }

    public string World { get; }

    /// <summary>This namespace's end of the world's uplink: where the bees' broker listens.</summary>
    public IPAddress Outside { get; }

    public IReadOnlyList<string> Bees { get; private set; } = [];

    public IReadOnlyList<string> Targets { get; private set; } = [];

    public IPAddress TargetAddress(int k) => IPAddress.Parse($"10.89.{k + 1}.2");

    public static async Task<(VantageNetwork? Network, string? Reason)> TryCreateAsync(int bees, int targets)
    {
        var net = new VantageNetwork(Interlocked.Increment(ref _next) % 250);
        try
        {
            await Run("ip", "netns", "add", net.World);
        }
        catch (InvalidOperationException e)
        {
            return (null, $"cannot create a network namespace here ({e.Message.Trim()}); run the tests as root");
        }
        net._namespaces.Add(net.World);
        try
        {
            var tag = $"{Environment.ProcessId % 1000}x{net._n}";
            await In(net.World, "ip", "link", "set", "lo", "up");
            await In(net.World, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            // Uplink: this namespace <-> world, masqueraded so that this namespace needs no route to the bees.
            await Run("ip", "link", "add", $"swu{tag}h", "type", "veth", "peer", "name", $"swu{tag}w");
            net._links.Add($"swu{tag}h");
            await Run("ip", "link", "set", $"swu{tag}w", "netns", net.World);
            await Run("ip", "addr", "add", $"{net.Outside}/30", "dev", $"swu{tag}h");
            await Run("ip", "link", "set", $"swu{tag}h", "up");
            await In(net.World, "ip", "addr", "add", $"198.20.{net._n}.2/30", "dev", $"swu{tag}w");
            await In(net.World, "ip", "link", "set", $"swu{tag}w", "up");
            await In(net.World, "nft",
                $"add table ip nat; add chain ip nat post {{ type nat hook postrouting priority 100 ; }}; add rule ip nat post oifname \"swu{tag}w\" masquerade");
            net.Bees = await Leaves(net, tag, "b", "10.88", bees);
            net.Targets = await Leaves(net, tag, "t", "10.89", targets);
        }
        catch (Exception)
        {
            await net.DisposeAsync();
            throw;
        }
        return (net, null);
    }

    /// <summary>Namespaces hung off the world, each on a /30 of its own with a default route through it.</summary>
    private static async Task<IReadOnlyList<string>> Leaves(VantageNetwork net, string tag, string kind, string prefix, int count)
    {
        var names = new List<string>();
        for (var k = 0; k < count; k++)
        {
            var ns = $"swarm-{kind}{Environment.ProcessId % 10000}-{net._n}-{k}";
            await Run("ip", "netns", "add", ns);
            net._namespaces.Add(ns);
            var (w, leaf) = ($"sw{kind}{tag}w{k}", $"sw{kind}{tag}l{k}");
            await In(net.World, "ip", "link", "add", w, "type", "veth", "peer", "name", leaf);
            await In(net.World, "ip", "link", "set", leaf, "netns", ns);
            await In(net.World, "ip", "addr", "add", $"{prefix}.{k + 1}.1/30", "dev", w);
            await In(net.World, "ip", "link", "set", w, "up");
            await In(ns, "ip", "addr", "add", $"{prefix}.{k + 1}.2/30", "dev", leaf);
            await In(ns, "ip", "link", "set", leaf, "up");
            await In(ns, "ip", "link", "set", "lo", "up");
            await In(ns, "ip", "route", "add", "default", "via", $"{prefix}.{k + 1}.1");
            names.Add(ns);
        }
        return names;
    }

    /// <summary>Target <paramref name="k"/> drops <paramref name="percent"/> % of the echo replies it sends, at random.</summary>
    public Task DropTargetRepliesAsync(int k, int percent) =>
        In(Targets[k], "nft", $"add table inet fault; add chain inet fault out {{ type filter hook output priority 0 ; }}; " +
                              $"add rule inet fault out icmp type echo-reply numgen random mod 100 < {percent} drop");

    /// <summary>Bee <paramref name="k"/>'s link drops <paramref name="percent"/> % of everything, both ways, at random.</summary>
    public Task DropOnBeeLinkAsync(int k, int percent) =>
        In(Bees[k], "nft", "add table inet fault; " +
                           "add chain inet fault in { type filter hook input priority 0 ; }; add chain inet fault out { type filter hook output priority 0 ; }; " +
                           $"add rule inet fault in numgen random mod 100 < {percent} drop; add rule inet fault out numgen random mod 100 < {percent} drop");

    /// <summary>Every fault gone.</summary>
    public async Task ClearFaultsAsync()
    {
        foreach (var ns in Bees.Concat(Targets))
        {
            try { await In(ns, "nft", "delete table inet fault"); } catch (InvalidOperationException) { } // had none
        }
    }

    private static Task In(string ns, params string[] command) => Run("ip", ["netns", "exec", ns, .. command]);

    private static Task Run(string file, params string[] args) => TestNetwork.Run(file, args);

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in Enumerable.Reverse(_namespaces))
        {
            try { await Run("ip", "netns", "del", ns); } catch (InvalidOperationException) { }
        }
        foreach (var link in _links)
        {
            try { await Run("ip", "link", "del", link); } catch (InvalidOperationException) { } // gone with the namespace, usually
        }
    }
}
