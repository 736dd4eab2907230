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
        return CumulativeEpsilon(
            [.. contributorsPerRound.Select(n => Price(plan, n, dimension)), .. releaseMultipliers.Select(PricedCharge.Gaussian)], plan.Accountant, plan.Delta);
    }

    /// <summary>
    /// What a training release with <paramref name="survivors"/> contributors costs under <paramref name="plan"/>,
    /// with every parameter the accounting needs, so that a stored charge is never priced again with later settings.
    /// </summary>
    /// <remarks>
    /// Under plain aggregation (<paramref name="secure"/> false) the coordinator sees each silo's update with only that
    /// silo's share of the noise, z·C/sqrt(t - kappa), so that is what is charged: one silo's Gaussian (or, for the
    /// discrete mechanism, one party's discrete Gaussian), never the sum's.
    /// </remarks>
    public static PricedCharge Price(PrivacyPlan plan, int survivors, int dimension, bool secure = true)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var parties = secure ? survivors - plan.Colluding : 1;
        var z = secure ? EffectiveNoiseMultiplier(plan, survivors, dimension) : PerClientSigma(plan) / Sensitivity(plan, dimension);
        if (plan.Mechanism != "discrete-gaussian")
        {
            return PricedCharge.Gaussian(z);
        }

        var l2 = QuantizationBounds.ConservativeNorm(plan.ClipNorm, dimension, plan.ScaleBits, 0);
        var discrete = new DiscretePricing(PerClientSigma(plan) * Math.Pow(2, plan.ScaleBits), parties, l2, QuantizationBounds.ConservativeL1Norm(l2, dimension), dimension);
        return new PricedCharge("discrete-gaussian", z, 1.0, 1, discrete);
    }

    /// <summary>
    /// Cumulative epsilon at <paramref name="delta"/> of releases each priced when it happened. All-Gaussian histories
    /// compose through <paramref name="accountant"/> (rdp or exact) with each release's own noise multiplier, sampling
    /// rate and steps. A history with a discrete-Gaussian release is composed in RDP: each discrete round's curve is
    /// the bound of Kairouz, Liu, Steinke 2021 for its own sigma, parties and sensitivities; each Gaussian release adds
    /// alpha/(2z^2) (Mironov 2017, Prop. 7).
    /// </summary>
    public static double CumulativeEpsilon(IReadOnlyList<PricedCharge> charges, string accountant, double delta)
    {
        ArgumentNullException.ThrowIfNull(charges);
        if (charges.Count == 0)
        {
            return 0;
        }

        if (charges.All(c => c.Discrete is null))
        {
            return PrivacyAccountants.ComputeEpsilon(
                PrivacyAccountants.ParseKind(accountant), [.. charges.Select(c => (c.NoiseMultiplier, c.SamplingRate, c.Steps))], delta);
        }

        var orders = RdpAccountant.DefaultOrders;
        var rdp = new double[orders.Count];
        foreach (var charge in charges)
        {
            for (var i = 0; i < orders.Count; i++)
            {
                rdp[i] += charge.Discrete is { } d
                    ? DiscreteGaussianAccounting.SumRdp(orders[i], d.Sigma, d.Parties, d.L2, d.L1, d.Dimension)
                    : charge.Steps * orders[i] / (2 * charge.NoiseMultiplier * charge.NoiseMultiplier);
            }
        }

        return RdpAccountant.ConvertToEpsilon(orders, rdp, delta).Epsilon;
    }

    /// <summary>
    /// The noise multiplier a release of sum task <paramref name="task"/> with <paramref name="survivors"/>
    /// contributors is charged with: each silo clipped the vector to the task's clip norm and added noise of
    /// z·C_task/sqrt(t - kappa) (continuous Gaussian for statistics and evaluation sums).
    /// </summary>
    public static double ReleaseNoiseMultiplier(PrivacyPlan plan, SumTask task, int survivors, bool secure = true)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(task);
        var taskPlan = plan with { ClipNorm = task.ClipNorm, Mechanism = "gaussian" };
        return secure ? EffectiveNoiseMultiplier(taskPlan, survivors, task.Length) : PerClientSigma(taskPlan) / task.ClipNorm;
    }

    /// <summary>
    /// The charge of a round in the worst case the plan allows: exactly <c>t</c> survivors under secure aggregation;
    /// under plain aggregation the silo's own share of the noise, which is all that protects its update there.
    /// </summary>
    public static double WorstCaseNoiseMultiplier(PrivacyPlan plan, int dimension, bool secure = true)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return Price(plan, plan.Threshold, dimension, secure).NoiseMultiplier;
    }
}

/// <summary>
/// One release exactly as it was priced: the mechanism, its effective noise multiplier, sampling rate and steps, and
/// for the discrete Gaussian the integer-unit parameters of its RDP bound. Stored with each charge; immutable.
/// </summary>
/// <param name="Mechanism">"gaussian" or "discrete-gaussian".</param>
/// <param name="NoiseMultiplier">The effective noise multiplier of the release.</param>
/// <param name="SamplingRate">Sampling rate q (1: every record of the unit is in).</param>
/// <param name="Steps">Number of compositions at these settings.</param>
/// <param name="Discrete">The discrete mechanism's parameters; null for the Gaussian.</param>
public sealed record PricedCharge(string Mechanism, double NoiseMultiplier, double SamplingRate = 1.0, int Steps = 1, DiscretePricing? Discrete = null)
{
    /// <summary>One unsampled Gaussian release with effective noise multiplier <paramref name="z"/>.</summary>
    public static PricedCharge Gaussian(double z) => new("gaussian", z);
}

/// <summary>The parameters of a discrete-Gaussian release's RDP bound (Kairouz, Liu, Steinke 2021), in integer units.</summary>
/// <param name="Sigma">Each party's discrete Gaussian sigma.</param>
/// <param name="Parties">Noise-adding parties counted (survivors minus colluding).</param>
/// <param name="L2">L2 sensitivity after rounding.</param>
/// <param name="L1">L1 sensitivity after rounding.</param>
/// <param name="Dimension">Vector length.</param>
public sealed record DiscretePricing(double Sigma, int Parties, double L2, double L1, int Dimension);
