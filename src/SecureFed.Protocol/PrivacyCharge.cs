using SecureFed.Privacy;

namespace SecureFed.Protocol;

/// <summary>
/// The noise a <see cref="PrivacyPlan"/> puts into each silo's update and what a round is charged with. Both sides
/// compute it from the plan alone: the silo to add its noise and keep its own ledger, the coordinator to charge the
/// round with the noise actually present among the survivors. Stateless.
/// </summary>
public static class PrivacyCharge
{
    /// <summary>Standard deviation of each silo's noise, in update units: z·C/sqrt(t - kappa).</summary>
    public static double PerClientSigma(PrivacyPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return DistributedNoise.PerClientSigma(plan.NoiseMultiplier, plan.ClipNorm, plan.Threshold, plan.Colluding);
    }

    /// <summary>
    /// L2 sensitivity of one silo's contribution to the released sum: C for the Gaussian mechanism; for the discrete
    /// mechanism, C plus the growth that stochastic rounding to the 2^f grid can cause (in update units).
    /// </summary>
    public static double Sensitivity(PrivacyPlan plan, int dimension)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.Mechanism == "discrete-gaussian"
            ? QuantizationBounds.ConservativeNorm(plan.ClipNorm, dimension, plan.ScaleBits, 0) / Math.Pow(2, plan.ScaleBits)
            : plan.ClipNorm;
    }

    /// <summary>The noise multiplier a round with <paramref name="survivors"/> contributors is charged with.</summary>
    public static double EffectiveNoiseMultiplier(PrivacyPlan plan, int survivors, int dimension)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return DistributedNoise.EffectiveNoiseMultiplier(PerClientSigma(plan), survivors, plan.ClipNorm, Sensitivity(plan, dimension), plan.Colluding);
    }

    /// <summary>
    /// Cumulative epsilon at the plan's delta after rounds with the given numbers of contributors. The Gaussian
    /// mechanism composes through the plan's accountant (rdp or exact) with each round's effective noise multiplier.
    /// The discrete mechanism is accounted per Kairouz, Liu, Steinke 2021: each round's RDP curve is the bound for a
    /// sum of (contributors - kappa) discrete Gaussians with sensitivities in integer units (clip norm plus rounding
    /// growth on the 2^f grid), summed over rounds and converted like the RDP accountant; q = 1 throughout.
    /// </summary>
    public static double CumulativeEpsilon(PrivacyPlan plan, IReadOnlyList<int> contributorsPerRound, int dimension) =>
        CumulativeEpsilon(plan, contributorsPerRound, dimension, []);

    /// <summary>
    /// As <see cref="CumulativeEpsilon(PrivacyPlan, IReadOnlyList{int}, int)"/>, composed with further Gaussian
    /// releases (federated statistics and evaluation sums, DESIGN section 7), each given by its effective noise
    /// multiplier (unsampled, one step each).
    /// </summary>
    public static double CumulativeEpsilon(PrivacyPlan plan, IReadOnlyList<int> contributorsPerRound, int dimension, IReadOnlyList<double> releaseMultipliers)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(contributorsPerRound);
        ArgumentNullException.ThrowIfNull(releaseMultipliers);
        if (contributorsPerRound.Count == 0 && releaseMultipliers.Count == 0)
        {
            return 0;
        }

        if (plan.Mechanism != "discrete-gaussian")
        {
            var history = contributorsPerRound.Select(n => (EffectiveNoiseMultiplier(plan, n, dimension), 1.0, 1))
                .Concat(releaseMultipliers.Select(z => (z, 1.0, 1))).ToList();
            return PrivacyAccountants.ComputeEpsilon(PrivacyAccountants.ParseKind(plan.Accountant), history, plan.Delta);
        }

        var scale = Math.Pow(2, plan.ScaleBits);
        var sigma = PerClientSigma(plan) * scale;
        var l2 = QuantizationBounds.ConservativeNorm(plan.ClipNorm, dimension, plan.ScaleBits, 0);
        var l1 = QuantizationBounds.ConservativeL1Norm(l2, dimension);
        var orders = RdpAccountant.DefaultOrders;
        var rdp = new double[orders.Count];
        foreach (var contributors in contributorsPerRound)
        {
            for (var i = 0; i < orders.Count; i++)
            {
                rdp[i] += DiscreteGaussianAccounting.SumRdp(orders[i], sigma, contributors - plan.Colluding, l2, l1, dimension);
            }
        }

        foreach (var z in releaseMultipliers)
        {
            for (var i = 0; i < orders.Count; i++)
            {
                rdp[i] += orders[i] / (2 * z * z); // Gaussian mechanism, unsampled (Mironov 2017, Prop. 7)
            }
        }

        return RdpAccountant.ConvertToEpsilon(orders, rdp, plan.Delta).Epsilon;
    }

    /// <summary>
    /// The noise multiplier a release of sum task <paramref name="task"/> with <paramref name="survivors"/>
    /// contributors is charged with: each silo clipped the vector to the task's clip norm and added noise of
    /// z·C_task/sqrt(t - kappa) (continuous Gaussian for statistics and evaluation sums).
    /// </summary>
    public static double ReleaseNoiseMultiplier(PrivacyPlan plan, SumTask task, int survivors)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(task);
        var taskPlan = plan with { ClipNorm = task.ClipNorm, Mechanism = "gaussian" };
        return EffectiveNoiseMultiplier(taskPlan, survivors, task.Length);
    }

    /// <summary>The charge of a round in the worst case the plan allows: exactly <c>t</c> survivors.</summary>
    public static double WorstCaseNoiseMultiplier(PrivacyPlan plan, int dimension)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return EffectiveNoiseMultiplier(plan, plan.Threshold, dimension);
    }
}
