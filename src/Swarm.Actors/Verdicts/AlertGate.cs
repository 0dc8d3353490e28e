using Swarm.Protocol;

namespace Swarm.Verdicts;

/// <summary>
/// Turns a verdict that changes at every round into alerts that do not flap: degraded must hold for
/// <see cref="VerdictSettings.EnterAfter"/> to raise, ok for <see cref="VerdictSettings.LeaveAfter"/> to clear.
/// A change between degraded verdicts (everyone → some-places) while raised is not a new alert.
/// </summary>
public sealed class AlertGate(VerdictSettings settings)
{
    private bool _degraded;
    private DateTime _candidateSince;
    private string _lastDegraded = VerdictKinds.Ok;

    public bool Raised { get; private set; }

    /// <summary>Takes the verdict now; returns <see cref="Alert.Raised"/> or <see cref="Alert.Cleared"/> when the alert changes, else null.</summary>
    public string? Feed(string verdict, DateTime now)
    {
        var degraded = verdict != VerdictKinds.Ok;
        if (degraded) _lastDegraded = verdict;
        if (degraded != _degraded || _candidateSince == default) (_degraded, _candidateSince) = (degraded, now);
        if (!Raised && degraded && now - _candidateSince >= settings.EnterAfter)
        {
            Raised = true;
            return Alert.Raised;
        }
        if (Raised && !degraded && now - _candidateSince >= settings.LeaveAfter)
        {
            Raised = false;
            return Alert.Cleared;
        }
        return null;
    }

    /// <summary>Takes up an alert raised before (by this subject's entity on another queen, or before a restart).</summary>
    public void Resume(string verdict, DateTime since)
    {
        (Raised, _degraded, _candidateSince, _lastDegraded) = (true, true, since, verdict);
    }

    /// <summary>When the current run of degraded (or ok) began.</summary>
    public DateTime CandidateSince => _candidateSince;

    /// <summary>The degraded verdict the alert is about (the latest one seen).</summary>
    public string LastDegraded => _lastDegraded;
}
