using Akka.Actor;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Swarm.Hosting;

/// <summary>
/// Chooses the process exit code when the actor system stops: 3 when this node was downed by the Split Brain Resolver
/// or could not join, so that a supervisor (Kubernetes, systemd) restarts it into the cluster (an Akka node cannot
/// rejoin once removed); 0 when it left because it was asked to (SIGTERM, <c>cluster leave</c>).
/// </summary>
public sealed class ClusterExit(ActorSystem system, IHostApplicationLifetime lifetime, NodeVerdict verdict, ILogger<ClusterExit> logger) : IHostedService
{
    public const int DownedExitCode = 3;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Akka.Hosting stops the host as soon as the actor system terminates; the reason is what tells the cases apart.
        system.WhenTerminated.ContinueWith(_ =>
        {
            var reason = CoordinatedShutdown.Get(system).ShutdownReason;
            switch (reason)
            {
                case CoordinatedShutdown.ClusterDowningReason or CoordinatedShutdown.ClusterJoinUnsuccessfulReason:
                    logger.LogError("this node was removed from the cluster ({Reason}); exiting with code {Code} so that its supervisor restarts it",
                        reason.GetType().Name, DownedExitCode);
                    verdict.ExitCode = DownedExitCode;
                    break;
                case CoordinatedShutdown.ClusterLeavingReason:
                    logger.LogInformation("this node left the cluster as asked; stopping");
                    verdict.ExitCode = 0;
                    break;
            }
            lifetime.StopApplication();
        }, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The exit code the cluster's verdict calls for, once known (a singleton of the host). Hosts return it: Akka.Hosting
/// sets its own (-1) when the actor system ends by itself, and which of us runs last is a race.
/// </summary>
public sealed class NodeVerdict
{
    public int? ExitCode { get; set; }
}
