using SecureFed.Agent;
using SecureFed.Coordinator.Internal;
using SecureFed.Crypto;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>The bounds an honest aggregate stays within (issue 12, item 2): honest sums always pass, biased ones do not.</summary>
public sealed class AggregateBoundsTests
{
    private static readonly PrivacyPlan Dp = new(ClipNorm: 1.0, NoiseMultiplier: 0.8, Threshold: 3, Colluding: 0, Mechanism: "gaussian", Accountant: "rdp", Delta: 1e-5, EpsilonBudget: 0);

    private static double[] HonestSum(int silos, int d, ulong seed, double scale)
    {
        using var rng = new DeterministicRandomSource(seed);
        var sum = new double[d];
        for (var s = 0; s < silos; s++)
        {
            // Large deltas, clipped and noised exactly as a silo does before anything leaves.
            var delta = Enumerable.Range(0, d).Select(i => (float)(scale * Math.Sin((s + 1) * (i + 1)))).ToArray();
            var noised = UpdatePrivatizer.Apply(delta, Dp, rng);
            for (var i = 0; i < d; i++)
            {
                sum[i] += noised[i];
            }
        }

        return sum;
    }

    [Theory]
    [InlineData(3, 10, 1UL)]
    [InlineData(5, 1000, 2UL)]
    [InlineData(10, 5000, 3UL)]
    public void Check_HonestClippedNoisedSums_AlwaysPass(int silos, int d, ulong seed)
    {
        var task = SumTask.ForTraining(d, new SecureAggregationPlan(), Dp);
        for (var trial = 0; trial < 20; trial++)
        {
            Assert.Null(AggregateBounds.Check(task, Dp, silos, HonestSum(silos, d, seed * 100 + (ulong)trial, scale: 50)));
        }
    }

    [Fact]
    public void Check_OneSiloAddingASmallBiasToEveryValue_IsRefusedByTheNorm()
    {
        const int d = 1000;
        var task = SumTask.ForTraining(d, new SecureAggregationPlan(), Dp);
        var sum = HonestSum(5, d, 9, scale: 1);
        for (var i = 0; i < d; i++)
        {
            sum[i] += 2.0; // within every clamp; 63 in norm, against 5 silos x C = 1 plus a noise norm near 33
        }

        Assert.Contains("L2 norm", AggregateBounds.Check(task, Dp, 5, sum), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_WithoutPrivacy_OnlyTheClampedRangeHolds()
    {
        var task = SumTask.ForTraining(4, new SecureAggregationPlan(), null);
        Assert.Null(AggregateBounds.Check(task, null, 2, [31.9, -31.9, 0, 1]));
        Assert.Contains("beyond the 32", AggregateBounds.Check(task, null, 2, [0, 40, 0, 0]), StringComparison.Ordinal);
        Assert.Contains("value 2", AggregateBounds.Check(task, null, 2, [0, 0, double.NaN, 0]), StringComparison.Ordinal);
    }
}
