using System.Net;
using System.Net.Sockets;

namespace Swarm.Tests.Infrastructure;

/// <summary>Free ports for the processes and listeners tests start, checked free before they are handed out.</summary>
public static class Ports
{
    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A port free now, below the kernel's ephemeral range (32768 and up): a port from that range, released and bound
    /// again a moment later by a node we start, can meanwhile become the local port of any outgoing connection on the
    /// machine, and the node then fails to bind. Never the same port twice in this test run.
    /// </summary>
    public static int Free()
    {
        lock (Given)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var port = Random.Shared.Next(10_000, 20_000); // LocalSwarmScriptTests takes its ranges from 20000-30000
                if (!Given.Add(port)) continue;
                try
                {
                    using var listener = new TcpListener(IPAddress.Any, port);
                    listener.Start();
                    return port;
                }
                catch (SocketException) { }
            }
            throw new InvalidOperationException("no free port found between 10000 and 20000");
        }
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
