using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A real DNS server (dnsmasq) on a free loopback port, answering for <c>swarm.test</c> from its configuration only
/// (no upstream, no /etc/hosts): A, AAAA, CNAME, MX and TXT records, NXDOMAIN for other names in the zone, REFUSED
/// elsewhere, and a TXT set too big for one 1232-byte UDP reply. Stopped by PID on dispose.
/// </summary>
public sealed class Dnsmasq : IAsyncDisposable
{
    public const string Zone = "swarm.test";

    /// <summary>The TXT strings of <c>big.swarm.test</c>: eight of 201 characters, over 1,600 bytes in all.</summary>
    public static readonly string[] BigTexts = Enumerable.Range(1, 8).Select(i => i + new string('x', 200)).ToArray();

    private readonly TempDir _dir = new();
    private Process? _process;

    public int Port { get; } = FreeUdpAndTcp();
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public static string Binary => File.Exists("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq"
        : throw new InvalidOperationException("dnsmasq is not installed: run ./test.sh (it installs it) or apt-get install dnsmasq-base");

    public static async Task<Dnsmasq> StartAsync()
    {
        var server = new Dnsmasq();
        var conf = server._dir.File("dnsmasq.conf");
        var runAsRoot = Environment.UserName == "root" ? "user=root\n" : "";
        await File.WriteAllTextAsync(conf, $"""
            port={server.Port}
            listen-address=127.0.0.1
            bind-interfaces
            no-resolv
            no-hosts
            pid-file=
            {runAsRoot}local=/{Zone}/
            host-record=www.{Zone},192.0.2.10,2001:db8::10
            cname=alias.{Zone},www.{Zone}
            mx-host={Zone},mail.{Zone},10
            txt-record={Zone},"v=spf1 -all"
            {string.Join("\n", BigTexts.Select(t => $"txt-record=big.{Zone},\"{t}\""))}

            """);
        server._process = FixtureProcess.Start(Binary, ["--keep-in-foreground", "-C", conf, $"--log-facility={server._dir.File("dnsmasq.log")}"]);
        await Ports.WaitListening(server.Port, TimeSpan.FromSeconds(10)); // its TCP listener opens with the UDP one
        return server;
    }

    /// <summary>A port free for both UDP and TCP on loopback.</summary>
    private static int FreeUdpAndTcp()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Ports.Free();
            try
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 100) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await FixtureProcess.StopAsync(_process);
        _dir.Dispose();
    }
}
