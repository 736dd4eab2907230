using System.Globalization;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Privacy of the sum of n independent d-dimensional discrete Gaussians N_Z(0, sigma^2)^d (the distributed
/// discrete Gaussian of Kairouz, Liu, Steinke 2021, "The Distributed Discrete Gaussian Mechanism for Federated
/// Learning with Secure Aggregation", arXiv:2102.06387, Proposition 14 / Theorem 1). A sum of discrete Gaussians is
/// not itself a discrete Gaussian, but it is close to one of variance n sigma^2; the gap is charged through
/// tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k/(k+1)). For every order alpha &gt;= 1 and every shift Delta in
/// Z^d (sensitivities in integer units, i.e. after scaling by 2^f and rounding):
/// D_alpha(Z_n || Z_n + Delta) &lt;= min{ alpha/2 l2^2 + tau d,
///                                    alpha/2 (l2^2 + 2 l1 tau + tau^2 d),
///                                    alpha/2 (l2 + tau sqrt(d))^2 },
/// with l2 = ||Delta||_2 / (sqrt(n) sigma) and l1 = ||Delta||_1 / (sqrt(n) sigma). The proposition assumes
/// sigma &gt;= 1/2 (per-client, integer units). This is the form used by google-research/federated
/// distributed_dp/accounting_utils.py (compute_rdp_dgaussian) for q = 1; sampling amplification is not covered.
/// Stateless and thread-safe.
/// </summary>
public static class DiscreteGaussianAccounting
{
    /// <summary>tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k/(k+1)) for per-client sigma (integer units).</summary>
    /// <exception cref="ArgumentOutOfRangeException">sigma &lt; 1/2 or not finite, or clients &lt; 1.</exception>
    public static double Tau(double sigma, int clients)
    {
        ValidateSigma(sigma);
        if (clients < 1)
        {
            throw Guard.OutOfRange(nameof(clients), clients, "[1, 2147483647]");
        }

        double twoPiSqSigmaSq = 2.0 * Math.PI * Math.PI * sigma * sigma;
        double sum = 0.0;
        // Terms are decreasing in k's exponent toward exp(-2 pi^2 sigma^2); sum from the smallest for accuracy.
        for (int k = clients - 1; k >= 1; k--)
        {
            sum += Math.Exp(-twoPiSqSigmaSq * k / (k + 1.0));
        }

        return 10.0 * sum;
    }

    /// <summary>
    /// Upper bound on the Rényi divergence of order <paramref name="order"/> between the sum of
    /// <paramref name="clients"/> discrete Gaussians and its shift by a vector with the given L2 and L1 norms
    /// (integer units), i.e. the RDP of one release of the distributed discrete Gaussian sum.
    /// </summary>
    /// <param name="order">Rényi order alpha &gt;= 1.</param>
    /// <param name="sigma">Per-client discrete Gaussian standard-deviation parameter (integer units), &gt;= 1/2.</param>
    /// <param name="clients">n, the number of independent noise shares in the sum (honest survivors).</param>
    /// <param name="l2Sensitivity">||Delta||_2 in integer units (e.g. <see cref="QuantizationBounds.ConservativeNorm"/>).</param>
    /// <param name="l1Sensitivity">||Delta||_1 in integer units; must be at least l2 (use
    /// <see cref="QuantizationBounds.ConservativeL1Norm"/> if unknown).</param>
    /// <param name="dimension">d, the vector dimension.</param>
    public static double SumRdp(double order, double sigma, int clients, double l2Sensitivity, double l1Sensitivity, int dimension)
    {
        if (!(order >= 1.0) || double.IsInfinity(order))
        {
            throw Guard.OutOfRange(nameof(order), order, "[1, +inf) (finite)");
        }

        Guard.NonNegativeFinite(l2Sensitivity, nameof(l2Sensitivity));
        Guard.NonNegativeFinite(l1Sensitivity, nameof(l1Sensitivity));
        if (l1Sensitivity < l2Sensitivity)
        {
            throw Guard.OutOfRangeWithMessage(
                nameof(l1Sensitivity),
                l1Sensitivity,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"l1Sensitivity must be in [l2Sensitivity, +inf) = [{Guard.Format(l2Sensitivity)}, +inf) since ||v||_1 >= ||v||_2; got {Guard.Format(l1Sensitivity)}."));
        }

        if (dimension < 1)
        {
            throw Guard.OutOfRange(nameof(dimension), dimension, "[1, 2147483647]");
        }

        double tau = Tau(sigma, clients);
        double scale = Math.Sqrt(clients) * sigma;
        double l2 = l2Sensitivity / scale;
        double l1 = l1Sensitivity / scale;
        double d = dimension;
        double half = order / 2.0;
        double term1 = (half * l2 * l2) + (tau * d);
        double term2 = half * ((l2 * l2) + (2.0 * l1 * tau) + (tau * tau * d));
        double root = l2 + (tau * Math.Sqrt(d));
        double term3 = half * root * root;
        return Math.Min(term1, Math.Min(term2, term3));
    }

    /// <summary>
    /// Epsilon at <paramref name="delta"/> after <paramref name="rounds"/> releases of the distributed discrete
    /// Gaussian sum (every client every round), via <see cref="SumRdp"/> over <see cref="RdpAccountant.DefaultOrders"/>
    /// and the same RDP conversion as <see cref="RdpAccountant"/>.
    /// </summary>
    public static RdpEpsilon SumEpsilon(
        double sigma,
        int clients,
        double l2Sensitivity,
        double l1Sensitivity,
        int dimension,
        int rounds,
        double delta)
    {
        Guard.Steps(rounds, nameof(rounds));
        Guard.Delta(delta, nameof(delta));
        var orders = RdpAccountant.DefaultOrders;
        var rdp = new double[orders.Count];
        for (int i = 0; i < rdp.Length; i++)
        {
            rdp[i] = rounds * SumRdp(orders[i], sigma, clients, l2Sensitivity, l1Sensitivity, dimension);
        }

        return RdpAccountant.ConvertToEpsilon(orders, rdp, delta);
    }

    private static void ValidateSigma(double sigma)
    {
        if (!(sigma >= 0.5) || double.IsInfinity(sigma))
        {
            throw Guard.OutOfRange(nameof(sigma), sigma, "[0.5, +inf) (KLS21 Proposition 14 assumes sigma >= 1/2)");
        }
    }
}
