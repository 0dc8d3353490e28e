namespace Swarm.Mqtt;

/// <summary>
/// Tells the first copy of a message heard through several brokers from the copies bridged brokers hand over too, each
/// in its own time. The k-th copy of a (topic, payload) from one broker is new only if no broker has delivered k copies
/// of it yet: the same <c>watch</c> sent twice is applied twice, and "A" then "B" on one broker followed by the bridged,
/// late "A" on the other does not undo "B". A message is remembered for <see cref="Memory"/> after its last copy (a
/// broker that missed it while down must not have its next one taken for a copy), at most <see cref="Capacity"/> of them.
/// </summary>
internal sealed class CopyFilter(int brokers)
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan Memory = TimeSpan.FromMinutes(5);
    private readonly Dictionary<(string Topic, ulong Hash), Seen> _seen = [];

    /// <summary>How many messages are remembered.</summary>
    public int Count
    {
        get { lock (_seen) return _seen.Count; }
    }

    private sealed class Seen(int brokers)
    {
        public readonly int[] Copies = new int[brokers];
        public int Most;
        public DateTime Last;
    }

    /// <summary>Whether this message, from broker <paramref name="broker"/>, is one not yet handed over.</summary>
    public bool FirstCopy(int broker, string topic, byte[] payload, DateTime? now = null)
    {
        var at = now ?? DateTime.UtcNow;
        var key = (topic, System.IO.Hashing.XxHash3.HashToUInt64(payload));
        lock (_seen)
        {
            if (!_seen.TryGetValue(key, out var seen) || at - seen.Last > Memory)
            {
                if (_seen.Count >= Capacity) Forget(at);
                _seen[key] = seen = new Seen(brokers);
            }
            seen.Last = at;
            var k = ++seen.Copies[broker];
            if (k <= seen.Most) return false;
            seen.Most = k;
            return true;
        }
    }

    private void Forget(DateTime now)
    {
        foreach (var (key, seen) in _seen)
            if (now - seen.Last > Memory) _seen.Remove(key);
        // A flood of distinct messages within the memory: start again rather than grow (a late copy may then pass).
        if (_seen.Count >= Capacity) _seen.Clear();
    }
}
