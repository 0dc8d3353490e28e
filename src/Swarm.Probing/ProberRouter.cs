namespace Swarm.Probing;

/// <summary>
/// Sends each target to the prober of its kind: host → ICMP, <c>tcp://</c> → TCP connect, <c>http(s)://</c> → HTTP,
/// <c>dns://</c> → a DNS question.
/// </summary>
public sealed class ProberRouter(IProber icmp, IProber tcp, IProber http, IProber dns, IProber? trace = null) : IProber
{
    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        if (ProbeTarget.Parse(target) is not { Family: IpFamily.Both }) return await ProbeOneAsync(target, settings, cancellationToken);
        // Both families in the same round, side by side: one outcome each, under its own family's target.
        var v4 = ProbeOneAsync(ProbeTarget.ForFamily(target, IpFamily.V4), settings, cancellationToken);
        var v6 = ProbeOneAsync(ProbeTarget.ForFamily(target, IpFamily.V6), settings, cancellationToken);
        await Task.WhenAll(v4, v6).ContinueWith(_ => { }, TaskScheduler.Default); // both end before either's outcome is read
        return (await v4) with { OtherFamily = await v6 };
    }

    private Task<ProbeOutcome> ProbeOneAsync(string target, RoundSettings settings, CancellationToken cancellationToken) =>
        ProbeTarget.Parse(target)?.Kind switch
        {
            ProbeTarget.Icmp => icmp.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Tcp => tcp.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Http => http.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Dns => dns.ProbeAsync(target, settings, cancellationToken),
            ProbeTarget.Trace when trace is not null => trace.ProbeAsync(target, settings, cancellationToken),
            _ => Task.FromResult(ProbeOutcome.Failed(target, "unknown", $"'{target}' is {ProbeTarget.Forms}")),
        };

    /// <summary>The probers over one engine, each checking every resolved address against <paramref name="policy"/>.</summary>
    /// <param name="names">Whether path probes name their hops (reverse lookups through the system's resolver).</param>
    public static ProberRouter For(IcmpEngine engine, AddressPolicy policy, bool names = true) =>
        new(new IcmpProber(engine, policy), new TcpProber(engine.Pacer, policy), new HttpProber(engine.Pacer, policy: policy),
            new DnsProber(engine.Pacer, policy), new TraceProber(engine.Pacer, policy, names ? HopNames.LookupAsync : null));
}
