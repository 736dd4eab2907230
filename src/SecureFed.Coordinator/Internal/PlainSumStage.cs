using SecureFed.Protocol;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The plain baseline of a sum: every silo uploads its vector in the clear and the coordinator adds them. The
/// training delta is weighted by example count (FedAvg) unless the plan has differential privacy (a weight would
/// scale a silo's sensitivity); statistics and evaluation vectors are plain sums.
/// </summary>
internal sealed class PlainSumStage(TimeSpan timeout, TimeProvider time) : ISumStage
{
    public async Task<SumOutcome> RunAsync(RoundState state, SumTask task, int needed, CancellationToken cancellationToken)
    {
        var stage = StageSupport.StartStage(task.Name == SumTask.Training ? "train" : task.Name, task.Name);
        // Every upload is seen on its own the moment it arrives: charged before the first one can, and then as seen.
        state.Releases?.Risking(task, state.Accepted().Count);
        try
        {
            await StageSupport.WaitOrDeadline(state.AllUploaded, timeout, time, cancellationToken);
        }
        finally
        {
            state.Releases?.Revealed(task, state.UploadsSeen());
        }

        var tally = state.CloseUploads();
        StageSupport.EndStage(stage, tally.Updates.Count);
        var included = tally.Updates.Select(u => u.SiloId).ToList();
        if (tally.Updates.Count < needed)
        {
            return new SumOutcome(null, 0, included, tally.Dropped, tally.Refused, tally.Rejected, null,
                $"{tally.Updates.Count} updates received, fewer than the {needed} needed to release an aggregate");
        }

        var weighted = task.Name == SumTask.Training && state.Plan.Privacy is null;
        var sum = new double[task.Length];
        double weight = 0;
        foreach (var u in tally.Updates)
        {
            double w = weighted ? u.Examples : 1;
            weight += w;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += w * u.Delta[i];
            }
        }

        return new SumOutcome(sum, weight, included, tally.Dropped, tally.Refused, tally.Rejected, null, null);
    }
}
