using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>Thrown at start-up when this process may open neither raw nor datagram ICMP sockets.</summary>
public sealed class IcmpUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Sends ICMP echo requests over one socket per address family and matches replies by (address, sequence),
/// as fping does: no process per probe, no socket per echo, timestamps from the monotonic clock.
/// </summary>
public sealed class IcmpEngine : IDisposable
{
    private const int HeaderLength = 8;
    private const int PayloadLength = 56; // ping's default: 64-byte ICMP packets
    private readonly ConcurrentDictionary<(IPAddress Address, ushort Seq), PendingEcho> _pending = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ushort _identifier = (ushort)Random.Shared.Next(1, ushort.MaxValue);
    private readonly Lock _openLock = new();
    private Channel? _v4;
    private Channel? _v6;
    private int _sequence;

    /// <summary>"raw" or "datagram": the socket kind this process could open.</summary>
    public string SocketKind { get; }

    private IcmpEngine(string socketKind) => SocketKind = socketKind;

    /// <summary>Opens the engine, preferring raw sockets and falling back to unprivileged datagram ICMP sockets.</summary>
    public static IcmpEngine Open()
    {
        var engine = new IcmpEngine(ProbeSocketKind());
        engine._v4 = engine.OpenChannel(AddressFamily.InterNetwork);
        return engine;
    }

    private static string ProbeSocketKind()
    {
        try
        {
            using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
            return "raw";
        }
        catch (SocketException rawError)
        {
            try
            {
                using var dgram = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Icmp);
                return "datagram";
            }
            catch (SocketException dgramError)
            {
                throw new IcmpUnavailableException(
                    "ICMP probing needs raw or datagram ICMP sockets and this process may open neither " +
                    $"(raw: {rawError.SocketErrorCode}, datagram: {dgramError.SocketErrorCode}). Fix one of: " +
                    "grant the capability (setcap cap_net_raw+ep on the binary, AmbientCapabilities=CAP_NET_RAW in systemd, " +
                    "securityContext.capabilities.add: [NET_RAW] in Kubernetes), or allow datagram ICMP for this group " +
                    "(sysctl -w net.ipv4.ping_group_range=\"0 2147483647\").", dgramError);
            }
        }
    }

    /// <summary>Sends one echo and returns its RTT in milliseconds, or null when no reply came within <paramref name="timeout"/>.</summary>
    public async Task<double?> EchoAsync(IPAddress address, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var channel = ChannelFor(address.AddressFamily);
        var seq = (ushort)Interlocked.Increment(ref _sequence);
        var pending = new PendingEcho();
        var key = (address, seq);
        if (!_pending.TryAdd(key, pending))
            throw new InvalidOperationException($"echo {seq} to {address} is already in flight");
        try
        {
            var packet = BuildEchoRequest(address.AddressFamily, seq);
            pending.SentAt = Stopwatch.GetTimestamp();
            // A synchronous send: an ICMP socket never blocks on it, and no scheduling delay lands between stamp and wire.
            channel.Socket.SendTo(packet, SocketFlags.None, new IPEndPoint(address, 0));
            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeoutSource.CancelAfter(timeout);
            await using var registration = timeoutSource.Token.Register(() => pending.Reply.TrySetResult(null));
            return await pending.Reply.Task;
        }
        catch (SocketException e)
        {
            // An unreachable network or a refused send is a lost echo, not a crash.
            pending.Reply.TrySetResult(null);
            pending.Error = e.SocketErrorCode.ToString();
            return null;
        }
        finally
        {
            // Removed before returning: a late reply finds nothing and can never be credited to a later round.
            _pending.TryRemove(key, out _);
        }
    }

    private Channel ChannelFor(AddressFamily family)
    {
        if (family == AddressFamily.InterNetwork) return _v4!;
        if (family != AddressFamily.InterNetworkV6) throw new ArgumentException($"not an IP address family: {family}");
        lock (_openLock) return _v6 ??= OpenChannel(AddressFamily.InterNetworkV6);
    }

    private Channel OpenChannel(AddressFamily family)
    {
        var protocol = family == AddressFamily.InterNetwork ? ProtocolType.Icmp : ProtocolType.IcmpV6;
        var type = SocketKind == "raw" ? SocketType.Raw : SocketType.Dgram;
        var socket = new Socket(family, type, protocol) { ReceiveBufferSize = 4 << 20, SendBufferSize = 1 << 20 };
        // .NET refuses ReceiveFrom on a socket it has not seen bound; the receive loop starts before the first send.
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
        var channel = new Channel(socket, family);
        // A thread of its own, blocking in ReceiveFrom: the reply is stamped the moment the kernel hands it over,
        // whatever the thread pool is doing. An await here put pool queueing delay into every RTT.
        new Thread(() => ReceiveLoop(channel)) { IsBackground = true, Name = $"icmp-receive-{family}" }.Start();
        return channel;
    }

    private void ReceiveLoop(Channel channel)
    {
        var buffer = new byte[65536];
        var any = new IPEndPoint(channel.Family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stopping.IsCancellationRequested)
        {
            EndPoint remote = any;
            int length;
            try
            {
                length = channel.Socket.ReceiveFrom(buffer, SocketFlags.None, ref remote);
            }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) when (_stopping.IsCancellationRequested) { return; }
            catch (SocketException) { continue; } // e.g. an ICMP error queued on the socket: not a reply
            var at = Stopwatch.GetTimestamp();
            var from = ((IPEndPoint)remote).Address;
            if (TryReadEchoReply(buffer.AsSpan(0, length), channel.Family, out var id, out var seq)
                && (SocketKind == "datagram" || id == _identifier)
                && _pending.TryGetValue((from, seq), out var pending))
            {
                pending.Reply.TrySetResult(Stopwatch.GetElapsedTime(pending.SentAt, at).TotalMilliseconds);
            }
        }
    }

    private bool TryReadEchoReply(ReadOnlySpan<byte> data, AddressFamily family, out ushort id, out ushort seq)
    {
        id = seq = 0;
        if (family == AddressFamily.InterNetwork && SocketKind == "raw")
        {
            // Raw IPv4 sockets hand us the IP header too; IPv6 raw and all datagram sockets do not.
            if (data.Length < 20) return false;
            data = data[((data[0] & 0x0F) * 4)..];
        }
        if (data.Length < HeaderLength) return false;
        var replyType = family == AddressFamily.InterNetwork ? 0 : 129;
        if (data[0] != replyType || data[1] != 0) return false;
        id = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        seq = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        return true;
    }

    private byte[] BuildEchoRequest(AddressFamily family, ushort seq)
    {
        var packet = new byte[HeaderLength + PayloadLength];
        packet[0] = family == AddressFamily.InterNetwork ? (byte)8 : (byte)128;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), _identifier);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), seq);
        for (var i = HeaderLength; i < packet.Length; i++) packet[i] = (byte)i;
        // The kernel fills in the ICMPv6 checksum (it covers a pseudo-header we cannot see); ICMPv4 is ours.
        if (family == AddressFamily.InterNetwork)
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), Checksum(packet));
        return packet;
    }

    internal static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (data.Length % 2 == 1) sum += (uint)(data[^1] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _v4?.Socket.Dispose();
        _v6?.Socket.Dispose();
    }

    private sealed record Channel(Socket Socket, AddressFamily Family);

    private sealed class PendingEcho
    {
        public readonly TaskCompletionSource<double?> Reply = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long SentAt;
        public string? Error;
    }
}
