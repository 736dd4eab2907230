using System.Collections.ObjectModel;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Rényi-DP accountant for the Poisson-sampled Gaussian mechanism (Mironov 2017; Mironov, Talwar, Zhang 2019),
/// numerically matching Opacus' <c>RDPAccountant</c>: the same default orders, the same RDP computation (binomial
/// expansion for integer orders, two-series expansion with log erfc for fractional ones) and the improved
/// conversion of Balle et al. 2020, eps = min_a [RDP(a) + log((a-1)/a) - (log delta + log a)/(a-1)].
/// The only difference in edge handling: a negative minimum is reported as 0, and an empty history as exactly 0.
/// Thread-safe.
/// </summary>
public sealed class RdpAccountant : IPrivacyAccountant
{
    private static readonly double[] DefaultOrdersArray = BuildDefaultOrders();

    private readonly StepHistory _history = new();

    /// <summary>
    /// Opacus' default orders: 1 + x/10 for x = 1..99, then the integers 12..63 (151 orders).
    /// </summary>
    public static IReadOnlyList<double> DefaultOrders { get; } = new ReadOnlyCollection<double>(DefaultOrdersArray);

    /// <inheritdoc />
    public AccountantKind Kind => AccountantKind.Rdp;

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
    public double GetEpsilon(double delta) => GetPrivacySpent(delta).Epsilon;

    /// <summary>Epsilon at <paramref name="delta"/> together with the best order.</summary>
    public RdpEpsilon GetPrivacySpent(double delta) => ComputePrivacySpent(_history.Snapshot(), delta);

    /// <summary>Recomputes epsilon from logged (z, q, steps) entries; pure.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An entry or delta is out of range.</exception>
    public static double ComputeEpsilon(IReadOnlyList<(double z, double q, int steps)> history, double delta) =>
        ComputePrivacySpent(history, delta).Epsilon;

    /// <summary>
    /// Recomputes epsilon and the best order from logged (z, q, steps) entries over <paramref name="orders"/>
    /// (default: <see cref="DefaultOrders"/>); pure.
    /// </summary>
    public static RdpEpsilon ComputePrivacySpent(
        IReadOnlyList<(double z, double q, int steps)> history,
        double delta,
        IReadOnlyList<double>? orders = null)
    {
        Guard.History(history, nameof(history));
        Guard.Delta(delta, nameof(delta));
        double[] alphas = ValidateOrders(orders);
        if (history.Count == 0)
        {
            return new RdpEpsilon(0.0, double.NaN, false);
        }

        double[] total = ComputeTotalRdp(history, alphas);
        return RdpConversion.Improved(alphas, total, delta);
    }

    /// <summary>
    /// RDP of <paramref name="steps"/> applications of the sampled Gaussian mechanism at each order
    /// (default: <see cref="DefaultOrders"/>); values may be +inf.
    /// </summary>
    public static double[] ComputeRdp(double noiseMultiplier, double samplingRate, int steps, IReadOnlyList<double>? orders = null)
    {
        Guard.NoiseMultiplier(noiseMultiplier, nameof(noiseMultiplier));
        Guard.SamplingRate(samplingRate, nameof(samplingRate));
        Guard.Steps(steps, nameof(steps));
        double[] alphas = ValidateOrders(orders);
        var result = new double[alphas.Length];
        for (int i = 0; i < alphas.Length; i++)
        {
            result[i] = SampledGaussianRdp.Compute(samplingRate, noiseMultiplier, alphas[i]) * steps;
        }

        return result;
    }

    /// <summary>
    /// Converts an RDP curve (e.g. a discrete-Gaussian one from <see cref="DiscreteGaussianAccounting"/>) to epsilon
    /// at <paramref name="delta"/> with the same conversion as the accountant.
    /// </summary>
    /// <exception cref="ArgumentException">The lists differ in length, are empty, an order is not finite and &gt; 1,
    /// or an RDP value is negative.</exception>
    public static RdpEpsilon ConvertToEpsilon(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(rdp);
        Guard.Delta(delta, nameof(delta));
        double[] alphas = ValidateOrders(orders);
        if (rdp.Count != alphas.Length)
        {
            throw new ArgumentException(
                $"rdp has {rdp.Count} values but orders has {alphas.Length}; they must have the same length.",
                nameof(rdp));
        }

        var values = new double[rdp.Count];
        for (int i = 0; i < values.Length; i++)
        {
            double v = rdp[i];
            if (v < 0.0)
            {
                throw Guard.OutOfRange($"rdp[{i}]", v, "[0, +inf]");
            }

            values[i] = v;
        }

        return RdpConversion.Improved(alphas, values, delta);
    }

    internal static double[] ComputeTotalRdp(IReadOnlyList<(double z, double q, int steps)> history, double[] alphas)
    {
        var total = new double[alphas.Length];
        foreach (var ((z, q), steps) in StepHistory.Group(history))
        {
            for (int i = 0; i < alphas.Length; i++)
            {
                total[i] += SampledGaussianRdp.Compute(q, z, alphas[i]) * steps;
            }
        }

        return total;
    }

    internal static double[] ValidateOrders(IReadOnlyList<double>? orders)
    {
        if (orders is null)
        {
            return DefaultOrdersArray;
        }

        if (orders.Count == 0)
        {
            throw new ArgumentException("orders must not be empty.", nameof(orders));
        }

        var result = new double[orders.Count];
        for (int i = 0; i < result.Length; i++)
        {
            double a = orders[i];
            if (!(a > 1.0) || double.IsInfinity(a))
            {
                throw Guard.OutOfRange($"orders[{i}]", a, "(1, +inf) (finite)");
            }

            result[i] = a;
        }

        return result;
    }

    private static double[] BuildDefaultOrders()
    {
        var orders = new List<double>(151);
        for (int x = 1; x < 100; x++)
        {
            // Same expression as Opacus (1 + x / 10.0) so the orders are the same doubles.
            orders.Add(1 + (x / 10.0));
        }

        for (int a = 12; a < 64; a++)
        {
            orders.Add(a);
        }

        return [.. orders];
    }
}
