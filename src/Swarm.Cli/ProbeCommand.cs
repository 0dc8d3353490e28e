using System.CommandLine;
using System.Text.Json;
using Swarm.Probing;
using Swarm.Serialization;

namespace Swarm.Cli;

/// <summary><c>swarm probe</c>: fping-like one-shot rounds against any targets, for people and for benchmarks.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count", "-c") { Description = "Echoes (or connects) per target.", DefaultValueFactory = _ => 5 };
        var period = new Option<int>("--period", "-p") { Description = "Milliseconds between two probes of one target (fping -p).", DefaultValueFactory = _ => 1000 };
        var interval = new Option<int>("--interval", "-i") { Description = "Least milliseconds between any two probes; 0 = as fast as possible (fping -i).", DefaultValueFactory = _ => 10 };
        var timeout = new Option<int>("--timeout", "-t") { Description = "Milliseconds to wait for each reply (HTTP: for the whole request).", DefaultValueFactory = _ => 500 };
        var json = new Option<bool>("--json") { Description = "One JSON result per target, as published on ping/<target>." };
        var noNames = new Option<bool>("--no-names", "-n") { Description = "trace://: show hop addresses only, no reverse lookups (mtr -n)." };
        var targets = new Argument<string[]>("targets")
        {
            Description = "Hosts or IP addresses (ICMP), tcp://host:port (TCP connect), http(s)://... (HTTP GET), " +
                          "dns://server/name?type=A|AAAA|MX|TXT|NS (a DNS question; dns:///name asks the system's resolver). " +
                          "One family: icmp4://host, icmp6://host, or ?family=4|6; ?family=both measures the two in the same round. " +
                          "trace://host[?proto=udp&max=30]: the path hop by hop, as mtr --report (-c probes per hop).",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("probe", "Probe targets once and print one summary line per target, as fping -c does. " +
                                           "Exit code: 0 all answered, 1 some never answered, 2 a name did not resolve, 3 bad arguments, 4 no ICMP rights.")
        {
            count, period, interval, timeout, json, noNames, targets,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            // Checked here, not in a validator: validators see options left at their default as 0.
            var errors = new List<string>();
            if (result.GetValue(count) is < 1 or > 100_000) errors.Add("--count must be from 1 to 100000");
            if (result.GetValue(period) is < 0 or > 3_600_000) errors.Add("--period must be from 0 to 3600000 ms");
            if (result.GetValue(interval) is < 0 or > 60_000) errors.Add("--interval must be from 0 to 60000 ms");
            if (result.GetValue(timeout) is < 1 or > 600_000) errors.Add("--timeout must be from 1 to 600000 ms");
            if (ProbeTarget.Refusal(result.GetValue(targets)!) is { } refusal) errors.Add(refusal);
            if (errors.Count > 0)
            {
                foreach (var error in errors) Console.Error.WriteLine($"swarm probe: {error}");
                return ProbeReport.BadArguments;
            }
            var limits = new ProbeLimits(
                result.GetValue(interval) is var i and > 0 ? Math.Max(1, 1000 / i) : 0,
                TimeSpan.FromMilliseconds(result.GetValue(period)));
            IcmpEngine engine;
            try
            {
                engine = IcmpEngine.Open(limits);
            }
            catch (IcmpUnavailableException e)
            {
                Console.Error.WriteLine($"swarm probe: {e.Message}");
                return ProbeReport.SystemFailure;
            }
            using var _ = engine;
            var settings = new RoundSettings(result.GetValue(count), TimeSpan.FromMilliseconds(result.GetValue(period)),
                TimeSpan.FromMilliseconds(result.GetValue(timeout))) { RequestTimeout = TimeSpan.FromMilliseconds(result.GetValue(timeout)) };
            var prober = ProberRouter.For(engine, AddressPolicy.Operator, names: !result.GetValue(noNames));
            var list = result.GetValue(targets)!.Select(t => ProbeTarget.Normalize(t)!).Distinct().ToList();
            var started = DateTime.UtcNow;
            var rounds = await Task.WhenAll(list.Select(t => prober.ProbeAsync(t, settings, cancellationToken)));
            // A family=both target prints two lines, IPv4's then IPv6's, side by side.
            var outcomes = rounds.SelectMany(o => o.OtherFamily is { } v6 ? [o, v6] : new[] { o }).ToArray();
            var width = outcomes.Max(o => o.Target.Length);
            for (var n = 0; n < outcomes.Length; n++)
            {
                Console.Out.WriteLine(result.GetValue(json)
                    ? JsonSerializer.Serialize(outcomes[n].ToResult(Environment.MachineName.ToLowerInvariant(), n + 1, started, null), SwarmJson.Wire.ProbeResult)
                    : ProbeReport.SummaryLine(outcomes[n], width));
                if (!result.GetValue(json))
                    foreach (var line in ProbeReport.PathLines(outcomes[n])) Console.Out.WriteLine(line);
            }
            return ProbeReport.ExitCode(outcomes);
        });
        return command;
    }
}
