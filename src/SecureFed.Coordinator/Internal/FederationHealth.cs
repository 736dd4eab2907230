using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureFed.Identity;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// What grpc.health.v1 reports: SERVING while rounds complete, NOT_SERVING (with the reason) after
/// <see cref="ConnectionLimits.UnhealthyAfterAborts"/> consecutive aborted rounds or once the federation stopped on an
/// error, SERVING again after the next completed round. Fed from the orchestrator's round reports. Thread-safe.
/// </summary>
internal sealed class FederationHealth(int unhealthyAfterAborts)
{
    private readonly Lock _gate = new();
    private int _consecutiveAborts;
    private string? _lastAbort;
    private string? _stopped;

    /// <summary>Records a finished round (completed or aborted).</summary>
    public void OnRoundFinished(RoundReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        lock (_gate)
        {
            if (report.Completed)
            {
                _consecutiveAborts = 0;
                _lastAbort = null;
            }
            else
            {
                _consecutiveAborts++;
                _lastAbort = report.AbortReason;
            }
        }
    }

    /// <summary>Records that the federation stopped on an error; the coordinator serves nothing from then on.</summary>
    public void OnStopped(string reason)
    {
        lock (_gate)
        {
            _stopped = reason;
        }
    }

    /// <summary>The reason the coordinator is not serving, or null when it is.</summary>
    public string? NotServingReason()
    {
        lock (_gate)
        {
            if (_stopped is not null)
            {
                return PeerText.Bound($"the federation stopped: {_stopped}");
            }

            return _consecutiveAborts >= unhealthyAfterAborts
                ? PeerText.Bound($"{_consecutiveAborts} consecutive rounds aborted (last: {_lastAbort})")
                : null;
        }
    }

    /// <summary>The health check behind grpc.health.v1: Unhealthy (NOT_SERVING) with the reason, or Healthy.</summary>
    public HealthCheckResult Check() => NotServingReason() is { } why ? HealthCheckResult.Unhealthy(why) : HealthCheckResult.Healthy();
}
