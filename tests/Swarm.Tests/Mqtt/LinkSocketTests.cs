using System.Net;
using System.Net.Sockets;
using MQTTnet.Channel;
using Swarm.Mqtt;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Mqtt;

/// <summary>The link's own TCP stream, against a real socket on loopback.</summary>
public class LinkSocketTests
{
    [Fact]
    public async Task One_socket_read_takes_everything_that_has_arrived()
    {
        // MQTTnet asks for 2 bytes, then 1, then the body: straight from the socket that is three receive calls a
        // result. Whatever a read asks for, what has arrived leaves the kernel at once.
        var (stream, server) = await ConnectAsync();
        await using (stream)
        using (server)
        {
            var sent = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
            server.Send(sent); // one segment: it arrives whole or not at all

            var first = new byte[1];
            Assert.Equal(1, await stream.ReadAsync(first));
            var local = ((IPEndPoint)((IMqttClientStreamEndPoints)stream).LocalEndPoint!).Port;
            // ss: the kernel's receive queue of this connection (Recv-Q, the first column).
            var line = await TestNetwork.Output("ss", "-tnH", "state", "established", $"( sport = :{local} )");
            Assert.True(line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var queued, ..] && queued == "0",
                $"bytes left in the kernel after the first read: '{line.Trim()}'");

            var rest = new byte[99];
            var got = 0;
            while (got < rest.Length) got += await stream.ReadAsync(rest.AsMemory(got));
            Assert.Equal(sent[1..], rest);
        }
    }

    [Fact]
    public async Task Bytes_come_through_whole_and_in_order_whatever_the_sizes_of_reads_and_writes()
    {
        var (stream, server) = await ConnectAsync();
        await using (stream)
        using (server)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var random = new Random(17);
            var down = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 31 % 251)).ToArray();
            var up = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7 % 253)).ToArray();

            // Broker to link: chunks from 1 byte to 5,000; read back in sizes from 1 byte to more than the buffer,
            // through each way a stream can be read.
            var sending = Task.Run(async () =>
            {
                for (var at = 0; at < down.Length;)
                {
                    var n = Math.Min(down.Length - at, random.Next(1, 5000));
                    at += await server.SendAsync(down.AsMemory(at, n), deadline.Token);
                }
                server.Shutdown(SocketShutdown.Send);
            });
            var reader = new Random(18);
            var received = new MemoryStream();
            var buffer = new byte[40_000];
            while (true)
            {
                var size = reader.Next(3) == 0 ? reader.Next(LinkSocket.ReadBufferBytes, buffer.Length) : reader.Next(1, 3000);
                var way = reader.Next(3);
                int n;
                if (way == 0) n = await stream.ReadAsync(buffer.AsMemory(0, size), deadline.Token);
                else if (way == 1) n = await stream.ReadAsync(buffer, 0, size, deadline.Token);
                else n = stream.Read(buffer, 0, size);
                if (n == 0) break; // the end, told once everything before it came through
                received.Write(buffer, 0, n);
            }
            await sending;
            Assert.Equal(down.Length, received.Length);
            Assert.True(down.AsSpan().SequenceEqual(received.ToArray()), "the bytes read differ from those sent");

            // Link to broker: writes go straight out.
            var arrived = Task.Run(async () =>
            {
                var all = new byte[up.Length];
                for (var at = 0; at < all.Length;)
                {
                    var n = await server.ReceiveAsync(all.AsMemory(at), deadline.Token);
                    if (n == 0) throw new InvalidOperationException($"the link closed after {at} bytes");
                    at += n;
                }
                return all;
            });
            for (var at = 0; at < up.Length;)
            {
                var n = Math.Min(up.Length - at, random.Next(1, 5000));
                await stream.WriteAsync(up.AsMemory(at, n), deadline.Token);
                at += n;
            }
            var delivered = await arrived;
            Assert.True(up.AsSpan().SequenceEqual(delivered), "the bytes written differ from those received");
        }
    }

    private static async Task<(Stream Link, Socket Server)> ConnectAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptSocketAsync();
        var stream = await LinkSocket.Instance.ConnectAsync(listener.LocalEndpoint, CancellationToken.None);
        return (stream, await accepted);
    }
}
