namespace Swarm.Probing;

/// <summary>An ICMP echo round: resolve the target (timed apart), then send <c>Count</c> echoes at <c>Spacing</c>.</summary>
public sealed class IcmpProber(IcmpEngine engine, AddressPolicy? policy = null) : IProber
{
    public const string Kind = ProbeTarget.Icmp;

    public async Task<ProbeOutcome> ProbeAsync(string target, RoundSettings settings, CancellationToken cancellationToken)
    {
        var parsed = ProbeTarget.Parse(target) is { Kind: Kind } p ? p : throw new ArgumentException($"not an ICMP target: {target}");
        var (address, resolveMs, error) = await HostResolver.ResolveAsync(parsed.Host, Kind, policy ?? AddressPolicy.Default, cancellationToken, parsed.Family);
        if (address is null) return ProbeOutcome.Failed(target, Kind, error!, resolveMs);

        var replies = await engine.RoundAsync(address, settings.Count, settings.Spacing, settings.Timeout, cancellationToken);
        var rtts = replies.Rtts.Where(r => r.HasValue).Select(r => r!.Value).ToArray();
        var stats = RoundStats.Of(settings.Count, rtts);
        var failure = stats.Received > 0 ? null
            : replies.Error ?? $"no reply from {address} to {settings.Count} echoes within {settings.Timeout.TotalMilliseconds:0} ms";
        return new ProbeOutcome(target, Kind, address.ToString(), resolveMs, stats, failure);
    }
}
