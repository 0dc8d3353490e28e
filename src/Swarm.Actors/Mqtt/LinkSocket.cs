using System.Net;
using System.Net.Sockets;
using MQTTnet;
using MQTTnet.Channel;

namespace Swarm.Mqtt;

/// <summary>
/// How every link opens its TCP connection (MQTTnet's stream provider; TLS, when asked, is still MQTTnet's, on top):
/// socket buffers of <see cref="MqttSettings.SocketBufferBytes"/>, no Nagle, and reads served from a buffer.
/// MQTTnet reads a packet as its 2-byte fixed header, then each further byte of its length, then its body: straight
/// from the socket, three receive calls a result, and each one that finds nothing yet is a hop through the thread
/// pool. From a buffer, one receive call brings dozens of results at a broker's pace.
/// A closed link closes gracefully (MQTTnet's own socket resets the connection, linger 0): a DISCONNECT still in the
/// send buffer reaches the broker, which then does not publish the will.
/// </summary>
public sealed class LinkSocket : IMqttClientStreamProvider
{
    /// <summary>Read at once from the socket: some 40 results, and little for a thousand simulated bees to hold.</summary>
    public const int ReadBufferBytes = 16 << 10;

    public static readonly LinkSocket Instance = new();

    /// <summary>Makes the client that <paramref name="options"/> configure open its connections here.</summary>
    public static MqttClientOptions Apply(MqttClientOptions options)
    {
        if (options.ChannelOptions is MqttClientTcpOptions tcp) tcp.StreamProvider = Instance;
        return options;
    }

    public async Task<Stream> ConnectAsync(EndPoint broker, CancellationToken cancellationToken)
    {
        // Dual mode where the machine has IPv6, as MQTTnet's own: a host name may resolve to either family.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveBufferSize = MqttSettings.SocketBufferBytes,
            SendBufferSize = MqttSettings.SocketBufferBytes,
        };
        try
        {
            await socket.ConnectAsync(broker, cancellationToken);
            return new BufferedReads(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A connection's stream: reads come from a buffer that one socket read fills; writes go straight out.</summary>
    internal sealed class BufferedReads(Socket socket) : Stream, IMqttClientStreamEndPoints
    {
        private readonly NetworkStream _socket = new(socket, ownsSocket: true);
        private readonly byte[] _buffer = new byte[ReadBufferBytes];
        private int _start;
        private int _end;

        public EndPoint? LocalEndPoint { get; } = socket.LocalEndPoint;
        public EndPoint? RemoteEndPoint { get; } = socket.RemoteEndPoint;

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            if (_start == _end)
            {
                // A read as large as the buffer gains nothing from it.
                if (destination.Length >= _buffer.Length) return await _socket.ReadAsync(destination, cancellationToken);
                _start = _end = 0;
                _end = await _socket.ReadAsync(_buffer, cancellationToken);
                if (_end == 0) return 0; // the broker closed the connection
            }
            return Take(destination.Span);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_start == _end)
            {
                if (count >= _buffer.Length) return _socket.Read(buffer, offset, count);
                _start = _end = 0;
                _end = _socket.Read(_buffer, 0, _buffer.Length);
                if (_end == 0) return 0;
            }
            return Take(buffer.AsSpan(offset, count));
        }

        private int Take(Span<byte> destination)
        {
            var count = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, count).CopyTo(destination);
            _start += count;
            return count;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
            _socket.WriteAsync(source, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _socket.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _socket.Write(buffer, offset, count);

        public override void Flush() { }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _socket.Dispose();
            base.Dispose(disposing);
        }
    }
}
