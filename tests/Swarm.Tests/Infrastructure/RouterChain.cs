using System.Net;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A path of the test's own: a bee namespace, <c>N</c> router namespaces (forwarding on, routes set) and a target
/// namespace in a line, link <c>k</c> on 10.66.k.0/24 (node k is .1, node k+1 is .2). Router i answers Time Exceeded
/// from 10.66.(i-1).2. Routers and the target do not rate-limit ICMP errors (Linux does, 1/s with a burst of 6, per
/// peer), so every probe that reaches one is answered; faults are
/// nftables rules. Nothing here is reachable from this namespace. Removed on dispose.
/// </summary>
public sealed class RouterChain : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 200);
    private readonly List<string> _namespaces = [];

    private RouterChain(int n, int routers)
    {
        Routers = routers;
        var prefix = $"swarm-c{Environment.ProcessId % 10000}-{n}";
        _namespaces.Add($"{prefix}-bee");
        for (var i = 1; i <= routers; i++) _namespaces.Add($"{prefix}-r{i}");
        _namespaces.Add($"{prefix}-target");
    }

    public int Routers { get; }
    public string Bee => _namespaces[0];
    public string Router(int i) => _namespaces[i];
    public IPAddress Target => IPAddress.Parse($"10.66.{Routers}.2");

    /// <summary>The address hop <paramref name="hop"/> answers from (the last hop is the target).</summary>
    public IPAddress HopAddress(int hop) => IPAddress.Parse($"10.66.{hop - 1}.2");

    public static async Task<(RouterChain? Chain, string? Reason)> TryCreateAsync(int routers)
    {
        var chain = new RouterChain(Interlocked.Increment(ref _next) % 250, routers);
        try
        {
            await TestNetwork.Run("ip", "netns", "add", chain._namespaces[0]);
        }
        catch (InvalidOperationException e)
        {
            return (null, $"cannot create a network namespace here ({e.Message.Trim()}); run the tests as root");
        }
        try
        {
            foreach (var ns in chain._namespaces.Skip(1)) await TestNetwork.Run("ip", "netns", "add", ns);
            foreach (var ns in chain._namespaces) await In(ns, "ip", "link", "set", "lo", "up");
            for (var k = 0; k <= routers; k++)
            {
                // Link k joins node k (its e1) and node k+1 (its e0); names are per namespace, so they never collide.
                var (left, right) = (chain._namespaces[k], chain._namespaces[k + 1]);
                await TestNetwork.Run("ip", "link", "add", "e1", "netns", left, "type", "veth", "peer", "name", "e0", "netns", right);
                await In(left, "ip", "addr", "add", $"10.66.{k}.1/24", "dev", "e1");
                await In(right, "ip", "addr", "add", $"10.66.{k}.2/24", "dev", "e0");
                await In(left, "ip", "link", "set", "e1", "up");
                await In(right, "ip", "link", "set", "e0", "up");
            }
            await In(chain.Bee, "ip", "route", "add", "default", "via", "10.66.0.2");
            for (var i = 1; i <= routers; i++)
            {
                var ns = chain.Router(i);
                await In(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.icmp_ratelimit=0");
                if (i < routers) await In(ns, "ip", "route", "add", "default", "via", $"10.66.{i}.2");
                for (var k = 0; k < i - 1; k++) await In(ns, "ip", "route", "add", $"10.66.{k}.0/24", "via", $"10.66.{i - 1}.1");
            }
            await In(chain._namespaces[^1], "ip", "route", "add", "default", "via", $"10.66.{routers}.1");
            // The target's Port Unreachable (how a UDP path ends) is an ICMP error too: not rate-limited here either.
            await In(chain._namespaces[^1], "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0");
            return (chain, null);
        }
        catch (Exception)
        {
            await chain.DisposeAsync();
            throw;
        }
    }

    /// <summary>Drops every <paramref name="nth"/> packet router <paramref name="i"/> sends on toward the target (exactly 1 in n: no luck involved).</summary>
    public Task DropLeavingAsync(int i, int nth) =>
        In(Router(i), "nft", $"add table inet swarmtest; add chain inet swarmtest passing {{ type filter hook forward priority 0 ; }}; " +
                             $"add rule inet swarmtest passing oifname \"e1\" numgen inc mod {nth} == 0 drop");

    /// <summary>
    /// Router <paramref name="i"/> answers Network Unreachable for <paramref name="address"/> (a route it refuses, as a
    /// firewall would; the kernel's own "no route" answers are rate-limited by a machine-wide setting).
    /// </summary>
    public async Task RejectAsync(int i, IPAddress address)
    {
        await In(Router(i), "ip", "route", "add", $"{address}/32", "via", $"10.66.{i}.2");
        await In(Router(i), "nft", "add table inet swarmreject; add chain inet swarmreject passing { type filter hook forward priority 0 ; }; " +
                                   $"add rule inet swarmreject passing ip daddr {address} reject with icmp type net-unreachable");
    }

    /// <summary>Gives the target <paramref name="count"/> more addresses on its link (10.66.N.10 and up): as many targets, one path.</summary>
    public async Task<IReadOnlyList<IPAddress>> AddTargetAddressesAsync(int count)
    {
        var added = Enumerable.Range(10, count).Select(i => IPAddress.Parse($"10.66.{Routers}.{i}")).ToList();
        foreach (var address in added) await In(_namespaces[^1], "ip", "addr", "add", $"{address}/24", "dev", "e0");
        return added;
    }

    /// <summary>Router <paramref name="i"/> stops answering Time Exceeded: a hop with no address, as many real routers are.</summary>
    public Task SilenceAsync(int i) =>
        In(Router(i), "nft", "add table inet swarmquiet; add chain inet swarmquiet out { type filter hook output priority 0 ; }; " +
                             "add rule inet swarmquiet out icmp type time-exceeded drop");

    public Task<(int Exit, string Output)> RunInBeeAsync(params string[] command) => TestNetwork.RunInAsync(Bee, command);

    private static Task In(string ns, params string[] command) => TestNetwork.Run("ip", ["netns", "exec", ns, .. command]);

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in _namespaces)
            try { await TestNetwork.Run("ip", "netns", "del", ns); } catch (InvalidOperationException) { }
    }
}
