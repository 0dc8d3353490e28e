namespace Swarm.Probing;

/// <summary>
/// Sends each target to the prober of its kind: host → ICMP, <c>tcp://</c> → TCP connect, <c>http(s)://</c> → HTTP,
/// <c>dns://</c> → a DNS question.
/// </summary>
public sealed class ProberRouter(IProber icmp, IProber tcp, IProber http, IProber dns) : IProber
{
    public Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken) =>
        ProbeTarget.Parse(target)?.Kind switch
        {
            ProbeTarget.Icmp => icmp.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Tcp => tcp.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Http => http.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Dns => dns.ProbeAsync(target, settings, cancellationToken),
            _ => Task.FromResult(ProbeOutcome.Failed(target, "unknown", $"'{target}' is {ProbeTarget.Forms}")),
        };

    /// <summary>The probers over one engine, each checking every resolved address against <paramref name="policy"/>.</summary>
    public static ProberRouter For(IcmpEngine engine, AddressPolicy policy) =>
        new(new IcmpProber(engine, policy), new TcpProber(engine.Pacer, policy), new HttpProber(engine.Pacer, policy: policy),
            new DnsProber(engine.Pacer, policy));
}
