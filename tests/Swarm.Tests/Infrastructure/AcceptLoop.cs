using System.Net.Sockets;

namespace Swarm.Tests.Infrastructure;

internal static class AcceptLoop
{
    /// <summary>Accepts until stopped, serving each connection on its own task.</summary>
    public static async Task Run(TcpListener listener, Func<TcpClient, Task> serve, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop); }
            catch (Exception) { return; }
            _ = Task.Run(() => serve(client));
        }
    }
}
