using System.Diagnostics;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Coordinator.Internal;

/// <summary>What one sum over the silos produced: the sum (null when aborted), who is in it and the counts.</summary>
/// <param name="Sum">The decoded sum over <paramref name="Included"/> (weighted by <paramref name="Weight"/> for plain FedAvg), or null.</param>
/// <param name="Weight">The total weight of the sum: the number of silos, or their example counts for plain FedAvg without privacy.</param>
/// <param name="Included">Silos whose vectors are in the sum.</param>
/// <param name="Dropped">Silos lost before or during the sum.</param>
/// <param name="Refused">Silos that refused the plan.</param>
/// <param name="Rejected">Silos whose messages broke the protocol.</param>
/// <param name="StageCounts">Survivors per secure-aggregation stage (null for plain).</param>
/// <param name="AbortReason">Why nothing was released, when nothing was.</param>
internal sealed record SumOutcome(
    double[]? Sum, double Weight, IReadOnlyList<string> Included, int Dropped, int Refused, int Rejected, SecAggSurvivorCounts? StageCounts, string? AbortReason)
{
    /// <summary>Time the server spent removing masks (secure sums).</summary>
    public TimeSpan? UnmaskTime { get; init; }

    public int Contributors => Included.Count;
}

/// <summary>One way to sum a plan task's vectors over the silos: secure aggregation, or the plain baseline.</summary>
internal interface ISumStage
{
    /// <summary>Sums <paramref name="task"/>'s vectors over the silos of <paramref name="state"/> that accepted the plan.</summary>
    Task<SumOutcome> RunAsync(RoundState state, Protocol.SumTask task, int needed, CancellationToken cancellationToken);
}

/// <summary>Spans and deadlines shared by the round's stages.</summary>
internal static class StageSupport
{
    /// <summary>Starts the span of one stage (a child of the round's span; the current activity until it ends).</summary>
    public static Activity? StartStage(string name, string? task = null)
    {
        var span = CoordinatorTelemetry.Source.StartActivity($"securefed.stage.{name}");
        span?.SetTag("securefed.stage", name);
        if (task is not null)
        {
            span?.SetTag("securefed.task", task);
        }

        return span;
    }

    /// <summary>Ends a stage span with its survivor count, making the round's span current again.</summary>
    public static void EndStage(Activity? span, int survivors)
    {
        if (span is null)
        {
            return;
        }

        span.SetTag("securefed.survivors", survivors);
        var parent = span.Parent;
        span.Dispose();
        Activity.Current = parent;
    }

    /// <summary>Waits until <paramref name="condition"/> completes or <paramref name="timeout"/> passes.</summary>
    public static async Task WaitOrDeadline(Task condition, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, time, cts.Token);
        await Task.WhenAny(condition, delay);
        await cts.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
