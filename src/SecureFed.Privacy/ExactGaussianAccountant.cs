using System.Globalization;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Exact accountant for unsampled Gaussian rounds (every silo in every round, sampling rate 1). Rounds with noise
/// multipliers z_i compose to a single Gaussian mechanism with mu = sqrt(sum_i 1/z_i^2) (Dong, Roth, Su 2019,
/// Corollary 3.3), whose exact privacy curve is delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2)
/// (Balle and Wang 2018, Theorem 8). Epsilon for a delta is found by bisection to 1e-12 relative, rounding up.
/// Sampled rounds (q &lt; 1) are refused: use <see cref="RdpAccountant"/> for those. Thread-safe.
/// </summary>
public sealed class ExactGaussianAccountant : IPrivacyAccountant
{
    private readonly StepHistory _history = new();

    /// <inheritdoc />
    public AccountantKind Kind => AccountantKind.Exact;

    /// <inheritdoc />
    public IReadOnlyList<(double z, double q, int steps)> History => _history.Snapshot();

    /// <summary>The composed mu of everything recorded so far (0 when nothing has been recorded).</summary>
    public double Mu => ComputeMu(_history.Snapshot());

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">Also when <paramref name="samplingRate"/> is not exactly 1.</exception>
    public void Record(double noiseMultiplier, double samplingRate, int steps = 1)
    {
        Guard.NoiseMultiplier(noiseMultiplier, nameof(noiseMultiplier));
        RequireUnsampled(samplingRate, nameof(samplingRate));
        Guard.Steps(steps, nameof(steps));
        _history.Add(noiseMultiplier, samplingRate, steps);
    }

    /// <inheritdoc />
    public double GetEpsilon(double delta) => ComputeEpsilon(_history.Snapshot(), delta);

    /// <summary>The exact delta at <paramref name="epsilon"/> for everything recorded so far.</summary>
    public double GetDelta(double epsilon) => ComputeDelta(_history.Snapshot(), epsilon);

    /// <summary>mu = sqrt(sum steps_i / z_i^2) of logged entries (all must have q = 1); pure.</summary>
    public static double ComputeMu(IReadOnlyList<(double z, double q, int steps)> history)
    {
        Validate(history, nameof(history));
        double sum = 0.0;
        foreach (var (z, _, steps) in history)
        {
            sum += steps / (z * z);
        }

        return Math.Sqrt(sum);
    }

    /// <summary>Recomputes epsilon at <paramref name="delta"/> from logged entries (all must have q = 1); pure.</summary>
    /// <exception cref="ArgumentOutOfRangeException">delta outside (0, 1), or an entry out of range or sampled.</exception>
    public static double ComputeEpsilon(IReadOnlyList<(double z, double q, int steps)> history, double delta)
    {
        Guard.Delta(delta, nameof(delta));
        double mu = ComputeMu(history);
        return mu == 0.0 ? 0.0 : GaussianPrivacyCurve.Epsilon(mu, delta);
    }

    /// <summary>Exact delta at <paramref name="epsilon"/> &gt;= 0 for logged entries (all must have q = 1); pure.</summary>
    public static double ComputeDelta(IReadOnlyList<(double z, double q, int steps)> history, double epsilon)
    {
        Guard.NonNegativeFinite(epsilon, nameof(epsilon));
        double mu = ComputeMu(history);
        return mu == 0.0 ? 0.0 : GaussianPrivacyCurve.Delta(mu, epsilon);
    }

    private static void Validate(IReadOnlyList<(double z, double q, int steps)> history, string name)
    {
        Guard.History(history, name);
        for (int i = 0; i < history.Count; i++)
        {
            RequireUnsampled(history[i].q, string.Create(CultureInfo.InvariantCulture, $"{name}[{i}].q"));
        }
    }

    private static void RequireUnsampled(double samplingRate, string name)
    {
        Guard.SamplingRate(samplingRate, name);
        if (samplingRate != 1.0)
        {
            throw Guard.OutOfRangeWithMessage(
                name,
                samplingRate,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"{name} must be exactly 1 for the exact Gaussian accountant, which covers only rounds in which every silo takes part (no sampling); got {Guard.Format(samplingRate)}. Use the RDP accountant (\"rdp\") for sampled rounds."));
        }
    }
}
