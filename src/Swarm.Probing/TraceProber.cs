using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Swarm.Protocol;

namespace Swarm.Probing;

/// <summary>
/// The path to a target, hop by hop, as mtr measures it (<c>trace://host</c>): each round sends <c>Count</c> probes at
/// every TTL from 1 up to the target (or <c>?max=</c>), ICMP echoes by default or UDP datagrams to closed ports
/// (<c>?proto=udp</c>), and reads who answers: routers with Time Exceeded, the target with its echo reply or Port
/// Unreachable. A router that never answers is a hop with no address (mtr's <c>???</c>); the round still completes.
/// One raw ICMP socket per family serves every round, its reader matching each answer to its probe by the
/// identifier and sequence (or UDP ports) quoted inside it; this needs raw sockets (root or CAP_NET_RAW).
/// </summary>
/// <param name="reverse">Names hop addresses (PTR lookups through the system's resolver); null: addresses only.</param>
public sealed class TraceProber(ProbePacer pacer, AddressPolicy? policy = null, Func<IPAddress, CancellationToken, Task<string?>>? reverse = null)
    : IProber, IDisposable
{
    public const string Kind = ProbeTarget.Trace;
    private const int UdpBasePort = 33434; // traceroute's
    private const int PayloadLength = 24;
    private const int UdpPorts = 30_000; // destination ports 33434 and up, one per probe of a round

    private readonly ushort _ident = (ushort)Random.Shared.Next(1, ushort.MaxValue);

    /// <summary>The echo identifier of this prober's ICMP probes (tests build answers with it).</summary>
    internal ushort Ident => _ident;
    private readonly ConcurrentDictionary<int, Probe> _pending = new();                   // ICMP probes, by sequence
    private readonly ConcurrentDictionary<(int Source, int Target), Probe> _udp = new();  // UDP probes, by their ports
    private readonly Lock _sendLock = new();
    private readonly Lock _openLock = new();
    private readonly CancellationTokenSource _closing = new();
    private Channel? _v4, _v6;
    private int _sequence;

    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var parsed = ProbeTarget.Parse(target) is { Kind: Kind } p ? p : throw new ArgumentException($"not a trace:// target: {target}");
        var (address, resolveMs, error) = await HostResolver.ResolveAsync(parsed.Host, Kind, policy ?? AddressPolicy.Default, cancellationToken, parsed.Family);
        if (address is null) return ProbeOutcome.Failed(target, Kind, error!, resolveMs);
        Channel channel;
        try { channel = ChannelFor(address.AddressFamily); }
        catch (SocketException e)
        {
            return ProbeOutcome.Failed(target, Kind, $"a path needs a raw ICMP socket, which this process may not open ({e.SocketErrorCode}): " +
                                                     "run the bee as root or grant it CAP_NET_RAW", resolveMs);
        }

        var udp = parsed.Protocol == "udp";
        var hops = Enumerable.Range(0, parsed.MaxHops + 1).Select(_ => new HopTally()).ToArray();
        var reachedAt = parsed.MaxHops + 1;
        var endsAt = parsed.MaxHops + 1; // a router said the target is unreachable from there
        string? unreachable = null;
        var nextPort = 0;
        var waits = new List<Task>();
        var start = Stopwatch.GetTimestamp();
        Socket? sender = null;
        try
        {
            // A socket of the round's own: its port and each probe's destination port name the probe, and no other round's.
            if (udp)
            {
                sender = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                sender.Bind(new IPEndPoint(address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
            }
        }
        catch (SocketException e)
        {
            sender?.Dispose();
            return ProbeOutcome.Failed(target, Kind, $"no UDP socket for the path ({e.SocketErrorCode})", resolveMs);
        }
        using var _ = sender;
        int End()
        {
            lock (hops) return Math.Min(reachedAt, endsAt);
        }
        for (var cycle = 0; cycle < settings.Count; cycle++)
        {
            var due = settings.Spacing * cycle - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken);
            for (var ttl = 1; ttl <= Math.Min(parsed.MaxHops, End()); ttl++)
            {
                // The budget counts every probe; the spacing is per hop, so each router sees at most one probe per spacing.
                await pacer.WaitTurnAsync(IcmpEngine.Key(address) ^ (UInt128)ttl << 120, cancellationToken);
                var probe = Send(channel, sender, address, ttl, sender is null ? 0 : UdpBasePort + nextPort++ % UdpPorts);
                var hop = ttl;
                hops[hop].Sent++;
                waits.Add(Await(probe, settings.Timeout, cancellationToken).ContinueWith(t =>
                {
                    if (!t.IsCompletedSuccessfully || t.Result is not { } reply) return;
                    lock (hops)
                    {
                        hops[hop].Add(reply.From, reply.RttMs);
                        if (reply.Reached) reachedAt = Math.Min(reachedAt, hop);
                        else if (reply.Unreachable && hop < endsAt) (endsAt, unreachable) = (hop, reply.From.ToString());
                    }
                }, TaskScheduler.Default));
            }
        }
        await Task.WhenAll(waits);
        cancellationToken.ThrowIfCancellationRequested();

        var reached = reachedAt <= parsed.MaxHops;
        var last = Math.Min(parsed.MaxHops, Math.Min(reachedAt, endsAt));
        if (!reached && endsAt > parsed.MaxHops) while (last > 0 && hops[last].Received == 0) last--; // the silence after the last answer is not hops
        // Every answer is in (the waits above include their tallying); names are asked all at once, not hop after hop.
        var path = (await Task.WhenAll(Enumerable.Range(1, last).Select(ttl => hops[ttl].ToInfoAsync(ttl, reverse, cancellationToken)))).ToList();
        var destination = reached ? hops[reachedAt] : null;
        var stats = RoundStats.Of(settings.Count, destination?.Rtts.Take(settings.Count).ToArray() ?? []);
        var info = new PathInfo
        {
            Protocol = udp ? "udp" : "icmp",
            Reached = reached,
            Hops = path,
            LossFrom = LossFrom(path, reached),
            DelayFrom = DelayFrom(path),
        };
        var failure = reached ? null
            : endsAt <= parsed.MaxHops ? $"{address} is unreachable: {unreachable} said so at hop {endsAt}"
            : path.Count == 0 ? $"no hop answered: {address} not reached within {parsed.MaxHops} hops"
            : $"{address} not reached within {parsed.MaxHops} hops; the path goes silent after hop {path.Count} ({path[^1].Address})";
        return new ProbeOutcome(target, Kind, address.ToString(), resolveMs, stats, failure) { Path = info };
    }

    /// <summary>
    /// The first hop from which every hop to the end loses probes: loss at one router that the hops after it do not
    /// show is that router rate-limiting its ICMP, not loss on the path (how mtr's output is read).
    /// </summary>
    internal static int? LossFrom(IReadOnlyList<HopInfo> hops, bool reached)
    {
        if (!reached || hops.Count == 0 || hops[^1].LossPercent == 0) return null;
        var from = hops.Count;
        for (var i = hops.Count - 1; i >= 0 && (hops[i].LossPercent > 0 || hops[i].Address is null); i--) from = i + 1;
        while (from < hops.Count && hops[from - 1].Address is null) from++; // a silent router is no evidence either way
        return from;
    }

    /// <summary>The first hop whose average RTT, and every later hop's, is 20 ms and half again above the best hop before it.</summary>
    internal static int? DelayFrom(IReadOnlyList<HopInfo> hops)
    {
        int? from = null;
        double? best = null;
        foreach (var hop in hops)
        {
            if (hop.AvgMs is not { } avg) continue;
            if (best is { } b && avg > b + Math.Max(20, b / 2))
            {
                from ??= hop.Hop;
                continue;
            }
            from = null; // back down: the jump was one router slow to answer, not the path
            best = Math.Min(best ?? avg, avg);
        }
        return from;
    }


    private static async Task<Reply?> Await(Probe probe, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try { return await probe.Done.Task.WaitAsync(timeout, cancellationToken); }
        catch (TimeoutException) { return null; }
        finally { probe.Forget(); }
    }

    /// <summary>Sends one probe at <paramref name="ttl"/>; the TTL is a socket option, so setting it and sending are one step.</summary>
    private Probe Send(Channel channel, Socket? udp, IPAddress address, int ttl, int udpPort)
    {
        Probe probe;
        if (udp is not null)
        {
            probe = new Probe(this, -1, address) { UdpPorts = (((IPEndPoint)udp.LocalEndPoint!).Port, udpPort) };
            _udp[probe.UdpPorts.Value] = probe; // known before it leaves: the answer may be read before SendTo returns
        }
        else
        {
            // A sequence no waiting probe holds (65,536 of them: more than any budget keeps waiting at once).
            int sequence;
            do sequence = (ushort)Interlocked.Increment(ref _sequence);
            while (!_pending.TryAdd(sequence, probe = new Probe(this, sequence, address)));
        }
        var v4 = address.AddressFamily == AddressFamily.InterNetwork;
        lock (_sendLock)
        {
            var socket = udp ?? channel.Socket;
            try
            {
                socket.Ttl = (short)ttl;
                probe.SentAt = Stopwatch.GetTimestamp();
                if (udp is not null)
                {
                    udp.SendTo(new byte[PayloadLength], new IPEndPoint(address, udpPort));
                }
                else
                {
                    Span<byte> packet = stackalloc byte[8 + PayloadLength];
                    packet.Clear();
                    packet[0] = v4 ? (byte)8 : (byte)128; // echo request
                    BinaryPrimitives.WriteUInt16BigEndian(packet[4..], _ident);
                    BinaryPrimitives.WriteUInt16BigEndian(packet[6..], (ushort)probe.Sequence);
                    if (v4) BinaryPrimitives.WriteUInt16BigEndian(packet[2..], IcmpEngine.Checksum(packet)); // the kernel sums ICMPv6
                    channel.Socket.SendTo(packet, new IPEndPoint(address, 0));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                probe.Done.TrySetResult(null); // no route, for one: lost, as mtr counts it
            }
        }
        return probe;
    }

    private Channel ChannelFor(AddressFamily family)
    {
        lock (_openLock)
        {
            if (family == AddressFamily.InterNetwork) return _v4 ??= Open(family);
            return _v6 ??= Open(family);
        }
    }

    private Channel Open(AddressFamily family)
    {
        var v4 = family == AddressFamily.InterNetwork;
        var socket = new Socket(family, SocketType.Raw, v4 ? ProtocolType.Icmp : ProtocolType.IcmpV6);
        try
        {
            socket.ReceiveBufferSize = 1 << 20;
        // Only what answers a probe: echo replies, Time Exceeded and Destination Unreachable (a set bit blocks a type).
        try
        {
            if (v4) socket.SetRawSocketOption(255, 1, BitConverter.GetBytes(~((1u << 0) | (1u << 3) | (1u << 11))));
            else
            {
                var filter = new byte[32];
                Array.Fill(filter, (byte)0xFF);
                foreach (var type in new[] { 1, 3, 129 }) filter[type / 8] &= (byte)~(1 << (type % 8));
                socket.SetRawSocketOption(58, 1, filter);
            }
        }
        catch (SocketException) { } // unfiltered: more to read, the same answers
            socket.Bind(new IPEndPoint(v4 ? IPAddress.Any : IPAddress.IPv6Any, 0)); // .NET reads only from a bound socket
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw;
        }
        var channel = new Channel(socket, family);
        _ = Task.Run(() => ReadAsync(channel));
        return channel;
    }

    private async Task ReadAsync(Channel channel)
    {
        var buffer = new byte[1500];
        var any = new IPEndPoint(channel.Family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_closing.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try { received = await channel.Socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _closing.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            var at = Stopwatch.GetTimestamp();
            var from = ((IPEndPoint)received.RemoteEndPoint).Address;
            try
            {
                // Anyone may send this socket anything: a packet that does not parse is dropped, and the reader goes on.
                if (Match(buffer.AsSpan(0, received.ReceivedBytes), channel.Family == AddressFamily.InterNetwork, from) is not { } answer) continue;
                var (sequence, reached, quoted, unreachableFrom) = answer;
                var probe = quoted.Ports is { } ports ? _udp.GetValueOrDefault(ports) : _pending.GetValueOrDefault(sequence);
                // The answer must be about this probe: to its destination.
                if (probe is null || (reached ? !from.Equals(probe.Destination) : !quoted.Address.Equals(probe.Destination))) continue;
                probe.Done.TrySetResult(new Reply(from, Math.Round(Stopwatch.GetElapsedTime(probe.SentAt, at).TotalMilliseconds, 3), reached, unreachableFrom));
            }
            catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException) { }
        }
    }

    /// <summary>
    /// Reads an ICMP message: an echo reply of ours, or an error quoting one of our probes. Returns the probe's
    /// sequence, whether the destination itself answered, and what the error quotes (destination, UDP ports).
    /// </summary>
    internal (int Sequence, bool Reached, (IPAddress Address, (int, int)? Ports) Quoted, bool Unreachable)? Match(ReadOnlySpan<byte> data, bool v4, IPAddress from)
    {
        if (v4)
        {
            var headerLength = (data.Length > 0 ? data[0] & 0x0F : 0) * 4;
            if (data.Length < 20 || headerLength < 20 || headerLength > data.Length) return null;
            data = data[headerLength..]; // a raw IPv4 socket hands over the IP header
        }
        if (data.Length < 8) return null;
        var type = data[0];
        var (echoReply, timeExceeded, unreachable, echoRequest) = v4 ? (0, 11, 3, 8) : (129, 3, 1, 128);
        if (type == echoReply)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(data[4..]) != _ident) return null;
            return (BinaryPrimitives.ReadUInt16BigEndian(data[6..]), true, (from, null), false);
        }
        if (type != timeExceeded && type != unreachable) return null;
        var inner = data[8..];
        IPAddress destination;
        int protocol;
        if (v4)
        {
            var headerLength = (inner.Length > 0 ? inner[0] & 0x0F : 0) * 4;
            if (inner.Length < 20 || inner[0] >> 4 != 4 || headerLength < 20 || headerLength > inner.Length) return null;
            protocol = inner[9];
            destination = new IPAddress(inner.Slice(16, 4));
            inner = inner[headerLength..];
        }
        else
        {
            if (inner.Length < 40 || inner[0] >> 4 != 6) return null;
            protocol = inner[6];
            destination = new IPAddress(inner.Slice(24, 16));
            inner = inner[40..];
        }
        if (inner.Length < 8) return null;
        // Port Unreachable from the destination is where a UDP trace ends; any other unreachable ends the path where it came from.
        var reached = type == unreachable && from.Equals(destination);
        var refused = type == unreachable && !reached; // a router on the way: the path ends there
        if (protocol == (v4 ? 1 : 58))
        {
            if (inner[0] != echoRequest || BinaryPrimitives.ReadUInt16BigEndian(inner[4..]) != _ident) return null;
            return (BinaryPrimitives.ReadUInt16BigEndian(inner[6..]), reached, (destination, null), refused);
        }
        if (protocol == 17)
        {
            var (source, target) = (BinaryPrimitives.ReadUInt16BigEndian(inner), BinaryPrimitives.ReadUInt16BigEndian(inner[2..]));
            if (target < UdpBasePort || target >= UdpBasePort + UdpPorts) return null;
            return (-1, reached, (destination, (source, target)), refused); // a UDP probe is known by its ports
        }
        return null;
    }

    public void Dispose()
    {
        _closing.Cancel();
        _v4?.Socket.Dispose();
        _v6?.Socket.Dispose();
    }

    private sealed record Channel(Socket Socket, AddressFamily Family);

    private sealed record Reply(IPAddress From, double RttMs, bool Reached, bool Unreachable);

    private sealed class Probe(TraceProber owner, int sequence, IPAddress destination)
    {
        public IPAddress Destination { get; } = destination;
        public int Sequence => sequence;
        public long SentAt;
        public (int Source, int Target)? UdpPorts { get; init; }
        public TaskCompletionSource<Reply?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Forget()
        {
            if (UdpPorts is { } ports) owner._udp.TryRemove(new KeyValuePair<(int, int), Probe>(ports, this));
            else owner._pending.TryRemove(new KeyValuePair<int, Probe>(sequence, this));
        }
    }

    /// <summary>What came back at one TTL: the answers' RTTs in arrival order, and who answered how often.</summary>
    private sealed class HopTally
    {
        public int Sent;
        public readonly List<double> Rtts = [];
        private readonly Dictionary<IPAddress, int> _from = [];

        public int Received => Rtts.Count;

        public void Add(IPAddress from, double rttMs)
        {
            Rtts.Add(rttMs);
            _from[from] = _from.GetValueOrDefault(from) + 1;
        }

        public async Task<HopInfo> ToInfoAsync(int hop, Func<IPAddress, CancellationToken, Task<string?>>? reverse, CancellationToken cancellationToken)
        {
            var ranked = _from.OrderByDescending(f => f.Value).Select(f => f.Key).ToList();
            var received = Math.Min(Received, Sent);
            var stats = RoundStats.Of(Sent, Rtts.Take(received).ToArray());
            string? name = null;
            if (reverse is not null && ranked.Count > 0)
            {
                try { name = await reverse(ranked[0], cancellationToken); }
                catch (Exception e) when (e is SocketException or TimeoutException or OperationCanceledException) { }
            }
            return new HopInfo
            {
                Hop = hop,
                Address = ranked.FirstOrDefault()?.ToString(),
                Others = ranked.Count > 1 ? ranked.Skip(1).Take(16).Select(a => a.ToString()).ToList() : null,
                Name = name is { Length: > 0 and <= 253 } ? name : null,
                Sent = Sent,
                Received = received,
                LossPercent = stats.LossPercent,
                LastMs = received > 0 ? Math.Round(Rtts[received - 1], 3) : null,
                AvgMs = stats.AvgMs,
                BestMs = stats.MinMs,
                WorstMs = stats.MaxMs,
                StddevMs = stats.StddevMs,
            };
        }
    }
}
