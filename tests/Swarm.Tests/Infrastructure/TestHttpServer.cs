using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Swarm.Tests.Infrastructure;

/// <summary>A loopback HTTP(S) server whose answer and delay each test chooses: for probing, not for serving.</summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly X509Certificate2? _certificate;
    private readonly Task _loop;

    public int Status { get; set; } = 200;
    public TimeSpan Delay { get; set; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Requests;

    /// <summary>A whole response of the test's own for a request (its head), or null for the usual answer.</summary>
    public Func<string, string?>? Answer { get; set; }

    /// <summary>Every request's first line and body, in arrival order (for receivers such as a webhook's).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string Line, string Body, int Answered)> Received { get; } = new();

    public TestHttpServer(X509Certificate2? certificate = null)
    {
        _certificate = certificate;
        _listener.Start();
        _loop = Task.Run(() => AcceptLoop.Run(_listener, Serve, _stop.Token));
    }

    /// <summary>A self-signed certificate for localhost and 127.0.0.1, its own root.</summary>
    public static X509Certificate2 SelfSignedLocalhost()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        try
        {
            Stream stream = client.GetStream();
            if (_certificate is not null)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsServerAsync(_certificate);
                stream = ssl;
            }
            var buffer = new byte[4096];
            var request = new StringBuilder();
            while (!request.ToString().Contains("\r\n\r\n"))
            {
                var n = await stream.ReadAsync(buffer, _stop.Token);
                if (n == 0) return;
                request.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var text = request.ToString();
            var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
            var length = System.Text.RegularExpressions.Regex.Match(text[..headerEnd], @"(?im)^content-length:\s*(\d+)") is { Success: true } m
                ? int.Parse(m.Groups[1].Value) : 0;
            var body = new StringBuilder(text[headerEnd..]);
            while (Encoding.UTF8.GetByteCount(body.ToString()) < length)
            {
                var n = await stream.ReadAsync(buffer, _stop.Token);
                if (n == 0) break;
                body.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
            var status = Status;
            Interlocked.Increment(ref Requests);
            Received.Enqueue((text[..text.IndexOf('\r')], body.ToString(), status));
            if (Delay > TimeSpan.Zero) await Task.Delay(Delay, _stop.Token);
            var answer = "hello from the test server\n";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(Answer?.Invoke(text[..headerEnd]) ??
                $"HTTP/1.1 {status} Whatever\r\nContent-Length: {answer.Length}\r\nConnection: close\r\n\r\n{answer}"), _stop.Token);
        }
        catch (Exception)
        {
            // The probe may hang up (a timeout test) or refuse our certificate: not this server's problem.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
    }
}
