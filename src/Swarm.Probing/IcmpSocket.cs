using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Swarm.Probing;

/// <summary>
/// One ICMP socket of the engine, read and written through Linux's own calls: .NET's <see cref="Socket"/> cannot hand
/// over the kernel's receive timestamp (<c>SO_TIMESTAMPNS</c>, read with <c>recvmsg</c>, as fping does). With it an RTT
/// runs from the moment the echo left to the moment the kernel took its reply in, however late a busy CPU lets the
/// receiving thread run.
/// </summary>
internal sealed unsafe partial class IcmpSocket : IDisposable
{
    private const int SolSocket = 1;
    private const int SoTimestampNs = 35; // SO_TIMESTAMPNS (_OLD): a struct timespec of two longs on 64-bit Linux
    private const int MsgDontWait = 0x40;
    private const short PollIn = 1;
    private const int EIntr = 4;
    private const int ClockRealtime = 0; // the clock SO_TIMESTAMPNS stamps with

    private readonly SafeHandle _handle;
    private readonly int _fd;

    public IcmpSocket(Socket socket)
    {
        Socket = socket;
        _handle = socket.SafeHandle;
        _fd = (int)_handle.DangerousGetHandle();
        try
        {
            socket.SetRawSocketOption(SolSocket, SoTimestampNs, BitConverter.GetBytes(1));
            KernelTimestamps = true;
        }
        catch (SocketException) { } // an old kernel: replies are stamped when read, as before
        // The first call of each path compiles it (JIT builds); done now, so no echo pays for it between its stamps.
        // With no address nothing can leave: a raw socket refuses (EDESTADDRREQ), a datagram one too (EINVAL); nothing waits to be read.
        long warm = 0;
        _ = SendTo([0], [], ref warm);
        using var reader = new Reader();
        _ = reader.Read(this);
        _ = Wait(0);
    }

    public Socket Socket { get; }

    /// <summary>Whether replies carry the kernel's receive timestamp (<c>SO_TIMESTAMPNS</c>).</summary>
    public bool KernelTimestamps { get; }

    /// <summary>The wall clock in nanoseconds, the clock the kernel stamps replies with.</summary>
    public static long RealtimeNs()
    {
        TimeSpec t;
        clock_gettime(ClockRealtime, &t);
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }

    /// <summary>
    /// Sends <paramref name="packet"/> to <paramref name="address"/> (a sockaddr), writing the wall clock to
    /// <paramref name="sentNs"/> just before the system call (a reply may be read before the call returns); returns
    /// null, or what the kernel said was wrong.
    /// </summary>
    public string? SendTo(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> address, ref long sentNs)
    {
        fixed (byte* p = packet)
        fixed (byte* a = address)
        {
            if (!Hold()) return "the socket is closed";
            try
            {
                Volatile.Write(ref sentNs, RealtimeNs());
                if (sendto(_fd, p, (nuint)packet.Length, 0, a, (uint)address.Length) >= 0) return null;
                return Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            }
            finally
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for something to read; false once the socket is closed.</summary>
    public bool Wait(int timeoutMs)
    {
        if (!Hold()) return false;
        try
        {
            var fd = new PollFd { Fd = _fd, Events = PollIn };
            _ = poll(&fd, 1, timeoutMs);
            return true;
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Holds the descriptor open for one call (release it after): closing the socket meanwhile defers the close, so
    /// the number can never be reused by another file under a call. False when the socket is already closed.
    /// </summary>
    private bool Hold()
    {
        var added = false;
        try { _handle.DangerousAddRef(ref added); }
        catch (ObjectDisposedException) { }
        return added;
    }

    public void Dispose() => Socket.Dispose();

    /// <summary>
    /// One thread's buffers for <c>recvmsg</c>: the datagram, the sender's address and the control messages. Each
    /// thread that reads the socket has its own, so the receive thread and the send loop (draining before it expires
    /// a deadline) never share one.
    /// </summary>
    public sealed class Reader : IDisposable
    {
        private const int BufferLength = 65536;
        private const int NameLength = 128;
        private const int ControlLength = 256;
        private readonly byte* _buffer = (byte*)NativeMemory.Alloc(BufferLength);
        private readonly byte* _name = (byte*)NativeMemory.Alloc(NameLength);
        private readonly byte* _control = (byte*)NativeMemory.AllocZeroed(ControlLength);
        private readonly IoVec* _iov = (IoVec*)NativeMemory.Alloc((nuint)sizeof(IoVec));
        private bool _disposed;

        public ReadOnlySpan<byte> Data => new(_buffer, Length);

        /// <summary>The sender's sockaddr, as the kernel wrote it.</summary>
        public ReadOnlySpan<byte> From => new(_name, NameLength);

        public int Length { get; private set; }

        /// <summary>When the kernel took the datagram in (wall clock, ns), or when it was read if the kernel said nothing.</summary>
        public long ReceivedNs { get; private set; }

        /// <summary>Reads one waiting datagram without blocking: true with one read, false when none waits (or the read failed).</summary>
        public bool Read(IcmpSocket socket)
        {
            if (!socket.Hold()) return false;
            try { return Read(socket._fd); }
            finally { socket._handle.DangerousRelease(); }
        }

        internal bool Read(int fd)
        {
            *_iov = new IoVec { Base = _buffer, Length = BufferLength };
            var msg = new MsgHdr { Name = _name, NameLength = NameLength, Iov = _iov, IovLength = 1, Control = _control, ControlLength = ControlLength };
            nint n;
            do n = recvmsg(fd, &msg, MsgDontWait);
            while (n < 0 && Marshal.GetLastPInvokeError() == EIntr);
            if (n < 0) return false;
            Length = (int)n;
            ReceivedNs = KernelStamp(&msg) ?? RealtimeNs();
            return true;
        }

        private static long? KernelStamp(MsgHdr* msg)
        {
            // CMSG_FIRSTHDR / CMSG_NXTHDR: headers aligned to sizeof(size_t); the data follows the aligned header.
            var align = (nuint)sizeof(nuint);
            var offset = (nuint)0;
            while (offset + (nuint)sizeof(CmsgHdr) <= msg->ControlLength)
            {
                var header = (CmsgHdr*)((byte*)msg->Control + offset);
                if (header->Length < (nuint)sizeof(CmsgHdr)) return null;
                if (header->Level == SolSocket && header->Type == SoTimestampNs)
                {
                    var t = (TimeSpec*)((byte*)header + ((nuint)sizeof(CmsgHdr) + align - 1 & ~(align - 1)));
                    return t->Seconds * 1_000_000_000 + t->Nanoseconds;
                }
                offset += header->Length + align - 1 & ~(align - 1);
            }
            return null;
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            NativeMemory.Free(_buffer);
            NativeMemory.Free(_name);
            NativeMemory.Free(_control);
            NativeMemory.Free(_iov);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc")]
    private static partial int clock_gettime(int clock, TimeSpec* time);
}
