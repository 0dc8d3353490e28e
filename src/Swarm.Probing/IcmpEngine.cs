using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>Thrown at start-up when this process may open neither raw nor datagram ICMP sockets.</summary>
public sealed class IcmpUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Sends ICMP echo requests the way fping does: one socket per address family, one sender thread working through
/// a schedule of due echoes (paced by <see cref="ProbePacer"/>), one receiver thread per socket matching replies by
/// (address, sequence), timestamps from the monotonic clock. No process per probe, no socket or timer per echo.
/// </summary>
public sealed class IcmpEngine : IDisposable
{
    private const int HeaderLength = 8;
    private const int PayloadLength = 56; // ping's default: 64-byte ICMP packets
    private const int CookieLength = 8; // the first payload bytes: random per echo, a reply must bring them back
    private const int SolSocket = 1; // Linux SOL_SOCKET
    private const int SoRcvBufForce = 33; // Linux SO_RCVBUFFORCE
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // within 0.2 ms of a send, spin instead of sleeping

    private readonly ConcurrentDictionary<EchoKey, Pending> _pending = new();
    private readonly ConcurrentQueue<Round> _incoming = new();
    private readonly PriorityQueue<Echo, long> _due = new();
    private readonly PriorityQueue<(EchoKey Key, Pending Echo), long> _deadlines = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ushort _identifier = (ushort)Random.Shared.Next(1, ushort.MaxValue);
    private readonly ProbePacer _pacer;
    private readonly byte[] _packet = new byte[HeaderLength + PayloadLength];
    private readonly Lock _openLock = new();
    private readonly Thread _sender;
    private Channel? _v4;
    private volatile Channel? _v6;
    private ushort _sequence;
    private long _sent;
    private long _received;
    private long _forged;
    private long _faults;
    private int _receiving; // receive threads between reading a reply and crediting it
    private readonly byte[] _cookies = new byte[512 * CookieLength];
    private int _cookieAt = 512 * CookieLength;
    private volatile string? _lastFault;

    /// <summary>"raw" or "datagram": the socket kind this process could open.</summary>
    public string SocketKind { get; }

    public ProbePacer Pacer => _pacer;

    /// <summary>Echo requests sent and replies matched since start.</summary>
    public (long Sent, long Received) Counters => (Interlocked.Read(ref _sent), Interlocked.Read(ref _received));

    /// <summary>Replies that matched an echo's address, identifier and sequence but not its cookie: spoofed, never credited.</summary>
    public long Forged => Interlocked.Read(ref _forged);

    /// <summary>Unexpected failures the send loop survived (each ends the round it hit with the reason), and the last one.</summary>
    public (long Count, string? Last) Faults => (Interlocked.Read(ref _faults), _lastFault);

    /// <summary>For tests: runs before each send, so a test can make the send loop meet an unexpected exception.</summary>
    internal Action<IPAddress>? BeforeSend { get; set; }

    /// <summary>For tests: runs on a receive thread before it reads, so a test can hold it off the CPU as a busy machine would.</summary>
    internal Action? BeforeReceive { get; set; }

    private IcmpEngine(string socketKind, ProbeLimits limits)
    {
        SocketKind = socketKind;
        _pacer = new ProbePacer(limits);
        for (var i = HeaderLength; i < _packet.Length; i++) _packet[i] = (byte)i;
        _sender = new Thread(SendLoop) { IsBackground = true, Name = "icmp-send" };
    }

    /// <summary>Opens the engine, preferring raw sockets and falling back to unprivileged datagram ICMP sockets.</summary>
    public static IcmpEngine Open(ProbeLimits? limits = null)
    {
        var engine = new IcmpEngine(ProbeSocketKind(), limits ?? new ProbeLimits());
        engine._v4 = engine.OpenChannel(AddressFamily.InterNetwork);
        engine._sender.Start();
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
    public async Task<double?> EchoAsync(IPAddress address, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (await RoundAsync(address, 1, TimeSpan.Zero, timeout, cancellationToken)).Rtts[0];

    /// <summary>
    /// Sends <paramref name="count"/> echoes, the i-th due at start + i × <paramref name="spacing"/> (later if the pacer
    /// says so), each waiting up to <paramref name="timeout"/> for its reply. A reply that comes later is lost for good.
    /// </summary>
    public Task<RoundReplies> RoundAsync(IPAddress address, int count, TimeSpan spacing, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var channel = ChannelFor(address.AddressFamily);
        var round = new Round(channel, address, count, spacing, timeout);
        if (cancellationToken.CanBeCanceled)
            round.Registration = cancellationToken.Register(() => round.Done.TrySetCanceled(cancellationToken));
        _incoming.Enqueue(round);
        _wake.Set();
        return round.Done.Task;
    }

    private void SendLoop()
    {
        var spin = new SpinWait();
        while (!_stopping.IsCancellationRequested)
        {
            while (_incoming.TryDequeue(out var round)) Plan(round);
            var now = Stopwatch.GetTimestamp();
            ExpireDeadlines(now);

            if (_due.TryPeek(out var echo, out var due) && due <= now + SpinTicks)
            {
                if (due > now)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                _due.Dequeue();
                if (echo.Round.Done.Task.IsCompleted) continue;
                try
                {
                    Send(echo, now);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Whatever went wrong, it went wrong for this echo: its round fails with the reason, the loop lives on.
                    Interlocked.Increment(ref _faults);
                    _lastFault = $"{e.GetType().Name}: {e.Message}";
                    echo.Round.Error ??= $"probe engine failed sending to {echo.Round.Address}: {e.Message}";
                    echo.Round.Fail(echo.Index);
                }
                continue;
            }

            var next = long.MaxValue;
            if (_due.TryPeek(out _, out var nextDue)) next = nextDue - SpinTicks;
            if (_deadlines.TryPeek(out _, out var nextDeadline)) next = Math.Min(next, nextDeadline);
            var waitMs = next == long.MaxValue ? 1000 : Math.Clamp((next - now) * 1000 / Stopwatch.Frequency, 0, 1000);
            if (waitMs > 0) _wake.WaitOne((int)waitMs);
        }
        _v4?.SenderReader.Dispose();
        _v6?.SenderReader.Dispose();
    }

    private void Plan(Round round)
    {
        var start = Stopwatch.GetTimestamp();
        var spacing = (long)(round.Spacing.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; i < round.Count; i++) _due.Enqueue(new Echo(round, i, Paced: false), start + i * spacing);
    }

    private void Send(Echo echo, long now)
    {
        var round = echo.Round;
        if (!echo.Paced)
        {
            var slot = _pacer.Reserve(round.Target, now);
            if (slot > now + SpinTicks)
            {
                _due.Enqueue(echo with { Paced = true }, slot);
                return;
            }
        }

        BeforeSend?.Invoke(round.Address);
        var seq = unchecked(++_sequence);
        var key = new EchoKey(round.Target, seq);
        var pending = new Pending(round, echo.Index, Cookie());
        if (!_pending.TryAdd(key, pending))
        {
            // 65,536 echoes to one address inside one timeout: impossible under any pacing, but never misattribute.
            round.Complete(echo.Index, null);
            return;
        }
        WriteEchoRequest(round.Channel.Family, seq, pending.Cookie);
        try
        {
            pending.SentAt = Stopwatch.GetTimestamp();
            if (round.Channel.Io.SendTo(_packet, round.SocketAddress, ref pending.SentNs) is { } error)
            {
                // No route, a refused send: a lost echo with a reason, not a crash.
                _pending.TryRemove(key, out _);
                round.Error ??= $"send to {round.Address} failed: {error}";
                round.Complete(echo.Index, null);
                return;
            }
            Interlocked.Increment(ref _sent);
            _deadlines.Enqueue((key, pending), pending.SentAt + round.TimeoutTicks);
        }
        catch (Exception)
        {
            _pending.TryRemove(key, out _); // the send loop fails this echo; no reply may complete it twice
            throw;
        }
    }

    private void ExpireDeadlines(long now)
    {
        var drained = false;
        while (_deadlines.TryPeek(out var entry, out var deadline) && deadline <= now)
        {
            if (!drained && _pending.TryGetValue(entry.Key, out var waiting) && ReferenceEquals(waiting, entry.Echo))
            {
                // About to call an echo lost: first take the replies the kernel already holds, so that a receive
                // thread kept off the CPU cannot turn an answered echo into a lost one.
                drained = true;
                Drain(_v4!, _v4!.SenderReader);
                if (_v6 is { } v6) Drain(v6, v6.SenderReader);
                // A reply a receive thread has read but not yet credited is not in the socket any more: give it a
                // moment to finish (bounded: a thread held off the CPU longer loses the echo, as the kernel would).
                SpinWait.SpinUntil(() => Volatile.Read(ref _receiving) == 0, 10);
            }
            _deadlines.Dequeue();
            // Removed here, so a late reply finds nothing and can never be credited to a later echo or round.
            if (_pending.TryRemove(new KeyValuePair<EchoKey, Pending>(entry.Key, entry.Echo)))
                entry.Echo.Round.Complete(entry.Echo.Index, null);
        }
    }

    private Channel ChannelFor(AddressFamily family)
    {
        if (family == AddressFamily.InterNetwork) return _v4!;
        if (family != AddressFamily.InterNetworkV6) throw new ArgumentException($"not an IP address family: {family}");
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        lock (_openLock) return _v6 ??= OpenChannel(AddressFamily.InterNetworkV6);
    }

    private Channel OpenChannel(AddressFamily family)
    {
        var protocol = family == AddressFamily.InterNetwork ? ProtocolType.Icmp : ProtocolType.IcmpV6;
        var type = SocketKind == "raw" ? SocketType.Raw : SocketType.Dgram;
        var socket = new Socket(family, type, protocol) { ReceiveBufferSize = 4 << 20, SendBufferSize = 1 << 20 };
        // A raw ICMP socket gets a copy of every ICMP packet the host receives, and the kernel caps the size asked
        // above at net.core.rmem_max (~208 KiB): bursts then overflow it and replies are lost. With CAP_NET_ADMIN
        // (root) SO_RCVBUFFORCE lifts the cap; without it the capped buffer is what we get.
        try { socket.SetRawSocketOption(SolSocket, SoRcvBufForce, BitConverter.GetBytes(16 << 20)); }
        catch (SocketException) { }
        if (type == SocketType.Raw) OnlyEchoReplies(socket, family);
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
        var channel = new Channel(new IcmpSocket(socket), family);
        // A thread of its own, waiting on the socket: with the kernel's receive timestamp, how late this thread runs
        // no longer shows in any RTT (and the send loop reads what waits before it declares an echo lost).
        new Thread(() => ReceiveLoop(channel)) { IsBackground = true, Name = $"icmp-receive-{family}" }.Start();
        return channel;
    }

    /// <summary>
    /// A raw socket gets a copy of every ICMP packet the host receives (on loopback, our own requests too): the
    /// kernel's filter (ICMP_FILTER, ICMP6_FILTER) keeps all but echo replies out of its buffer and off our thread.
    /// Datagram ICMP sockets only ever get their own replies.
    /// </summary>
    private static void OnlyEchoReplies(Socket socket, AddressFamily family)
    {
        try
        {
            if (family == AddressFamily.InterNetwork)
            {
                socket.SetRawSocketOption(255 /* SOL_RAW */, 1 /* ICMP_FILTER */, BitConverter.GetBytes(~(1u << 0))); // a set bit blocks its type
            }
            else
            {
                var filter = new byte[32]; // 256 types, a set bit blocks
                Array.Fill(filter, (byte)0xFF);
                filter[129 / 8] &= unchecked((byte)~(1 << (129 % 8))); // ICMPv6 echo reply passes
                socket.SetRawSocketOption(58 /* IPPROTO_ICMPV6 */, 1 /* ICMP6_FILTER */, filter);
            }
        }
        catch (SocketException) { } // an unfiltered socket still works, it only reads more
    }

    private void ReceiveLoop(Channel channel)
    {
        using var reader = new IcmpSocket.Reader();
        while (!_stopping.IsCancellationRequested && channel.Io.Wait(250))
        {
            BeforeReceive?.Invoke();
            Interlocked.Increment(ref _receiving);
            try { Drain(channel, reader); }
            finally { Interlocked.Decrement(ref _receiving); }
        }
    }

    /// <summary>Takes every reply waiting on the channel's socket; both the receive thread and the send loop call it, each with its own reader.</summary>
    private void Drain(Channel channel, IcmpSocket.Reader reader)
    {
        while (reader.Read(channel.Io)) Take(channel, reader);
    }

    private void Take(Channel channel, IcmpSocket.Reader reader)
    {
        if (!TryReadEchoReply(reader.Data, channel.Family, out var id, out var seq, out var cookie)) return;
        if (SocketKind == "raw" && id != _identifier) return; // another process's echo (datagram sockets filter for us)
        var key = new EchoKey(AddressOf(channel.Family, reader.From), seq);
        if (!_pending.TryGetValue(key, out var pending)) return; // late or foreign
        if (cookie != pending.Cookie)
        {
            // Address, identifier and sequence are guessable; the cookie is not: a spoofed "up", left pending.
            Interlocked.Increment(ref _forged);
            return;
        }
        if (!_pending.TryRemove(new KeyValuePair<EchoKey, Pending>(key, pending))) return;
        var rtt = Rtt(pending, reader.ReceivedNs);
        if (rtt is not null) Interlocked.Increment(ref _received);
        pending.Round.Complete(pending.Index, rtt);
    }

    /// <summary>
    /// From just before the send to the kernel's receipt of the reply, both on the wall clock as fping does. The
    /// monotonic clock bounds it: read later than the kernel's stamp, it can only be longer, so a figure outside
    /// [0, that] means the wall clock stepped between the two, and the bound is the honest answer. A reply past the
    /// round's timeout is lost, however soon it was read.
    /// </summary>
    private static double? Rtt(Pending pending, long receivedNs)
    {
        var bound = Stopwatch.GetElapsedTime(pending.SentAt).TotalMilliseconds;
        var rtt = (receivedNs - Volatile.Read(ref pending.SentNs)) / 1e6;
        if (rtt < 0 || rtt > bound) rtt = bound;
        return rtt * Stopwatch.Frequency / 1000 > pending.Round.TimeoutTicks ? null : rtt;
    }

    private bool TryReadEchoReply(ReadOnlySpan<byte> data, AddressFamily family, out ushort id, out ushort seq, out ulong cookie)
    {
        id = seq = 0;
        cookie = 0;
        if (family == AddressFamily.InterNetwork && SocketKind == "raw")
        {
            // Raw IPv4 sockets hand us the IP header too; IPv6 raw and all datagram sockets do not.
            if (data.Length < 20) return false;
            data = data[((data[0] & 0x0F) * 4)..];
        }
        if (data.Length < HeaderLength + CookieLength) return false;
        var replyType = family == AddressFamily.InterNetwork ? 0 : 129;
        if (data[0] != replyType || data[1] != 0) return false;
        id = BinaryPrimitives.ReadUInt16BigEndian(data[4..]);
        seq = BinaryPrimitives.ReadUInt16BigEndian(data[6..]);
        cookie = BinaryPrimitives.ReadUInt64LittleEndian(data[HeaderLength..]);
        return true;
    }

    /// <summary>The next unpredictable cookie, from a block of the system's random bytes refilled every 512 echoes (send loop only).</summary>
    private ulong Cookie()
    {
        if (_cookieAt == _cookies.Length)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(_cookies);
            _cookieAt = 0;
        }
        var cookie = BinaryPrimitives.ReadUInt64LittleEndian(_cookies.AsSpan(_cookieAt));
        _cookieAt += CookieLength;
        return cookie;
    }

    private void WriteEchoRequest(AddressFamily family, ushort seq, ulong cookie)
    {
        var packet = _packet.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(packet[HeaderLength..], cookie);
        packet[0] = family == AddressFamily.InterNetwork ? (byte)8 : (byte)128;
        packet[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], _identifier);
        BinaryPrimitives.WriteUInt16BigEndian(packet[6..], seq);
        // The kernel fills in the ICMPv6 checksum (it covers a pseudo-header we cannot see); ICMPv4 is ours.
        if (family == AddressFamily.InterNetwork) BinaryPrimitives.WriteUInt16BigEndian(packet[2..], Checksum(packet));
    }

    internal static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (data.Length % 2 == 1) sum += (uint)(data[^1] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>An IP address as one 128-bit number: a cheap dictionary key, no allocation per reply.</summary>
    public static UInt128 Key(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4
            ? BinaryPrimitives.ReadUInt32BigEndian(bytes)
            : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    private static UInt128 AddressOf(AddressFamily family, ReadOnlySpan<byte> sockaddr) =>
        // sockaddr_in: family(2) port(2) addr(4); sockaddr_in6: family(2) port(2) flowinfo(4) addr(16).
        family == AddressFamily.InterNetwork
            ? BinaryPrimitives.ReadUInt32BigEndian(sockaddr[4..8])
            : BinaryPrimitives.ReadUInt128BigEndian(sockaddr[8..24]);

    public void Dispose()
    {
        _stopping.Cancel();
        _wake.Set();
        _v4?.Io.Dispose();
        _v6?.Io.Dispose();
    }

    /// <summary>One address family's socket; <see cref="SenderReader"/> is the send loop's own buffers for draining it.</summary>
    private sealed record Channel(IcmpSocket Io, AddressFamily Family)
    {
        public IcmpSocket.Reader SenderReader { get; } = new();
    }

    private readonly record struct EchoKey(UInt128 Address, ushort Seq);

    private readonly record struct Echo(Round Round, int Index, bool Paced);

    private sealed class Pending(Round round, int index, ulong cookie)
    {
        public readonly Round Round = round;
        public readonly int Index = index;
        public readonly ulong Cookie = cookie;
        public long SentAt; // monotonic: deadlines, and the bound on the RTT
        public long SentNs; // wall clock just before the send: the RTT's start, as the kernel's receive stamp is its end
    }

    private sealed class Round
    {
        private readonly double?[] _rtts;
        private int _remaining;

        public Round(Channel channel, IPAddress address, int count, TimeSpan spacing, TimeSpan timeout)
        {
            Channel = channel;
            Address = address;
            Target = Key(address);
            SocketAddress = new IPEndPoint(address, 0).Serialize().Buffer.ToArray();
            Count = count;
            Spacing = spacing;
            TimeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            _rtts = new double?[count];
            _remaining = count;
        }

        public Channel Channel { get; }
        public IPAddress Address { get; }
        public UInt128 Target { get; }
        /// <summary>The target as a sockaddr, for sendto.</summary>
        public byte[] SocketAddress { get; }
        public int Count { get; }
        public TimeSpan Spacing { get; }
        public long TimeoutTicks { get; }
        public string? Error { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
        public TaskCompletionSource<RoundReplies> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The echo at <paramref name="index"/> was never sent: lost.</summary>
        public void Fail(int index) => Complete(index, null);

        public void Complete(int index, double? rtt)
        {
            _rtts[index] = rtt;
            if (Interlocked.Decrement(ref _remaining) != 0) return;
            Registration.Dispose();
            Done.TrySetResult(new RoundReplies(_rtts, Error));
        }
    }
}

/// <summary>The RTT of each echo of a round in send order (null: lost), and why sends failed, if they did.</summary>
public sealed record RoundReplies(IReadOnlyList<double?> Rtts, string? Error);
