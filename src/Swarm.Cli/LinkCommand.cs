using System.CommandLine;
using System.Text.Json.Nodes;
using Swarm.Probing;

namespace Swarm.Cli;

/// <summary><c>swarm link</c>: the connection type a bee on this machine would guess, and the evidence.</summary>
internal static class LinkCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "The guess and its evidence as JSON." };
        var command = new Command("link", "Guess this machine's connection type as a bee does (ethernet, wifi, cellular, dsl, ppp, unknown), " +
                                          "from the default route's interface, its MTU and the first hop's RTT, and say why. " +
                                          "Without ICMP rights the first hop is not measured.") { json };
        command.SetAction(async (result, cancellationToken) =>
        {
            IcmpEngine? engine = null;
            try { engine = IcmpEngine.Open(ProbeLimits.Unlimited); }
            catch (IcmpUnavailableException e) { Console.Error.WriteLine($"swarm link: the first hop is not measured: {e.Message}"); }
            using var _ = engine;
            var (kind, why, evidence) = await LinkProbe.GuessAsync(engine, cancellationToken);
            if (result.GetValue(json))
            {
                Console.Out.WriteLine(new JsonObject
                {
                    ["connection"] = kind,
                    ["why"] = why,
                    ["interface"] = evidence.Interface,
                    ["kind"] = evidence.Kind,
                    ["mtu"] = evidence.Mtu,
                    ["gateway"] = evidence.Gateway?.ToString(),
                    ["gateway_ms"] = evidence.GatewayMs,
                    ["gateway_jitter_ms"] = evidence.GatewayJitterMs,
                }.ToJsonString());
            }
            else
            {
                Console.Out.WriteLine($"{kind}: {why}");
            }
            return 0;
        });
        return command;
    }
}
