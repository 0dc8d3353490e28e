using System.Net;
using System.Net.Sockets;
using Swarm.Probing;
using Swarm.Targets;

namespace Swarm.Tests.Probing;

public sealed class AddressPolicyTests
{
    private static readonly RoundSettings Round = new(1, TimeSpan.Zero, TimeSpan.FromSeconds(1)) { RequestTimeout = TimeSpan.FromSeconds(2) };

    [Theory]
    [InlineData("169.254.169.254", "icmp", "169.254.169.254 is link-local (cloud metadata lives there): never probed")]
    [InlineData("::ffff:169.254.169.254", "http", "169.254.169.254 is link-local (cloud metadata lives there): never probed")]
    [InlineData("0.0.0.0", "icmp", "0.0.0.0 is an unspecified address: never probed")]
    [InlineData("::", "tcp", ":: is an unspecified address: never probed")]
    [InlineData("224.0.0.1", "icmp", "224.0.0.1 is multicast: never probed")]
    [InlineData("ff02::1", "icmp", "ff02::1 is multicast: never probed")]
    [InlineData("255.255.255.255", "icmp", "255.255.255.255 is broadcast: never probed")]
    [InlineData("fe80::1", "icmp", "fe80::1 is link-local: never probed")]
    [InlineData("127.0.0.1", "tcp", "127.0.0.1 is a loopback or private address: tcp probes reach it only if Swarm:Probe:AllowNetworks lists it")]
    [InlineData("10.1.2.3", "http", "10.1.2.3 is a loopback or private address: http probes reach it only if Swarm:Probe:AllowNetworks lists it")]
    [InlineData("fd00::1", "tcp", "fd00::1 is a loopback or private address: tcp probes reach it only if Swarm:Probe:AllowNetworks lists it")]
    [InlineData("127.0.0.1", "icmp", null)]
    [InlineData("192.168.1.1", "icmp", null)]
    [InlineData("8.8.8.8", "http", null)]
    [InlineData("2001:db8::1", "tcp", null)]
    public void The_default_policy_refuses_what_must_never_be_probed_and_keeps_tcp_and_http_off_private_ranges(string address, string kind, string? refusal) =>
        Assert.Equal(refusal, AddressPolicy.Default.Refusal(IPAddress.Parse(address), kind));

    [Fact]
    public void Allowed_networks_open_private_ranges_to_tcp_and_http_and_denied_ones_close_everything_even_to_ping()
    {
        var errors = new List<string>();
        var policy = new AddressPolicy(
            AddressPolicy.ParseNetworks("Swarm:Probe:AllowNetworks", ["127.0.0.0/8", "::1"], errors),
            AddressPolicy.ParseNetworks("Swarm:Probe:DenyNetworks", ["127.0.0.66/32", "8.8.0.0/16"], errors));

        Assert.Empty(errors);
        Assert.Null(policy.Refusal(IPAddress.Loopback, "tcp"));
        Assert.Null(policy.Refusal(IPAddress.IPv6Loopback, "http"));
        Assert.Equal("127.0.0.66 is in 127.0.0.66/32, which Swarm:Probe:DenyNetworks denies", policy.Refusal(IPAddress.Parse("127.0.0.66"), "icmp"));
        Assert.Equal("8.8.8.8 is in 8.8.0.0/16, which Swarm:Probe:DenyNetworks denies", policy.Refusal(IPAddress.Parse("8.8.8.8"), "http"));
        Assert.NotNull(policy.Refusal(IPAddress.Parse("169.254.169.254"), "icmp")); // never, whatever is allowed
    }

    [Fact]
    public void A_bad_network_in_the_configuration_is_reported_with_its_key_and_an_example()
    {
        var errors = new List<string>();
        AddressPolicy.ParseNetworks("Swarm:Probe:DenyNetworks", ["10.0.0.0/33", "ten"], errors);
        Assert.Equal([
            "Swarm:Probe:DenyNetworks: '10.0.0.0/33' is not a network in CIDR form, e.g. 10.20.0.0/16 or fd00::/8",
            "Swarm:Probe:DenyNetworks: 'ten' is not a network in CIDR form, e.g. 10.20.0.0/16 or fd00::/8"], errors);
    }

    [Fact]
    public async Task A_name_is_judged_by_the_address_it_resolves_to_at_probe_time()
    {
        // "localhost" passes every check on its text; only resolution shows it points at loopback. A name rebound
        // between watch and probe is caught the same way.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            var denied = await new TcpProber(new ProbePacer(ProbeLimits.Unlimited)).ProbeAsync($"tcp://localhost:{port}", Round, default);
            var http = await new HttpProber(new ProbePacer(ProbeLimits.Unlimited)).ProbeAsync($"http://localhost:{port}/", Round, default);

            Assert.Equal("not probed: 127.0.0.1 is a loopback or private address: tcp probes reach it only if Swarm:Probe:AllowNetworks lists it", denied.Error);
            Assert.Equal(0, denied.Stats.Sent);
            Assert.Null(http.StatusCode);
            Assert.StartsWith("not probed: 127.0.0.1 is a loopback or private address: http probes", http.Error);
            Assert.False(listener.Pending()); // nothing ever connected
        }
        finally
        {
            listener.Stop();
        }
    }

    [Theory]
    [InlineData("169.254.169.254", "'169.254.169.254': 169.254.169.254 is link-local (cloud metadata lives there): never probed")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local")]
    [InlineData("tcp://[ff02::1]:80", "ff02::1 is multicast: never probed")]
    [InlineData("http://user:secret@example.com/", "a URL with credentials is refused")]
    public void Watch_refuses_a_literal_that_can_never_pass_and_urls_with_credentials(string entry, string reason)
    {
        var parsed = WatchPayload.Parse("watch", System.Text.Encoding.UTF8.GetBytes($"free.fr {entry}"), new WatchLimits());

        Assert.Null(parsed.Command);
        Assert.StartsWith("1 entry refused: ", parsed.Error);
        Assert.Contains(reason, parsed.Error);
    }

    [Fact]
    public void Watch_refuses_a_target_too_long_for_a_topic_and_says_the_limit()
    {
        var url = "https://example.com/" + new string('a', 70_000);

        var parsed = WatchPayload.Parse("watch", System.Text.Encoding.UTF8.GetBytes(url), new WatchLimits(MaxPayloadBytes: 100_000));

        Assert.Equal($"1 entry refused: '{url[..64]}…': {url.Length} characters, over the limit of {ProbeTarget.MaxLength}", parsed.Error);
    }
}
