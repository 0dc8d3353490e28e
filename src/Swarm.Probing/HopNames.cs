using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>
/// Reverse names of path hops, through the system's resolver, as mtr shows them: at most a second per lookup, and each
/// answer (a name, or none) kept for an hour, so a path probed every round costs its lookups once an hour.
/// </summary>
public static class HopNames
{
    private const int MostKept = 10_000;
    private static readonly TimeSpan Keep = TimeSpan.FromHours(1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(1);
    private static readonly ConcurrentDictionary<IPAddress, (string? Name, DateTime Until)> Known = new();

    public static async Task<string?> LookupAsync(IPAddress address, CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        if (Known.TryGetValue(address, out var known) && known.Until > now) return known.Name;
        string? name = null;
        try
        {
            var entry = await Dns.GetHostEntryAsync(address.ToString(), cancellationToken).WaitAsync(Wait, cancellationToken);
            name = entry.HostName == address.ToString() ? null : entry.HostName.TrimEnd('.').ToLowerInvariant();
        }
        catch (Exception e) when (e is SocketException or TimeoutException or ArgumentException) { }
        if (Known.Count >= MostKept) Known.Clear(); // rare: a swarm of paths through ten thousand routers
        Known[address] = (name, now + Keep);
        return name;
    }
}
