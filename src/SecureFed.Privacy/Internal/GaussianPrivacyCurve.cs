namespace SecureFed.Privacy.Internal;

/// <summary>
/// The exact (epsilon, delta) curve of a Gaussian mechanism with sensitivity-to-noise ratio mu (mu-GDP):
/// delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2) (Balle and Wang 2018, Theorem 8; Dong, Roth, Su
/// 2019, Corollary 2.13). Evaluated in log space so that neither e^eps nor the Phi values overflow or underflow.
/// </summary>
internal static class GaussianPrivacyCurve
{
    private const double InvSqrt2 = 0.7071067811865476;

    /// <summary>Upper end of the epsilon search; beyond it the delta target is declared unreachable.</summary>
    private const double MaxEpsilon = 1e12;

    /// <summary>Relative width at which the root bracket is accepted.</summary>
    internal const double RelativeTolerance = 1e-12;

    public static double Delta(double mu, double eps) => Math.Exp(LogDelta(mu, eps));

    /// <summary>log delta(eps) for mu &gt; 0 and eps &gt;= 0.</summary>
    public static double LogDelta(double mu, double eps)
    {
        double a = (-eps / mu) + (mu / 2.0);
        double b = (-eps / mu) - (mu / 2.0);
        if (a >= 0.0)
        {
            // Phi(a) >= 1/2 here, so the difference has no catastrophic cancellation and e^eps Phi(b) <= Phi(a).
            double phiA = ErrorFunction.NormalCdf(a);
            double second = Math.Exp(eps + ErrorFunction.LogNormalCdf(b));
            double d = phiA - second;
            return d > 0.0 ? Math.Log(d) : double.NegativeInfinity;
        }

        // For a < 0 both terms share the factor exp(-a^2/2), because eps - b^2/2 = -a^2/2:
        // delta = exp(-a^2/2) / 2 * (erfcx(-a/sqrt2) - erfcx(-b/sqrt2)), with both erfcx arguments positive.
        double u = -a * InvSqrt2;
        double v = -b * InvSqrt2;
        double diff = ErrorFunction.Erfcx(u) - ErrorFunction.Erfcx(v);
        if (!(diff > 0.0))
        {
            return double.NegativeInfinity;
        }

        return (-(a * a) / 2.0) + Math.Log(0.5 * diff);
    }

    /// <summary>
    /// The smallest eps &gt;= 0 with delta(eps) &lt;= delta, by bracketing and bisection to 1e-12 relative; the
    /// upper end of the final bracket is returned, so delta(result) &lt;= delta holds as evaluated.
    /// </summary>
    public static double Epsilon(double mu, double delta)
    {
        double logTarget = Math.Log(delta);
        if (LogDelta(mu, 0.0) <= logTarget)
        {
            return 0.0;
        }

        double lo = 0.0;
        double hi = Math.Max(1.0, mu * mu);
        while (LogDelta(mu, hi) > logTarget)
        {
            lo = hi;
            hi *= 2.0;
            if (hi > MaxEpsilon)
            {
                return double.PositiveInfinity;
            }
        }

        while (hi - lo > RelativeTolerance * hi)
        {
            double mid = lo + ((hi - lo) / 2.0);
            if (mid <= lo || mid >= hi)
            {
                break;
            }

            if (LogDelta(mu, mid) > logTarget)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return hi;
    }
}
