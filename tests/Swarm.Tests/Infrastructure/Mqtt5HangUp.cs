using System.Net;
using System.Net.Sockets;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A broker that knows only MQTT 3.1.1 the way RabbitMQ's MQTT plugin before 3.13 is: it closes the connection on an
/// MQTT 5 CONNECT without answering. In front of a real broker on <paramref name="target"/>: an MQTT 3.1.1 connection
/// is passed through to it, byte for byte both ways.
/// </summary>
public sealed class Mqtt5HangUp : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly int _target;
    private int _hungUp;

    public Mqtt5HangUp(int target)
    {
        _target = target;
        _listener.Start();
        _loop = Task.Run(() => AcceptLoop.Run(_listener, Serve, _stop.Token));
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many MQTT 5 CONNECTs it hung up on.</summary>
    public int HungUp => Volatile.Read(ref _hungUp);

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            // The CONNECT: a type byte, the remaining length (1–4 bytes, 7 bits each), then "MQTT" with its 2-byte
            // length, then the protocol level: 4 is 3.1.1, 5 is MQTT 5.
            var head = new List<byte> { await ReadByte(stream) };
            int length = 0, shift = 0;
            byte b;
            do
            {
                b = await ReadByte(stream);
                head.Add(b);
                length |= (b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            var body = new byte[length];
            await stream.ReadExactlyAsync(body, _stop.Token);
            if (body.Length > 6 && body[6] == 5)
            {
                Interlocked.Increment(ref _hungUp);
                return;
            }
            using var upstream = new TcpClient();
            await upstream.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var up = upstream.GetStream();
            await up.WriteAsync(head.Concat(body).ToArray(), _stop.Token);
            await Task.WhenAny(stream.CopyToAsync(up, _stop.Token), up.CopyToAsync(stream, _stop.Token));
        }
        catch (Exception) { } // either side hung up: so does the other
    }

    private async Task<byte> ReadByte(NetworkStream stream)
    {
        var one = new byte[1];
        await stream.ReadExactlyAsync(one, _stop.Token);
        return one[0];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _loop; } catch (Exception) { }
    }
}
