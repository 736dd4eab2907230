using Microsoft.Extensions.Logging;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The one wait before each attempt of a round, bounded by <see cref="CoordinatorOptions.JoinTimeout"/> alone: the
/// attempt starts as soon as <see cref="CoordinatorOptions.TargetSilos"/> silos are connected and at least
/// <see cref="CoordinatorOptions.MinSilos"/> of them may take part, or at the join timeout with those present if at
/// least MinSilos may; with fewer at the join timeout the federation stops with an error naming the count and the
/// option. Silos left out of the attempt (a refusal or a fault earlier in the round, a quarantine) do not count
/// towards MinSilos.
/// </summary>
internal sealed class JoinWait(CoordinatorOptions options, SessionRegistry registry, TimeProvider time, ILogger logger)
{
    /// <param name="leftOut">Why a silo may not take part in the coming attempt, or null when it may.</param>
    /// <param name="cancellationToken">Ends the wait (shutdown).</param>
    public async Task WaitAsync(Func<string, string?> leftOut, CancellationToken cancellationToken)
    {
        var target = Math.Max(options.TargetSilos, options.MinSilos);
        var start = time.GetTimestamp();
        var logged = -1;
        while (true)
        {
            var changed = registry.NextChange();
            var sessions = registry.Snapshot();
            var eligible = sessions.Count(s => leftOut(s.SiloId) is null);
            var waited = time.GetElapsedTime(start);
            if (eligible >= options.MinSilos && (sessions.Count >= target || waited >= options.JoinTimeout))
            {
                return;
            }

            if (waited >= options.JoinTimeout)
            {
                var seconds = options.JoinTimeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
                var outNote = sessions.Count > eligible ? $" and may take part ({sessions.Count - eligible} more are connected but left out of the round)" : "";
                throw new TimeoutException(
                    $"only {eligible} of the {options.MinSilos} silos a round needs (MinSilos) connected within the join timeout of {seconds} s (JoinTimeoutSeconds){outNote}: start the missing agents, or raise JoinTimeoutSeconds, and start the coordinator again (it resumes)");
            }

            if (eligible != logged)
            {
                Log.WaitingForSilos(logger, eligible, target);
                logged = eligible;
            }

            await Task.WhenAny(changed, Task.Delay(options.JoinTimeout - waited, time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
