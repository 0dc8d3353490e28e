using System.Net;
using System.Net.Sockets;

namespace Swarm.Tests.Infrastructure;

/// <summary>Free loopback ports, asked of the kernel rather than guessed.</summary>
public static class Ports
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task WaitListening(int port, TimeSpan timeout)
    {
        await Eventually.True(() =>
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, timeout, $"nothing listening on 127.0.0.1:{port}");
    }
}
