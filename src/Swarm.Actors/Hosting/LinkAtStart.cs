using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Swarm.Probing;

namespace Swarm.Hosting;

/// <summary>The bee's connection type (ethernet, wifi, cellular, dsl, ppp, unknown): told, or guessed at start.</summary>
public sealed class BeeLink
{
    public string? Connection { get; set; }
}

/// <summary>
/// Guesses the bee's link when the host starts, before the actor system (which gives it to the bee): the operator's
/// <c>Swarm:Bee:Connection</c> when set, else the evidence of this machine (<see cref="LinkGuess"/>). Says which, and why.
/// </summary>
internal sealed class LinkAtStart(SwarmOptions options, IcmpEngine engine, BeeLink link, ILogger<LinkAtStart> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Bee.Connection is { } told)
        {
            link.Connection = told;
            logger.LogInformation("link: {Connection} (Swarm:Bee:Connection)", told);
            return;
        }
        try
        {
            var (kind, why, _) = await LinkProbe.GuessAsync(engine, cancellationToken);
            link.Connection = kind;
            logger.LogInformation("link: guessed {Connection} from {Why} (set Swarm:Bee:Connection if that is wrong)", kind, why);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The first hop could not be measured: the guess stands on the local evidence alone.
            var (kind, why) = LinkGuess.Classify(LinkGuess.Read());
            link.Connection = kind;
            logger.LogWarning("link: guessed {Connection} from {Why}; the first hop was not measured ({Reason})", kind, why, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
