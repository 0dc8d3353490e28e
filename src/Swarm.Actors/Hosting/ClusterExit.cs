using Akka.Actor;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Swarm.Hosting;

/// <summary>
/// Ends the process with exit code 3 when the actor system stops on its own (this node was downed by the Split Brain
/// Resolver, or removed), so that a supervisor (Kubernetes, systemd) restarts it into the cluster: an Akka node
/// cannot rejoin once removed. A stop the host asked for (SIGTERM) exits normally.
/// </summary>
public sealed class ClusterExit(ActorSystem system, IHostApplicationLifetime lifetime, ILogger<ClusterExit> logger) : IHostedService
{
    public const int DownedExitCode = 3;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        system.WhenTerminated.ContinueWith(_ =>
        {
            if (lifetime.ApplicationStopping.IsCancellationRequested) return;
            var reason = CoordinatedShutdown.Get(system).ShutdownReason?.GetType().Name ?? "unknown";
            logger.LogError("this node left the cluster without being asked to ({Reason}); exiting with code {Code} so that its supervisor restarts it",
                reason, DownedExitCode);
            Environment.ExitCode = DownedExitCode;
            lifetime.StopApplication();
        }, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
