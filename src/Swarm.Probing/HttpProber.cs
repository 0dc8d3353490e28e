using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Swarm.Protocol;

namespace Swarm.Probing;

/// <summary>
/// One HTTP(S) GET per round, timed phase by phase as Heartbeat reports it: DNS, TCP connect, TLS handshake,
/// time to first byte, total. Written over a socket rather than HttpClient because HttpClient hides where the time went.
/// A certificate error, a refused connection or a 5xx is a result with a reason, never a crash.
/// </summary>
/// <param name="trustedRoots">Extra roots to trust (a private CA) instead of the system store; null: the system store.</param>
public sealed class HttpProber(ProbePacer pacer, X509Certificate2Collection? trustedRoots = null, AddressPolicy? policy = null) : IProber
{
    private const int MaxBodyBytes = 1 << 20;

    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var parsed = ProbeTarget.Parse(target) ?? throw new ArgumentException($"not an http(s):// target: {target}");
        var url = parsed.Url!;
        var (address, resolveMs, error) = await HostResolver.ResolveAsync(parsed.Host, ProbeTarget.Http, policy ?? AddressPolicy.Default, cancellationToken, parsed.Family);
        if (address is null) return ProbeOutcome.Failed(target, ProbeTarget.Http, error!, resolveMs);
        await pacer.WaitTurnAsync(IcmpEngine.Key(address), cancellationToken);

        var endpoint = new IPEndPoint(address, url.Port);
        var outcome = new ProbeOutcome(target, ProbeTarget.Http, address.ToString(), resolveMs, RoundStats.Of(1, []), null);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.RequestTimeout);
        var start = Stopwatch.GetTimestamp();
        var phase = "connect";
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint, deadline.Token);
            outcome = outcome with { ConnectMs = HostResolver.Elapsed(start) };
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (url.Scheme == "https")
            {
                phase = "TLS handshake";
                var tlsStart = Stopwatch.GetTimestamp();
                var certificateErrors = SslPolicyErrors.None;
                TlsCertificateInfo? presented = null;
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, certificate, _, errors) =>
                {
                    certificateErrors = errors;
                    presented = Describe(certificate);
                    return errors == SslPolicyErrors.None;
                });
                stream = ssl;
                try
                {
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = parsed.Host,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                        CertificateChainPolicy = ChainPolicy(),
                    }, deadline.Token);
                }
                catch (AuthenticationException e)
                {
                    var why = certificateErrors != SslPolicyErrors.None ? $"certificate not accepted ({certificateErrors})" : e.Message;
                    return Failed(outcome with { Certificate = presented }, start, $"TLS handshake with {url.Host} failed: {why}");
                }
                outcome = outcome with { TlsMs = HostResolver.Elapsed(tlsStart), Certificate = presented };
            }

            phase = "response";
            await using (stream)
            {
                var request = $"GET {parsed.RequestPath} HTTP/1.1\r\nHost: {url.Authority}\r\nUser-Agent: swarm-bee\r\nAccept: */*\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(request), deadline.Token);
                var requestSent = Stopwatch.GetTimestamp();
                var (status, ttfb) = await ReadResponseAsync(stream, requestSent, deadline.Token);
                var total = HostResolver.Elapsed(start);
                outcome = outcome with
                {
                    TtfbMs = ttfb,
                    TotalMs = total,
                    StatusCode = status,
                    Stats = RoundStats.Of(1, [total]),
                    Error = status is null ? "the server closed the connection without an HTTP status line"
                        : status >= 400 ? $"HTTP {status}" : null,
                };
                return outcome;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(outcome, start, $"no {phase} from {endpoint} within {settings.RequestTimeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            return Failed(outcome, start, $"{phase} to {endpoint} failed: {TcpProber.Describe(e.SocketErrorCode)}");
        }
        catch (IOException e)
        {
            return Failed(outcome, start, $"{phase} from {endpoint} failed: {e.GetBaseException().Message}");
        }
    }

    /// <summary>The server's certificate as a result carries it: names, validity, and the SHA-256 of its DER bytes.</summary>
    internal static TlsCertificateInfo? Describe(X509Certificate? certificate)
    {
        if (certificate is null) return null;
        // A certificate this cannot read is described as nothing: it must not fail the round (this runs inside the handshake).
        try
        {
            using var loaded = certificate as X509Certificate2 is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
            var cert = loaded ?? (X509Certificate2)certificate;
            return new TlsCertificateInfo
            {
                Subject = Limit(cert.GetNameInfo(X509NameType.SimpleName, forIssuer: false)),
                Issuer = Limit(cert.GetNameInfo(X509NameType.SimpleName, forIssuer: true)),
                NotBefore = cert.NotBefore.ToUniversalTime(),
                NotAfter = cert.NotAfter.ToUniversalTime(),
                Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(cert.RawData)),
            };
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private static string? Limit(string? name) => name is { Length: > 256 } ? name[..256] : name;

    private X509ChainPolicy? ChainPolicy()
    {
        if (trustedRoots is null) return null;
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.AddRange(trustedRoots);
        return policy;
    }

    private static ProbeOutcome Failed(ProbeOutcome outcome, long start, string error) =>
        outcome with { Error = error, TotalMs = HostResolver.Elapsed(start), Stats = RoundStats.Of(1, []) };

    /// <summary>Reads the status line (stamping the first byte), then drains the response up to a cap.</summary>
    private static async Task<(int? Status, double? TtfbMs)> ReadResponseAsync(Stream stream, long requestSent, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var head = new StringBuilder();
        double? ttfb = null;
        int? status = null;
        var total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            ttfb ??= HostResolver.Elapsed(requestSent);
            total += read;
            if (status is null && head.Length < 1024)
            {
                head.Append(Encoding.ASCII.GetString(buffer, 0, Math.Min(read, 1024)));
                var text = head.ToString();
                var end = text.IndexOf("\r\n", StringComparison.Ordinal);
                if (end > 0)
                {
                    // "HTTP/1.1 200 OK": the code is the second word.
                    var parts = text[..end].Split(' ', 3);
                    if (parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], out var code)) status = code;
                    else return (null, ttfb);
                }
            }
            if (total >= MaxBodyBytes) break;
        }
        return (status, ttfb);
    }
}
