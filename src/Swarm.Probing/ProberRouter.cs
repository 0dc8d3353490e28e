namespace Swarm.Probing;

/// <summary>Sends each target to the prober of its kind: host → ICMP, <c>tcp://</c> → TCP connect, <c>http(s)://</c> → HTTP.</summary>
public sealed class ProberRouter(IProber icmp, IProber tcp, IProber http) : IProber
{
    public Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken) =>
        ProbeTarget.Parse(target)?.Kind switch
        {
            ProbeTarget.Icmp => icmp.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Tcp => tcp.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Http => http.ProbeAsync(target, settings, cancellationToken),
            _ => Task.FromResult(ProbeOutcome.Failed(target, "unknown", $"'{target}' is not a host, tcp://host:port or http(s):// URL")),
        };

    /// <summary>The three probers over one engine, each checking every resolved address against <paramref name="policy"/>.</summary>
    public static ProberRouter For(IcmpEngine engine, AddressPolicy policy) =>
        new(new IcmpProber(engine, policy), new TcpProber(engine.Pacer, policy), new HttpProber(engine.Pacer, policy: policy));
}
