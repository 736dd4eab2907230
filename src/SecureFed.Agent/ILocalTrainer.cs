using SecureFed.Protocol;

namespace SecureFed.Agent;

/// <summary>
/// Trains the global model on the silo's own data. The data never leaves the implementation; only the
/// returned delta does (and, with secure aggregation, only masked).
/// </summary>
public interface ILocalTrainer
{
    /// <summary>The dataset name this silo holds (checked against the plan).</summary>
    string Dataset { get; }

    /// <summary>Trains from <paramref name="globalParameters"/> as the plan says and returns the update.</summary>
    Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken);

    /// <summary>
    /// Checks that this silo can serve the plan (its study, its columns, the federated statistics it carries);
    /// throws <see cref="PolicyRefusedException"/> naming what does not fit. Called before the silo accepts.
    /// </summary>
    void CheckPlan(RoundPlan plan)
    {
    }

    /// <summary>
    /// What this silo's record-level DP-SGD would spend training for <paramref name="plan"/> (the study's privacy, this
    /// silo's row count), for its own cap; null when the plan's study asks for no record-level privacy.
    /// </summary>
    RecordSpend? RecordPrivacyFor(RoundPlan plan) => null;

    /// <summary>This silo's share of the study's feature statistics (the statistics round's vector).</summary>
    double[] ComputeStatistics(RoundPlan plan) => throw new PolicyRefusedException("this silo holds no study data to compute feature statistics from");

    /// <summary>This silo's evaluation sums (<see cref="EvaluationSums"/>) of <paramref name="model"/> on its held-out rows.</summary>
    Task<double[]> EvaluateAsync(RoundPlan plan, float[] model, CancellationToken cancellationToken) =>
        throw new PolicyRefusedException("this silo holds no held-out rows to evaluate on");
}

/// <summary>A silo's contribution: the delta from the global model and the number of examples it used.</summary>
public sealed record LocalUpdate(float[] Delta, long ExampleCount)
{
    /// <summary>What record-level DP-SGD spent producing it; null without record-level privacy.</summary>
    public RecordSpend? RecordPrivacy { get; init; }

    /// <summary>Mean training loss of the last local epoch (NaN when the trainer does not say); for this silo's own log only.</summary>
    public double TrainLoss { get; init; } = double.NaN;
}

/// <summary>
/// Record-level DP-SGD steps at one setting: <paramref name="Steps"/> Poisson-sampled steps at rate
/// <paramref name="SamplingRate"/> with noise multiplier <paramref name="NoiseMultiplier"/>, accounted at
/// <paramref name="Delta"/> by <paramref name="Accountant"/> (rdp or pld), as the study declares.
/// </summary>
public sealed record RecordSpend(double NoiseMultiplier, double SamplingRate, long Steps, double Delta, string Accountant)
{
    /// <summary>The study's record-level epsilon target the noise was calibrated to (null for a fixed noise multiplier).</summary>
    public double? Target { get; init; }
}
