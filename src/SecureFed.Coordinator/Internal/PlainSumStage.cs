using SecureFed.Protocol;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The plain baseline of a sum: every silo uploads its vector in the clear and the coordinator adds them. The
/// training delta is weighted by example count (FedAvg) unless the plan has differential privacy (a weight would
/// scale a silo's sensitivity); statistics and evaluation vectors are plain sums.
/// </summary>
internal sealed class PlainSumStage(TimeSpan timeout, TimeProvider time) : ISumStage
{
    // Coordinates per block of the parallel sum: 256 KiB of doubles, which stays in a core's cache while every update adds to it.
    private const int SumBlock = 1 << 15;

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
        var (bytes, window, cpu) = state.UploadIngest();
        stage?.SetTag("securefed.upload.bytes", bytes);
        stage?.SetTag("securefed.upload.window_ms", Math.Round(window.TotalMilliseconds, 1));
        stage?.SetTag("securefed.upload.process_cpu_ms", Math.Round(cpu.TotalMilliseconds, 1));
        StageSupport.EndStage(stage, tally.Updates.Count);

        // Seen one by one, so an impossible upload is pinned on its sender (a proven fault) and left out of the sum.
        // The checks read each vector once and are independent: they run on all cores, the faults are noted in order.
        var verdicts = new string?[tally.Updates.Count];
        var uploaded = tally.Updates;
        Parallel.For(0, uploaded.Count, i => verdicts[i] = AggregateBounds.CheckUpload(task, state.Plan.Privacy, uploaded[i].Delta));
        var updates = new List<SiloUpdate>(tally.Updates.Count);
        for (var i = 0; i < uploaded.Count; i++)
        {
            if (verdicts[i] is { } impossible)
            {
                state.NoteFault(uploaded[i].SiloId, $"uploaded a {task.Name} vector no honest silo can send: {impossible}", proven: true);
                continue;
            }

            updates.Add(uploaded[i]);
        }

        tally = tally with { Updates = updates, Rejected = tally.Rejected + (tally.Updates.Count - updates.Count) };
        var included = tally.Updates.Select(u => u.SiloId).ToList();
        if (tally.Updates.Count < needed)
        {
            return new SumOutcome(null, 0, included, tally.Dropped, tally.Refused, tally.Rejected, null,
                $"{tally.Updates.Count} updates received, fewer than the {needed} needed to release an aggregate");
        }

        var weighted = task.Name == SumTask.Training && state.Plan.Privacy is null;
        var sum = new double[task.Length];
        // FedAvg weighs by a count each silo reports itself: capped, so one silo cannot outweigh the rest at will.
        var weights = tally.Updates.Select(u => weighted ? Math.Min(u.Examples, ExampleWeightCap(u, tally.Updates)) : 1.0).ToArray();
        double weight = 0;
        foreach (var w in weights)
        {
            weight += w;
        }

        var summed = tally.Updates;
        // Each block of coordinates adds the updates in the same order as one pass would, so the sum is the same bits
        // whichever core takes a block.
        int blocks = (sum.Length + SumBlock - 1) / SumBlock;
        Parallel.For(0, blocks, b =>
        {
            int start = b * SumBlock;
            int length = Math.Min(SumBlock, sum.Length - start);
            var target = sum.AsSpan(start, length);
            for (var k = 0; k < summed.Count; k++)
            {
                FloatVectors.AddScaled(target, weights[k], summed[k].Delta.AsSpan(start, length));
            }
        });

        return new SumOutcome(sum, weight, included, tally.Dropped, tally.Refused, tally.Rejected, null, null);
    }

    /// <summary>
    /// The most <paramref name="update"/>'s self-reported example count may weigh: <see cref="ExampleWeightFactor"/> times
    /// the median of the other silos' counts (unbounded when it is alone), so a silo may be many times larger than the
    /// others but cannot claim the whole average by reporting a huge count.
    /// </summary>
    internal static double ExampleWeightCap(SiloUpdate update, IReadOnlyList<SiloUpdate> updates)
    {
        var others = updates.Where(u => !ReferenceEquals(u, update)).Select(u => (double)u.Examples).Order().ToArray();
        if (others.Length == 0)
        {
            return double.PositiveInfinity;
        }

        var median = others.Length % 2 == 1 ? others[others.Length / 2] : (others[(others.Length / 2) - 1] + others[others.Length / 2]) / 2;
        return ExampleWeightFactor * median;
    }

    /// <summary>How many times the other silos' median example count one silo's FedAvg weight may reach.</summary>
    internal const double ExampleWeightFactor = 10;
}
