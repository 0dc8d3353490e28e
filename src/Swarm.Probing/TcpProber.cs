using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Probing;

/// <summary>A TCP connect round (<c>tcp://host:port</c>): <c>Count</c> connects at <c>Spacing</c>; loss and RTT stats from connect times.</summary>
public sealed class TcpProber(ProbePacer pacer, AddressPolicy? policy = null) : IProber
{
    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var parsed = ProbeTarget.Parse(target) ?? throw new ArgumentException($"not a tcp:// target: {target}");
        var (address, resolveMs, error) = await HostResolver.ResolveAsync(parsed.Host, ProbeTarget.Tcp, policy ?? AddressPolicy.Default, cancellationToken, parsed.Family);
        if (address is null) return ProbeOutcome.Failed(target, ProbeTarget.Tcp, error!, resolveMs);

        var endpoint = new IPEndPoint(address, parsed.Port);
        var rtts = new List<double>(settings.Count);
        string? lastError = null;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < settings.Count; i++)
        {
            var due = settings.Spacing * i - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken);
            await pacer.WaitTurnAsync(IcmpEngine.Key(address), cancellationToken);
            var (ms, failure) = await ConnectAsync(endpoint, settings.Timeout, cancellationToken);
            if (ms is { } rtt) rtts.Add(rtt);
            else lastError = failure;
        }
        var stats = RoundStats.Of(settings.Count, rtts);
        return new ProbeOutcome(target, ProbeTarget.Tcp, address.ToString(), resolveMs, stats, stats.Received > 0 ? null : lastError)
        {
            ConnectMs = stats.AvgMs,
        };
    }

    /// <summary>One connect: its time in milliseconds, or why it failed.</summary>
    internal static async Task<(double? Ms, string? Error)> ConnectAsync(IPEndPoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var start = Stopwatch.GetTimestamp();
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token);
            return (HostResolver.Elapsed(start), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"connect to {endpoint} timed out after {timeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            return (null, $"connect to {endpoint} failed: {Describe(e.SocketErrorCode)}");
        }
    }

    internal static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.TimedOut => "timed out",
        SocketError.ConnectionReset => "connection reset",
        _ => error.ToString(),
    };
}
