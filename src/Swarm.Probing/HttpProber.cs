using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
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
    private const int MaxHeaderBytes = 64 * 1024; // the whole head must fit the reader's buffer
    private const int MaxRedirects = 10;

    /// <summary>How much of the body a <c>body</c> or <c>body_regex</c> expectation reads.</summary>
    public const int CheckedBodyBytes = 64 * 1024;

    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var parsed = ProbeTarget.Parse(target) ?? throw new ArgumentException($"not an http(s):// target: {target}");
        var expect = settings.Http;
        var url = parsed.Url!;
        var path = parsed.RequestPath!;
        var redirects = new List<HttpRedirect>();
        while (true)
        {
            var (outcome, answer) = await RequestAsync(target, url, path, parsed.Family, settings, expect, cancellationToken);
            if (answer is null) return outcome with { Redirects = redirects.Count > 0 ? redirects : null };
            // A redirect the list asked to follow: the next request goes where it points, past the same address policy.
            if (expect?.FollowRedirects == true && answer.Status is 301 or 302 or 303 or 307 or 308)
            {
                if (answer.Location is null || !Uri.TryCreate(url, answer.Location, out var next) || next.Scheme is not ("http" or "https")
                    || next.UserInfo.Length > 0)
                    return Down(outcome with { Redirects = redirects },
                        $"HTTP {answer.Status} from {url.Host} redirects to '{ProbeTarget.Printable(answer.Location ?? "")}', which is not an http(s) URL");
                // Kept within what a result may carry: a redirect loop that grows its URL must not make the result unpublishable.
                redirects.Add(new HttpRedirect { Url = Bounded(url.AbsoluteUri), Status = answer.Status.Value });
                if (redirects.Count > MaxRedirects)
                    return Down(outcome with { Redirects = redirects }, $"more than {MaxRedirects} redirects (the last to {ProbeTarget.Printable(next.AbsoluteUri)})");
                (url, path) = (next, next.PathAndQuery);
                continue;
            }
            // The round's RTT is the answering request's, connect to last byte (DNS and earlier hops are timed apart).
            outcome = outcome with { Redirects = redirects.Count > 0 ? redirects : null, Stats = RoundStats.Of(1, [outcome.TotalMs!.Value]) };
            return Judge(outcome, answer, expect, url);
        }
    }

    /// <summary>The answer against the list's expectations; a failed expectation is a down round (nothing received), with the reason.</summary>
    private static ProbeOutcome Judge(ProbeOutcome outcome, Answer answer, HttpExpectations? expect, Uri url)
    {
        const string NoStatus = "the server closed the connection without an HTTP status line";
        if (answer.Status is not { } status) return expect is null ? outcome with { Error = NoStatus } : Down(outcome, NoStatus);
        if (expect?.Status is { } wanted)
        {
            var ranges = wanted.Select(ProbeSettingsCheck.StatusRange).OfType<(int From, int To)>().ToList();
            if (!ranges.Any(r => status >= r.From && status <= r.To))
                return Down(outcome, $"HTTP {status} from {url.Host}, expected {string.Join(", ", wanted)}");
        }
        else if (status >= 400)
        {
            // Without expectations a 4xx is an answer with an error, as it always was; a list's expectations (any
            // status below 400 by default) make it down.
            return expect is null ? outcome with { Error = $"HTTP {status}" } : Down(outcome, $"HTTP {status} from {url.Host}, expected a status below 400");
        }
        if (expect?.Body is { } text && !answer.Body.Contains(text, StringComparison.Ordinal))
            return Down(outcome, $"the body does not contain \"{ProbeTarget.Printable(text)}\" (its first {answer.BodyBytes} bytes read)");
        if (expect?.BodyRegex is { } pattern)
        {
            try
            {
                if (!Compiled(pattern).IsMatch(answer.Body))
                    return Down(outcome, $"the body does not match /{ProbeTarget.Printable(pattern)}/ (its first {answer.BodyBytes} bytes read)");
            }
            catch (RegexMatchTimeoutException)
            {
                return Down(outcome, $"the body regex /{ProbeTarget.Printable(pattern)}/ gave up after {ProbeSettingsCheck.RegexTimeout.TotalMilliseconds:0} ms: " +
                                     "it backtracks too much; write it without nested repetition");
            }
        }
        return outcome;
    }

    private static ProbeOutcome Down(ProbeOutcome outcome, string why) => outcome with { Error = why, Stats = RoundStats.Of(1, []) };

    private static string Bounded(string url) => url.Length <= ProbeTarget.MaxLength ? url : url[..ProbeTarget.MaxLength];

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Regex> Expressions = new();

    /// <summary>One parsed expression per pattern, kept (at most 1,000): a list's regex is not parsed again every round.</summary>
    private static Regex Compiled(string pattern)
    {
        if (Expressions.TryGetValue(pattern, out var known)) return known;
        if (Expressions.Count >= 1000) Expressions.Clear();
        return Expressions.GetOrAdd(pattern, p => new Regex(p, RegexOptions.None, ProbeSettingsCheck.RegexTimeout));
    }

    /// <summary>What one response said: its status, where it redirects, and the start of its body as text.</summary>
    private sealed record Answer(int? Status, string? Location, string Body, int BodyBytes);

    /// <summary>One request to <paramref name="url"/>, timed phase by phase; the answer, or null with the failure in the outcome.</summary>
    private async Task<(ProbeOutcome Outcome, Answer? Answer)> RequestAsync(string target, Uri url, string path, IpFamily family, RoundSettings settings,
        HttpExpectations? expect, CancellationToken cancellationToken)
    {
        var host = url.IdnHost.Trim('[', ']'); // a name with non-ASCII letters goes out in its ASCII (punycode) form
        var (address, resolveMs, error) = await HostResolver.ResolveAsync(host, ProbeTarget.Http, policy ?? AddressPolicy.Default, cancellationToken, family);
        if (address is null) return (ProbeOutcome.Failed(target, ProbeTarget.Http, error!, resolveMs), null);
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
                        TargetHost = host,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                        CertificateChainPolicy = ChainPolicy(),
                    }, deadline.Token);
                }
                catch (AuthenticationException e)
                {
                    var why = certificateErrors != SslPolicyErrors.None ? $"certificate not accepted ({certificateErrors})" : e.Message;
                    return (Failed(outcome with { Certificate = presented }, start, $"TLS handshake with {url.Host} failed: {why}"), null);
                }
                outcome = outcome with { TlsMs = HostResolver.Elapsed(tlsStart), Certificate = presented };
            }

            phase = "response";
            await using (stream)
            {
                var method = expect?.Method ?? "GET";
                // The list's headers replace the defaults of the same name; Host and Connection are ours (the check refuses them).
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["User-Agent"] = "swarm-bee", ["Accept"] = "*/*" };
                foreach (var (name, value) in expect?.Headers ?? new Dictionary<string, string>()) headers[name] = value;
                var authority = url.IsDefaultPort ? url.IdnHost : $"{url.IdnHost}:{url.Port}";
                var request = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
                foreach (var (name, value) in headers) request.Append($"{name}: {value}\r\n");
                request.Append("Connection: close\r\n\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), deadline.Token);
                var requestSent = Stopwatch.GetTimestamp();
                var (answer, ttfb) = await ReadResponseAsync(stream, method == "HEAD", requestSent, deadline.Token);
                return (outcome with { TtfbMs = ttfb, StatusCode = answer.Status, TotalMs = HostResolver.Elapsed(start) }, answer);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (Failed(outcome, start, $"no {phase} from {endpoint} within {settings.RequestTimeout.TotalMilliseconds:0} ms"), null);
        }
        catch (SocketException e)
        {
            return (Failed(outcome, start, $"{phase} to {endpoint} failed: {TcpProber.Describe(e.SocketErrorCode)}"), null);
        }
        catch (IOException e)
        {
            return (Failed(outcome, start, $"{phase} from {endpoint} failed: {e.GetBaseException().Message}"), null);
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

    /// <summary>
    /// Reads the head (stamping the first byte), then the body as the head says it comes (Content-Length, chunked, or
    /// to the end), keeping its first <see cref="CheckedBodyBytes"/> decoded for the expectations and draining the rest
    /// up to a cap.
    /// </summary>
    private static async Task<(Answer Answer, double? TtfbMs)> ReadResponseAsync(Stream stream, bool head, long requestSent, CancellationToken cancellationToken)
    {
        var reader = new ResponseReader(stream, cancellationToken);
        var first = await reader.FillAsync();
        double? ttfb = first ? HostResolver.Elapsed(requestSent) : null;
        if (!first) return (new Answer(null, null, "", 0), ttfb);
        string[] lines;
        int status;
        while (true)
        {
            var headText = await reader.ReadHeadAsync(MaxHeaderBytes);
            if (headText is null) return (new Answer(null, null, "", 0), ttfb);
            lines = headText.Split("\r\n");
            // "HTTP/1.1 200 OK": the code is the second word.
            var parts = lines[0].Split(' ', 3);
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal) || !int.TryParse(parts[1], out status) || status is < 100 or > 599)
                return (new Answer(null, null, "", 0), ttfb);
            if (status is >= 100 and < 200 && status != 101) continue; // 100 Continue, 103 Early Hints: the answer follows
            break;
        }
        string? Header(string name) => lines.Skip(1).Select(l => l.Split(':', 2)).Where(h => h.Length == 2 && h[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(h => h[1].Trim()).FirstOrDefault();
        var body = new MemoryStream();
        if (!head && status is not (204 or 304) && status >= 200)
        {
            if (Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true) await reader.ReadChunkedAsync(body, CheckedBodyBytes, MaxBodyBytes);
            else if (long.TryParse(Header("Content-Length"), out var length) && length >= 0) await reader.ReadBodyAsync(body, Math.Min(length, MaxBodyBytes), CheckedBodyBytes);
            else await reader.ReadBodyAsync(body, MaxBodyBytes, CheckedBodyBytes);
        }
        var bytes = (int)body.Length;
        // The head was read as Latin-1 (one char a byte): a Location with UTF-8 in it is read again as UTF-8.
        var location = Header("Location") is { } raw ? Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(raw)) : null;
        return (new Answer(status, location, Encoding.UTF8.GetString(body.GetBuffer(), 0, bytes), bytes), ttfb);
    }

    /// <summary>A response read from a buffer: the head line by line, then a body by length, by chunks, or to the end.</summary>
    private sealed class ResponseReader(Stream stream, CancellationToken cancellationToken)
    {
        private readonly byte[] _buffer = new byte[MaxHeaderBytes];
        private int _start, _end;
        private long _read;

        /// <summary>Reads more into the buffer; false at the end of the stream (or the cap on what a response may send).</summary>
        public async Task<bool> FillAsync()
        {
            if (_read >= MaxBodyBytes + MaxHeaderBytes) return false;
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                (_end, _start) = (_end - _start, 0);
            }
            if (_end == _buffer.Length) return true;
            var n = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            _end += n;
            _read += n;
            return n > 0;
        }

        /// <summary>The head up to its blank line (not included); null when it is over <paramref name="max"/> or the stream ends first.</summary>
        public Task<string?> ReadHeadAsync(int max) => ReadUntilAsync("\r\n\r\n"u8.ToArray(), max);

        /// <summary>Text up to <paramref name="end"/> (not included, but consumed); null past <paramref name="max"/> bytes or at the end of the stream.</summary>
        private async Task<string?> ReadUntilAsync(byte[] end, int max)
        {
            while (true)
            {
                var at = _buffer.AsSpan(_start, _end - _start).IndexOf(end);
                if (at >= 0)
                {
                    var text = Encoding.Latin1.GetString(_buffer, _start, at);
                    _start += at + end.Length;
                    return text;
                }
                if (_end - _start >= max || !await FillAsync()) return null;
            }
        }

        /// <summary>Up to <paramref name="length"/> bytes of body, the first <paramref name="keep"/> of them into <paramref name="body"/>.</summary>
        public async Task ReadBodyAsync(MemoryStream body, long length, int keep)
        {
            while (length > 0)
            {
                if (_start == _end && !await FillAsync()) return;
                var n = (int)Math.Min(length, _end - _start);
                var kept = (int)Math.Min(n, Math.Max(0, keep - body.Length));
                body.Write(_buffer, _start, kept);
                _start += n;
                length -= n;
            }
        }

        /// <summary>A chunked body, decoded: each chunk's size line, its bytes, its CRLF, until the zero chunk.</summary>
        public async Task ReadChunkedAsync(MemoryStream body, int keep, long max)
        {
            while (max > 0)
            {
                var line = await ReadLineAsync();
                if (line is null) return;
                var size = line.Split(';')[0].Trim();
                if (!long.TryParse(size, System.Globalization.NumberStyles.HexNumber, null, out var length) || length < 0) return;
                if (length == 0) return;
                await ReadBodyAsync(body, Math.Min(length, max), keep);
                max -= length;
                if (await ReadLineAsync() is null) return;
            }
        }

        private Task<string?> ReadLineAsync() => ReadUntilAsync("\r\n"u8.ToArray(), 1024);
    }
}
