using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Swarm.Protocol;

namespace Swarm.Probing;

/// <summary>
/// A DNS round (<c>dns://server/name?type=A</c>): <c>Count</c> questions at <c>Spacing</c>, each timed from the query
/// sent to the reply read, over UDP and again over TCP when the UDP reply comes truncated. Loss is questions without
/// a reply; the result carries the response code and the answers of the last reply. Each question goes out from a new
/// socket (a fresh source port and id), and a datagram that does not answer it (another id or question) is ignored.
/// </summary>
/// <param name="systemResolver">The resolver <c>dns:///name</c> asks; by default the first nameserver of /etc/resolv.conf.</param>
public sealed class DnsProber(ProbePacer pacer, AddressPolicy? policy = null, Func<IPEndPoint?>? systemResolver = null) : IProber
{
    public const string Kind = ProbeTarget.Dns;

    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var parsed = ProbeTarget.Parse(target) is { Kind: Kind } p ? p : throw new ArgumentException($"not a dns:// target: {target}");
        IPEndPoint server;
        double? resolveMs = null;
        if (parsed.Host.Length == 0)
        {
            // The machine's own resolver: it answers every lookup this bee makes anyway, so no policy applies.
            if ((systemResolver ?? SystemResolver)() is not { } own)
                return ProbeOutcome.Failed(target, Kind, "no system resolver: /etc/resolv.conf names no nameserver");
            server = own;
        }
        else
        {
            var (address, ms, error) = await HostResolver.ResolveAsync(parsed.Host, Kind, policy ?? AddressPolicy.Default, cancellationToken, parsed.Family);
            if (address is null) return ProbeOutcome.Failed(target, Kind, error!, ms);
            (server, resolveMs) = (new IPEndPoint(address, parsed.Port), ms);
        }

        var type = DnsWire.Types[parsed.RecordType!];
        var rtts = new List<double>(settings.Count);
        DnsWire.Reply? last = null;
        string? transport = null, lastError = null;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < settings.Count; i++)
        {
            var due = settings.Spacing * i - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken);
            await pacer.WaitTurnAsync(IcmpEngine.Key(server.Address), cancellationToken);
            var answer = await AskAsync(server, parsed.Name!, type, settings.Timeout, cancellationToken);
            if (answer.Reply is { } reply)
            {
                rtts.Add(answer.Ms);
                (last, transport) = (reply, answer.Transport);
            }
            else lastError = answer.Error;
        }

        var stats = RoundStats.Of(settings.Count, rtts);
        var info = new DnsInfo
        {
            Server = server.ToString(),
            Name = parsed.Name!,
            Type = parsed.RecordType!,
            Rcode = last?.RcodeName,
            Transport = transport,
            Answers = last?.Answers,
        };
        var failure = last switch
        {
            null => lastError,
            { Rcode: not 0 } => $"{parsed.Name} {parsed.RecordType}: {last.RcodeName} from {server}",
            { Answers.Count: 0 } => $"{parsed.Name} has no {parsed.RecordType} record (NOERROR, no answers from {server})",
            _ => null,
        };
        return new ProbeOutcome(target, Kind, server.Address.ToString(), resolveMs, stats, failure) { Dns = info };
    }

    /// <summary>One question: the time to its reply and the reply, or why none came.</summary>
    internal static async Task<(double Ms, DnsWire.Reply? Reply, string Transport, string? Error)> AskAsync(
        IPEndPoint server, string name, ushort type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = (ushort)System.Security.Cryptography.RandomNumberGenerator.GetInt32(ushort.MaxValue + 1); // not guessable by a spoofer
        var query = DnsWire.Query(id, name, type);
        var transport = "udp";
        string? ignored = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var udp = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            await udp.ConnectAsync(server, deadline.Token); // connected: only the server's datagrams, and "port unreachable" comes back
            await udp.SendAsync(query, SocketFlags.None, deadline.Token);
            var buffer = new byte[4096];
            while (true)
            {
                var n = await udp.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (DnsWire.Read(buffer.AsSpan(0, n), id, name, type, out ignored) is not { } reply) continue;
                if (!reply.Truncated) return (HostResolver.Elapsed(start), reply, transport, null);
                break;
            }
            transport = "tcp";
            using var tcp = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await tcp.ConnectAsync(server, deadline.Token);
            var framed = new byte[query.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed, 2);
            await tcp.SendAsync(framed, SocketFlags.None, deadline.Token);
            using var stream = new NetworkStream(tcp, ownsSocket: false);
            var length = new byte[2];
            await stream.ReadExactlyAsync(length, deadline.Token);
            var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
            await stream.ReadExactlyAsync(message, deadline.Token);
            return DnsWire.Read(message, id, name, type, out var problem) is { } whole
                ? (HostResolver.Elapsed(start), whole, transport, null)
                : (0, null, transport, $"a malformed reply from {server} over TCP: {problem}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var why = ignored is null ? "" : $" (a datagram was ignored: {ignored})";
            return (0, null, transport, $"no answer from {server} over {transport.ToUpperInvariant()} within {timeout.TotalMilliseconds:0} ms{why}");
        }
        catch (SocketException e)
        {
            var what = e.SocketErrorCode == SocketError.ConnectionRefused && transport == "udp" ? "port unreachable" : TcpProber.Describe(e.SocketErrorCode);
            return (0, null, transport, $"question to {server} over {transport.ToUpperInvariant()} failed: {what}");
        }
        catch (EndOfStreamException)
        {
            return (0, null, transport, $"{server} closed the TCP connection before a whole reply");
        }
        catch (IOException e) // a reset under the TCP read
        {
            return (0, null, transport, $"question to {server} over TCP failed: {e.GetBaseException().Message}");
        }
    }

    /// <summary>The first nameserver /etc/resolv.conf names, on port 53; null when there is none.</summary>
    public static IPEndPoint? SystemResolver()
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/resolv.conf"))
            {
                var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (words is ["nameserver", var address, ..] && IPAddress.TryParse(address.Split('%')[0], out var ip)) return new IPEndPoint(ip, 53);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
