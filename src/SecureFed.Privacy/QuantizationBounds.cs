using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Norm growth caused by scaling a clipped update by 2^f and randomly rounding each coordinate to an integer
/// (DESIGN.md section 3, fixed point). All results are in integer units (after scaling). Stateless, thread-safe.
/// </summary>
public static class QuantizationBounds
{
    /// <summary>
    /// A bound on the L2 norm of the rounded vector, for an input of L2 norm at most <paramref name="clipNorm"/>:
    /// <list type="bullet">
    /// <item><description>beta = 0 (plain stochastic rounding, any vector): C 2^f + sqrt(d), since each coordinate
    /// moves by less than 1. (Note: sqrt(d)/2 holds only for round-to-nearest, not for stochastic rounding.)</description></item>
    /// <item><description>0 &lt; beta &lt; 1 (conditional randomized rounding of Kairouz, Liu, Steinke 2021,
    /// Section 4.1: re-draw the rounding until the norm is within this bound; the first draw succeeds with
    /// probability at least 1 - beta): min{ C 2^f + sqrt(d), sqrt((C 2^f)^2 + d/4 + sqrt(2 ln(1/beta)) (C 2^f + sqrt(d)/2)) }.
    /// The caller's rounding must enforce it; this function only computes it. Same formula as
    /// google-research/federated distributed_dp rounded_l2_norm_bound.</description></item>
    /// </list>
    /// </summary>
    /// <param name="clipNorm">C, the L2 clip norm before scaling.</param>
    /// <param name="dimension">d, the number of coordinates.</param>
    /// <param name="scaleBits">f, with scale 2^f (0..62).</param>
    /// <param name="beta">Conditional-rounding failure probability in [0, 1); 0 means unconditional.</param>
    public static double ConservativeNorm(double clipNorm, int dimension, int scaleBits, double beta)
    {
        Guard.PositiveFinite(clipNorm, nameof(clipNorm));
        if (dimension < 1)
        {
            throw Guard.OutOfRange(nameof(dimension), dimension, "[1, 2147483647]");
        }

        if (scaleBits is < 0 or > 62)
        {
            throw Guard.OutOfRange(nameof(scaleBits), scaleBits, "[0, 62]");
        }

        if (!(beta >= 0.0 && beta < 1.0))
        {
            throw Guard.OutOfRange(nameof(beta), beta, "[0, 1)");
        }

        double scaled = Math.ScaleB(clipNorm, scaleBits);
        double sqrtD = Math.Sqrt(dimension);
        double unconditional = scaled + sqrtD;
        if (beta == 0.0)
        {
            return unconditional;
        }

        double squared = (scaled * scaled) + (0.25 * dimension)
            + (Math.Sqrt(2.0 * Math.Log(1.0 / beta)) * (scaled + (0.5 * sqrtD)));
        return Math.Min(unconditional, Math.Sqrt(squared));
    }

    /// <summary>
    /// A bound on the L1 norm of an integer vector with L2 norm at most <paramref name="l2Norm"/>:
    /// min(sqrt(d), l2) * l2 (L1 &lt;= sqrt(d) L2 always, and L1 &lt;= L2^2 for integer coordinates).
    /// </summary>
    public static double ConservativeL1Norm(double l2Norm, int dimension)
    {
        Guard.NonNegativeFinite(l2Norm, nameof(l2Norm));
        if (dimension < 1)
        {
            throw Guard.OutOfRange(nameof(dimension), dimension, "[1, 2147483647]");
        }

        return l2Norm * Math.Min(Math.Sqrt(dimension), l2Norm);
    }
}
