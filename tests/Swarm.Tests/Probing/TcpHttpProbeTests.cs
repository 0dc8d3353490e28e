using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

public class TcpHttpProbeTests
{
    private static readonly ProbePacer Pacer = new(ProbeLimits.Unlimited);
    /// <summary>Loopback allowed, as a test bee's Swarm:Probe:AllowNetworks would say: these tests probe their own listeners.</summary>
    private static readonly AddressPolicy Loopback = new([IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")], []);
    private static readonly RoundSettings Round = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(2)) { RequestTimeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Tcp_connects_to_an_open_port_are_timed()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(100);
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var outcome = await new TcpProber(Pacer, Loopback).ProbeAsync($"tcp://127.0.0.1:{port}", Round, default);
        listener.Stop();

        Assert.Null(outcome.Error);
        Assert.Equal("tcp", outcome.Kind);
        Assert.Equal((3, 3, 0.0), (outcome.Stats.Sent, outcome.Stats.Received, outcome.Stats.LossPercent));
        Assert.InRange(outcome.ConnectMs!.Value, 0.0001, Round.Timeout.TotalMilliseconds); // measured, not a timeout
    }

    [Fact]
    public async Task Tcp_to_a_closed_port_is_total_loss_with_the_reason()
    {
        var port = Ports.Free();

        var outcome = await new TcpProber(Pacer, Loopback).ProbeAsync($"tcp://127.0.0.1:{port}", Round, default);

        Assert.Equal(100.0, outcome.Stats.LossPercent);
        Assert.Equal($"connect to 127.0.0.1:{port} failed: connection refused", outcome.Error);
    }

    [Fact]
    public async Task Http_reports_each_phase_and_the_status()
    {
        await using var server = new TestHttpServer();

        var outcome = await new HttpProber(Pacer, policy: Loopback).ProbeAsync($"http://localhost:{server.Port}/health?x=1", Round, default);

        Assert.Null(outcome.Error);
        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal((1, 1), (outcome.Stats.Sent, outcome.Stats.Received));
        Assert.NotNull(outcome.ResolveMs);
        Assert.Null(outcome.TlsMs);
        Assert.True(outcome.ConnectMs <= outcome.TotalMs && outcome.TtfbMs <= outcome.TotalMs, $"{outcome}");
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task Http_5xx_is_an_answer_with_an_error()
    {
        await using var server = new TestHttpServer { Status = 503 };

        var outcome = await new HttpProber(Pacer, policy: Loopback).ProbeAsync($"http://127.0.0.1:{server.Port}/", Round, default);

        Assert.Equal(503, outcome.StatusCode);
        Assert.Equal("HTTP 503", outcome.Error);
        Assert.Equal(1, outcome.Stats.Received);
    }

    [Fact]
    public async Task A_slow_server_is_a_timeout_result()
    {
        await using var server = new TestHttpServer { Delay = TimeSpan.FromSeconds(5) };

        var outcome = await new HttpProber(Pacer, policy: Loopback).ProbeAsync($"http://127.0.0.1:{server.Port}/", Round with { RequestTimeout = TimeSpan.FromMilliseconds(300) }, default);

        Assert.Equal($"no response from 127.0.0.1:{server.Port} within 300 ms", outcome.Error);
        Assert.Equal(100.0, outcome.Stats.LossPercent);
        Assert.NotNull(outcome.ConnectMs);
    }

    [Fact]
    public async Task A_self_signed_certificate_is_a_result_not_a_crash()
    {
        using var cert = TestHttpServer.SelfSignedLocalhost();
        await using var server = new TestHttpServer(cert);

        var outcome = await new HttpProber(Pacer, policy: Loopback).ProbeAsync($"https://localhost:{server.Port}/", Round, default);

        Assert.StartsWith("TLS handshake with localhost failed: certificate not accepted (RemoteCertificateChainErrors", outcome.Error);
        Assert.Null(outcome.StatusCode);
        Assert.Equal(0, server.Requests);
        // The refused certificate is still described: what it is and when it expires is what the operator needs.
        Assert.Equal("localhost", outcome.Certificate!.Subject);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(cert.RawData)), outcome.Certificate.Sha256);
    }

    [Fact]
    public async Task Https_with_a_trusted_private_ca_times_the_handshake()
    {
        using var cert = TestHttpServer.SelfSignedLocalhost();
        await using var server = new TestHttpServer(cert);
        using var publicPart = X509CertificateLoader.LoadCertificate(cert.Export(X509ContentType.Cert));

        var outcome = await new HttpProber(Pacer, [publicPart], Loopback).ProbeAsync($"https://localhost:{server.Port}/", Round, default);

        Assert.Null(outcome.Error);
        Assert.Equal(200, outcome.StatusCode);
        Assert.InRange(outcome.TlsMs!.Value, 0.001, 2000);
        Assert.Equal(("localhost", "localhost"), (outcome.Certificate!.Subject, outcome.Certificate.Issuer));
        Assert.Equal(cert.NotAfter.ToUniversalTime(), outcome.Certificate.NotAfter);
    }

    [Fact]
    public async Task The_router_sends_each_kind_to_its_prober()
    {
        using var engine = IcmpEngine.Open(ProbeLimits.Unlimited);
        var router = ProberRouter.For(engine, Loopback);
        var closed = Ports.Free();

        Assert.Equal("icmp", (await router.ProbeAsync("127.0.0.1", Round, default)).Kind);
        Assert.Equal("tcp", (await router.ProbeAsync($"tcp://127.0.0.1:{closed}", Round, default)).Kind);
        Assert.Equal("http", (await router.ProbeAsync($"http://127.0.0.1:{closed}/", Round, default)).Kind);
        Assert.Equal("unknown", (await router.ProbeAsync("ftp://x/", Round, default)).Kind);
    }
}
