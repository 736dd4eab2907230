using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Privacy-loss-distribution accountant for the Poisson-sampled Gaussian mechanism (Meiser and Mohammadi 2018;
/// Koskela, Jälkö, Honkela 2020; Doroshenko et al. 2022), built as Google's dp_accounting <c>PLDAccountant</c> does
/// with <c>from_gaussian_mechanism(sampling_prob=q, pessimistic_estimate=True, use_connect_dots=True)</c>:
/// <list type="bullet">
/// <item>each distinct (z, q) is discretized once per adjacency direction (remove and add; the answer is the worse
/// of the two) on a grid of losses with spacing <see cref="DefaultValueDiscretizationInterval"/>, by connect the
/// dots, so that the discrete PLD dominates the true one (never under-reports delta at any epsilon);</item>
/// <item>the noise distribution's tails beyond mass e^-50 are cut, the upper one counted as infinite loss;</item>
/// <item>repeated steps are composed by one FFT (transform, n-th power, inverse); different (z, q) are composed by
/// FFT convolution; each composition drops at most 1e-15 of mass from the tails, which is added to the infinity
/// (delta) term;</item>
/// <item>unsampled rounds (q = 1) are first merged into one Gaussian with mu = sqrt(sum steps/z^2) (Dong, Roth, Su
/// 2019), which is exact and what dp_accounting does for a self-composed Gaussian event.</item>
/// </list>
/// The grid is bounded: when a history would need more than <see cref="MaxGridPoints"/> losses at the requested
/// spacing, the spacing is widened until it fits (which happens only for very large epsilons). Tighter than
/// <see cref="RdpAccountant"/>, valid for any q in (0, 1]. Thread-safe; each query recomputes from the history.
/// </summary>
public sealed class PldAccountant : IPrivacyAccountant
{
    /// <summary>dp_accounting's default spacing of the discretized privacy losses.</summary>
    public const double DefaultValueDiscretizationInterval = 1e-4;

    /// <summary>The most grid points any single or composed PLD may have (memory and FFT size stay bounded).</summary>
    public const int MaxGridPoints = 1 << 21;

    /// <summary>The tail mass each composition may cut (moved to the infinity/delta term), as dp_accounting.</summary>
    public const double TailMassTruncation = 1e-15;

    private readonly StepHistory _history = new();

    /// <inheritdoc />
    public AccountantKind Kind => AccountantKind.Pld;

    /// <inheritdoc />
    public IReadOnlyList<(double z, double q, int steps)> History => _history.Snapshot();

    /// <inheritdoc />
    public void Record(double noiseMultiplier, double samplingRate, int steps = 1)
    {
        Guard.NoiseMultiplier(noiseMultiplier, nameof(noiseMultiplier));
        Guard.SamplingRate(samplingRate, nameof(samplingRate));
        Guard.Steps(steps, nameof(steps));
        _history.Add(noiseMultiplier, samplingRate, steps);
    }

    /// <inheritdoc />
    public double GetEpsilon(double delta) => ComputeEpsilon(_history.Snapshot(), delta);

    /// <summary>The (pessimistic) delta at <paramref name="epsilon"/> for everything recorded so far.</summary>
    public double GetDelta(double epsilon) => ComputeDelta(_history.Snapshot(), epsilon);

    /// <summary>Recomputes epsilon at <paramref name="delta"/> from logged (z, q, steps) entries; pure.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An entry or delta is out of range.</exception>
    public static double ComputeEpsilon(IReadOnlyList<(double z, double q, int steps)> history, double delta) =>
        ComputePrivacySpent(history, delta).Epsilon;

    /// <summary>
    /// Epsilon at <paramref name="delta"/> with the grid spacing actually used; pure.
    /// <paramref name="valueDiscretizationInterval"/> is the requested spacing (finite, &gt; 0).
    /// </summary>
    public static PldEpsilon ComputePrivacySpent(
        IReadOnlyList<(double z, double q, int steps)> history,
        double delta,
        double valueDiscretizationInterval = DefaultValueDiscretizationInterval)
    {
        Guard.History(history, nameof(history));
        Guard.Delta(delta, nameof(delta));
        Guard.PositiveFinite(valueDiscretizationInterval, nameof(valueDiscretizationInterval));
        if (history.Count == 0)
        {
            return new PldEpsilon(0.0, valueDiscretizationInterval, 1);
        }

        var composed = Compose(history, valueDiscretizationInterval);
        double epsilon = 0.0;
        int points = 0;
        foreach (var pmf in composed)
        {
            epsilon = Math.Max(epsilon, pmf.EpsilonForDelta(delta));
            points = Math.Max(points, pmf.Probs.Length);
        }

        return new PldEpsilon(epsilon, composed[0].Interval, points);
    }

    /// <summary>
    /// The delta at <paramref name="epsilon"/> &gt;= 0 (the worse direction's hockey-stick divergence of the
    /// discretized, composed PLD; an upper bound on the true one up to floating-point rounding); pure.
    /// </summary>
    public static double ComputeDelta(
        IReadOnlyList<(double z, double q, int steps)> history,
        double epsilon,
        double valueDiscretizationInterval = DefaultValueDiscretizationInterval)
    {
        Guard.History(history, nameof(history));
        Guard.NonNegativeFinite(epsilon, nameof(epsilon));
        Guard.PositiveFinite(valueDiscretizationInterval, nameof(valueDiscretizationInterval));
        if (history.Count == 0)
        {
            return 0.0;
        }

        double delta = 0.0;
        foreach (var pmf in Compose(history, valueDiscretizationInterval))
        {
            delta = Math.Max(delta, pmf.DeltaForEpsilon(epsilon));
        }

        return delta;
    }

    /// <summary>The composed PMF for each adjacency direction that differs (one when every round has q = 1).</summary>
    internal static PldPmf[] Compose(
        IReadOnlyList<(double z, double q, int steps)> history,
        double interval,
        int maxGridPoints = MaxGridPoints)
    {
        // Unsampled rounds compose exactly to one Gaussian; sampled ones are grouped by (z, q).
        double muSquared = 0.0;
        var sampled = new List<(double z, double q, long steps)>();
        foreach (var ((z, q), steps) in StepHistory.Group(history))
        {
            if (q == 1.0)
            {
                muSquared += steps / (z * z);
            }
            else
            {
                sampled.Add((z, q, steps));
            }
        }

        var components = new List<(double sigma, double q, long steps)>();
        if (muSquared > 0.0)
        {
            components.Add((1.0 / Math.Sqrt(muSquared), 1.0, 1));
        }

        components.AddRange(sampled);
        PldAdjacency[] directions = sampled.Count == 0 ? [PldAdjacency.Remove] : [PldAdjacency.Remove, PldAdjacency.Add];

        double d = interval;
        for (int attempt = 0; ; attempt++)
        {
            if (attempt > 64)
            {
                throw new InvalidOperationException("PLD grid spacing did not converge; this is a bug.");
            }

            // A single step's grid must fit first.
            long widest = 0;
            foreach (var (sigma, q, _) in components)
            {
                foreach (var direction in directions)
                {
                    widest = Math.Max(widest, new SampledGaussianPld(sigma, q, direction).GridPoints(d));
                }
            }

            if (widest > maxGridPoints)
            {
                d *= 1.05 * widest / maxGridPoints;
                continue;
            }

            // Then every composed one: the Chernoff ranges of the self-compositions add up under convolution.
            var singles = new PldPmf[directions.Length][];
            long composedPoints = 0;
            for (int k = 0; k < directions.Length; k++)
            {
                singles[k] = new PldPmf[components.Count];
                long total = 1;
                for (int c = 0; c < components.Count; c++)
                {
                    var (sigma, q, steps) = components[c];
                    singles[k][c] = new SampledGaussianPld(sigma, q, directions[k]).Discretize(d);
                    var (lower, upper) = singles[k][c].SelfComposeBounds(steps, TailMassTruncation);
                    total += upper - lower;
                }

                composedPoints = Math.Max(composedPoints, total);
            }

            if (composedPoints > maxGridPoints)
            {
                d *= 1.05 * composedPoints / maxGridPoints;
                continue;
            }

            var result = new PldPmf[directions.Length];
            for (int k = 0; k < directions.Length; k++)
            {
                var pmf = PldPmf.Identity(d);
                for (int c = 0; c < components.Count; c++)
                {
                    pmf = pmf.Compose(singles[k][c].SelfCompose(components[c].steps, TailMassTruncation), TailMassTruncation);
                }

                result[k] = pmf;
            }

            return result;
        }
    }
}

/// <summary>The result of a PLD accounting query.</summary>
/// <param name="Epsilon">Epsilon at the requested delta (never negative; +inf when the mass on infinite loss alone
/// exceeds delta).</param>
/// <param name="ValueDiscretizationInterval">The loss-grid spacing used (the requested one unless the grid had to be
/// widened to stay within <see cref="PldAccountant.MaxGridPoints"/>); epsilon is pessimistic by about the
/// discretization, a few spacings at most.</param>
/// <param name="GridPoints">The number of losses in the largest composed PLD.</param>
public readonly record struct PldEpsilon(double Epsilon, double ValueDiscretizationInterval, int GridPoints);
