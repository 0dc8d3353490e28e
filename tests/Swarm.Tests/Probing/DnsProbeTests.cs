using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Swarm.Probing;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Probing;

/// <summary><c>dns://</c> probes against a real DNS server (dnsmasq) on loopback, and against resolvers that misbehave.</summary>
public sealed class DnsProbeTests
{
    private static readonly ProbePacer Pacer = new(ProbeLimits.Unlimited);
    private static readonly AddressPolicy Loopback = new([IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")], []);
    private static readonly RoundSettings Round = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(2));

    private static Task<ProbeOutcome> Probe(string target, RoundSettings? round = null, AddressPolicy? policy = null, Func<IPEndPoint?>? system = null) =>
        new DnsProber(Pacer, policy ?? Loopback, system).ProbeAsync(ProbeTarget.Normalize(target) ?? target, round ?? Round, default);

    [Fact]
    public async Task Each_record_type_is_asked_timed_and_answered_as_dig_prints_it()
    {
        await using var dns = await Dnsmasq.StartAsync();
        var at = $"dns://127.0.0.1:{dns.Port}";

        var a = await Probe($"{at}/WWW.swarm.test.?type=a");
        Assert.Null(a.Error);
        Assert.Equal(("dns", "127.0.0.1", 3, 3), (a.Kind, a.Address, a.Stats.Sent, a.Stats.Received));
        Assert.InRange(a.Stats.MedianMs!.Value, 0.001, 2000);
        Assert.Equal(($"127.0.0.1:{dns.Port}", "www.swarm.test", "A", "NOERROR", "udp"), (a.Dns!.Server, a.Dns.Name, a.Dns.Type, a.Dns.Rcode, a.Dns.Transport));
        Assert.Equal(["www.swarm.test A 192.0.2.10"], a.Dns.Answers!.Select(r => $"{r.Name} {r.Type} {r.Data}"));

        Assert.Equal(["2001:db8::10"], (await Probe($"{at}/www.swarm.test?type=AAAA")).Dns!.Answers!.Select(r => r.Data));
        Assert.Equal(["10 mail.swarm.test."], (await Probe($"{at}/swarm.test?type=MX")).Dns!.Answers!.Select(r => r.Data));
        Assert.Equal(["\"v=spf1 -all\""], (await Probe($"{at}/swarm.test?type=TXT")).Dns!.Answers!.Select(r => r.Data));
        Assert.Equal(["CNAME www.swarm.test.", "A 192.0.2.10"], (await Probe($"{at}/alias.swarm.test")).Dns!.Answers!.Select(r => $"{r.Type} {r.Data}"));
    }

    [Fact]
    public async Task Nxdomain_and_refused_are_answers_that_say_what_the_resolver_said()
    {
        await using var dns = await Dnsmasq.StartAsync();

        var missing = await Probe($"dns://127.0.0.1:{dns.Port}/nope.swarm.test?type=A");
        Assert.Equal((3, "NXDOMAIN"), (missing.Stats.Received, missing.Dns!.Rcode));
        Assert.Equal($"nope.swarm.test A: NXDOMAIN from 127.0.0.1:{dns.Port}", missing.Error);
        Assert.Empty(missing.Dns.Answers!);

        var elsewhere = await Probe($"dns://127.0.0.1:{dns.Port}/free.fr?type=A"); // dnsmasq has no upstream
        Assert.Equal("REFUSED", elsewhere.Dns!.Rcode);

        var none = await Probe($"dns://127.0.0.1:{dns.Port}/www.swarm.test?type=MX");
        Assert.Equal(("NOERROR", $"www.swarm.test has no MX record (NOERROR, no answers from 127.0.0.1:{dns.Port})"), (none.Dns!.Rcode, none.Error));
    }

    [Fact]
    public async Task A_truncated_udp_reply_is_asked_again_over_tcp_and_every_answer_comes()
    {
        await using var dns = await Dnsmasq.StartAsync();

        var big = await Probe($"dns://127.0.0.1:{dns.Port}/big.swarm.test?type=TXT");

        Assert.Null(big.Error);
        Assert.Equal(("tcp", 3), (big.Dns!.Transport, big.Stats.Received));
        Assert.Equal(Dnsmasq.BigTexts.Select(t => $"\"{t}\"").Order(), big.Dns.Answers!.Select(r => r.Data).Order());
    }

    [Fact]
    public async Task A_resolver_that_never_answers_is_total_loss_within_the_timeout()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)silent.LocalEndPoint!).Port;
        var round = Round with { Timeout = TimeSpan.FromMilliseconds(300) };

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = await Probe($"dns://127.0.0.1:{port}/www.swarm.test?type=A", round);

        Assert.Equal((3, 0, 100.0), (outcome.Stats.Sent, outcome.Stats.Received, outcome.Stats.LossPercent));
        Assert.Equal($"no answer from 127.0.0.1:{port} over UDP within 300 ms", outcome.Error);
        Assert.Null(outcome.Dns!.Rcode);
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
        Assert.True(silent.Available > 0, "the questions reached the silent resolver");
    }

    [Fact]
    public async Task A_closed_port_is_reported_as_unreachable_at_once()
    {
        var port = Ports.Free();
        var outcome = await Probe($"dns://127.0.0.1:{port}/www.swarm.test?type=A", Round with { Count = 1 });
        Assert.Equal($"question to 127.0.0.1:{port} over UDP failed: port unreachable", outcome.Error);
    }

    [Fact]
    public async Task Replies_to_another_id_or_question_are_ignored_and_the_real_one_is_taken()
    {
        using var resolver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        resolver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)resolver.LocalEndPoint!).Port;
        var answering = Task.Run(async () =>
        {
            var buffer = new byte[1500];
            var received = await resolver.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
            var query = buffer[..received.ReceivedBytes];
            var id = BinaryPrimitives.ReadUInt16BigEndian(query);
            await resolver.SendToAsync(Reply(query, (ushort)(id + 1), [192, 0, 2, 66]), received.RemoteEndPoint);      // a spoof's guess
            await resolver.SendToAsync(Reply(DnsWire.Query(id, "evil.example", 1), id, [192, 0, 2, 66]), received.RemoteEndPoint); // another question
            await resolver.SendToAsync(query, received.RemoteEndPoint);                                                   // not a reply
            await resolver.SendToAsync(Reply(query, id, [192, 0, 2, 7]), received.RemoteEndPoint);
        });

        var outcome = await Probe($"dns://127.0.0.1:{port}/www.swarm.test?type=A", Round with { Count = 1 });
        await answering;

        Assert.Null(outcome.Error);
        Assert.Equal(["192.0.2.7"], outcome.Dns!.Answers!.Select(r => r.Data));
    }

    [Fact]
    public void A_refusal_that_does_not_echo_the_question_is_still_the_resolvers_answer()
    {
        var reply = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(reply, 4242);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), 0x8005); // a reply, REFUSED, no question
        Assert.Equal("REFUSED", DnsWire.Read(reply, 4242, "www.swarm.test", 1, out _)!.RcodeName);
        Assert.Null(DnsWire.Read(reply, 4243, "www.swarm.test", 1, out var problem)); // another id: not ours
        Assert.Equal("another query's id", problem);
    }

    [Fact]
    public async Task Without_a_server_the_system_resolver_is_asked()
    {
        await using var dns = await Dnsmasq.StartAsync();

        var outcome = await Probe("dns:///www.swarm.test?type=A", policy: AddressPolicy.Default, system: () => dns.EndPoint);

        Assert.Null(outcome.Error);
        Assert.Equal($"127.0.0.1:{dns.Port}", outcome.Dns!.Server);
        Assert.Equal(["192.0.2.10"], outcome.Dns.Answers!.Select(r => r.Data));
        Assert.Equal("no system resolver: /etc/resolv.conf names no nameserver",
            (await Probe("dns:///www.swarm.test?type=A", system: () => null)).Error);
    }

    [Fact]
    public async Task A_resolver_on_a_private_address_is_probed_only_where_the_policy_allows()
    {
        var outcome = await Probe("dns://127.0.0.1:53/www.swarm.test?type=A", policy: AddressPolicy.Default);

        Assert.Equal("not probed: 127.0.0.1 is a loopback or private address: dns probes reach it only if Swarm:Probe:AllowNetworks lists it", outcome.Error);
        Assert.Equal(0, outcome.Stats.Sent);
    }

    [Theory]
    [InlineData("dns://127.0.0.1/www.example.com", "dns://127.0.0.1/www.example.com?type=A")]
    [InlineData("DNS://1.1.1.1:53/WWW.Example.COM.?type=aaaa", "dns://1.1.1.1/www.example.com?type=AAAA")]
    [InlineData("dns://[2001:DB8::1]:5353/_dmarc.example.com?type=TXT", "dns://[2001:db8::1]:5353/_dmarc.example.com?type=TXT")]
    [InlineData("dns://Resolver.example/example.com?type=MX", "dns://resolver.example/example.com?type=MX")]
    [InlineData("dns:///example.com?type=NS", "dns:///example.com?type=NS")]
    public void Dns_targets_have_one_canonical_form(string written, string canonical) =>
        Assert.Equal(canonical, ProbeTarget.Normalize(written));

    [Theory]
    [InlineData("dns://1.1.1.1")]
    [InlineData("dns://1.1.1.1/")]
    [InlineData("dns://1.1.1.1/bad name")]
    [InlineData("dns://1.1.1.1/x.example?type=ANY")]
    [InlineData("dns://1.1.1.1/x.example?class=CH")]
    [InlineData("dns://2001:db8::1/x.example")]
    [InlineData("dns://1.1.1.1:0/x.example")]
    [InlineData("dns://1.1.1.1:99999/x.example")]
    [InlineData("dns://1.1.1.1/a..b")]
    public void Bad_dns_targets_are_refused_with_the_form_to_use(string entry)
    {
        Assert.Null(ProbeTarget.Normalize(entry));
        Assert.StartsWith("a DNS target is dns://server[:port]/name?type=A|AAAA", ProbeTarget.Problem(entry));
    }

    [Fact]
    public async Task Ten_thousand_damaged_replies_never_throw_and_what_is_read_stays_bounded()
    {
        await using var dns = await Dnsmasq.StartAsync();
        var samples = new List<(byte[] Reply, ushort Id, string Name, ushort Type)>();
        foreach (var (name, type) in new[] { ("alias.swarm.test", (ushort)1), ("swarm.test", (ushort)15), ("swarm.test", (ushort)16), ("www.swarm.test", (ushort)28) })
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            await udp.ConnectAsync(dns.EndPoint);
            var id = (ushort)Random.Shared.Next(65536);
            await udp.SendAsync(DnsWire.Query(id, name, type));
            var buffer = new byte[4096];
            var n = await udp.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(DnsWire.Read(buffer.AsSpan(0, n), id, name, type, out _));
            samples.Add((buffer[..n], id, name, type));
        }

        var random = new Random(20261202);
        var read = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var (reply, id, name, type) = samples[random.Next(samples.Count)];
            var damaged = Damage(random, reply);
            var result = DnsWire.Read(damaged, id, name, type, out var problem);
            if (result is null)
            {
                Assert.False(string.IsNullOrEmpty(problem));
                continue;
            }
            read++;
            Assert.InRange(result.Answers.Count, 0, DnsWire.MaxAnswers);
            Assert.All(result.Answers, a => Assert.InRange(a.Data.Length, 0, DnsWire.MaxData));
        }
        Assert.InRange(read, 100, 9_900); // some damage leaves a readable reply, most does not
    }

    /// <summary>A reply damaged one way: flipped bytes, cut short, a compression pointer aimed anywhere, counts raised, or noise.</summary>
    private static byte[] Damage(Random random, byte[] reply)
    {
        var bytes = reply.ToArray();
        switch (random.Next(5))
        {
            case 0:
                for (var i = 0; i < 1 + random.Next(4); i++) bytes[12 + random.Next(bytes.Length - 12)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
            {
                var at = 12 + random.Next(bytes.Length - 13);
                (bytes[at], bytes[at + 1]) = ((byte)(0xC0 | random.Next(64)), (byte)random.Next(256));
                return bytes;
            }
            case 3:
                BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), (ushort)random.Next(65536)); // ANCOUNT
                return bytes;
            default:
            {
                var noise = new byte[random.Next(0, 600)];
                random.NextBytes(noise);
                if (noise.Length >= 2) noise[0] = bytes[0];
                if (noise.Length >= 2) noise[1] = bytes[1];
                return noise;
            }
        }
    }

    /// <summary>A reply to <paramref name="query"/> under <paramref name="id"/>: its question, and one A record pointing at it.</summary>
    private static byte[] Reply(byte[] query, ushort id, byte[] address)
    {
        var questionEnd = 12;
        while (query[questionEnd] != 0) questionEnd += query[questionEnd] + 1;
        questionEnd += 5;
        var reply = new byte[questionEnd + 16];
        query.AsSpan(0, questionEnd).CopyTo(reply);
        BinaryPrimitives.WriteUInt16BigEndian(reply, id);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), 0x8180); // a reply, recursion desired and available
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(10), 0);
        byte[] answer = [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, .. address];
        answer.CopyTo(reply, questionEnd);
        return reply;
    }
}
