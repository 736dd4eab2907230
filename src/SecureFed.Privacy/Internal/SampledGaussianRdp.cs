namespace SecureFed.Privacy.Internal;

/// <summary>
/// Rényi DP of the Poisson-sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of
/// the Sampled Gaussian Mechanism", Sec. 3.3), computed the way Opacus' <c>analysis/rdp.py</c> (after TF Privacy)
/// does it so that numbers can be compared: RDP(alpha) = log(A_alpha) / (alpha - 1), with A_alpha from the binomial
/// expansion in log space for integer alpha and from the two-sided series with log erfc for fractional alpha.
/// </summary>
internal static class SampledGaussianRdp
{
    /// <summary>Iteration cap for the fractional-alpha series; an order that does not converge gets +inf
    /// (that order is then simply not used by the conversion, which is conservative).</summary>
    internal const int MaxFractionalTerms = 100_000;

    private const double LogHalf = -0.6931471805599453;

    /// <summary>RDP of one step at order <paramref name="alpha"/> (&gt; 1).</summary>
    public static double Compute(double q, double sigma, double alpha)
    {
        if (q == 0.0)
        {
            return 0.0;
        }

        if (q == 1.0)
        {
            // Unsampled Gaussian with sensitivity 1: D_alpha(N(1, s^2) || N(0, s^2)) = alpha / (2 s^2).
            return alpha / (2.0 * sigma * sigma);
        }

        if (double.IsPositiveInfinity(alpha))
        {
            return double.PositiveInfinity;
        }

        return LogA(q, sigma, alpha) / (alpha - 1.0);
    }

    public static double LogA(double q, double sigma, double alpha) =>
        alpha == Math.Floor(alpha) && alpha <= int.MaxValue
            ? LogAForIntegerAlpha(q, sigma, (int)alpha)
            : LogAForFractionalAlpha(q, sigma, alpha);

    /// <summary>
    /// A_alpha = sum_{i=0}^{alpha} C(alpha, i) q^i (1-q)^(alpha-i) exp((i^2 - i) / (2 sigma^2)), summed in log space.
    /// </summary>
    public static double LogAForIntegerAlpha(double q, double sigma, int alpha)
    {
        double logQ = Math.Log(q);
        double log1mQ = LogMath.Log1p(-q);
        double twoSigmaSq = 2.0 * sigma * sigma;
        double logA = double.NegativeInfinity;
        double logBinom = 0.0;
        for (int i = 0; i <= alpha; i++)
        {
            if (i > 0)
            {
                logBinom += Math.Log((double)alpha - i + 1) - Math.Log(i);
            }

            double di = i;
            double s = logBinom + (di * logQ) + ((alpha - di) * log1mQ) + (((di * di) - di) / twoSigmaSq);
            logA = LogMath.LogAdd(logA, s);
        }

        return logA;
    }

    /// <summary>
    /// A_alpha for fractional alpha as two series (the integrals over (-inf, z0] and [z0, +inf) with
    /// z0 = sigma^2 log(1/q - 1) + 1/2), generalised binomial coefficients with their signs, stopped when both
    /// current terms are below e^-30 (Opacus' rule).
    /// </summary>
    public static double LogAForFractionalAlpha(double q, double sigma, double alpha)
    {
        double logQ = Math.Log(q);
        double log1mQ = LogMath.Log1p(-q);
        double sigmaSq = sigma * sigma;
        double twoSigmaSq = 2.0 * sigmaSq;
        double sqrt2Sigma = Math.Sqrt(2.0) * sigma;
        double z0 = (sigmaSq * Math.Log((1.0 / q) - 1.0)) + 0.5;

        double logA0 = double.NegativeInfinity;
        double logA1 = double.NegativeInfinity;
        double logAbsBinom = 0.0;
        bool positive = true;
        for (int i = 0; ; i++)
        {
            if (i > MaxFractionalTerms)
            {
                return double.PositiveInfinity;
            }

            if (i > 0)
            {
                // C(alpha, i) = C(alpha, i-1) * (alpha - i + 1) / i; the factor turns negative once i > alpha + 1.
                double factor = alpha - i + 1;
                logAbsBinom += Math.Log(Math.Abs(factor)) - Math.Log(i);
                if (factor < 0)
                {
                    positive = !positive;
                }
            }

            double di = i;
            double j = alpha - di;
            double logT0 = logAbsBinom + (di * logQ) + (j * log1mQ);
            double logT1 = logAbsBinom + (j * logQ) + (di * log1mQ);
            double logE0 = LogHalf + ErrorFunction.LogErfc((di - z0) / sqrt2Sigma);
            double logE1 = LogHalf + ErrorFunction.LogErfc((z0 - j) / sqrt2Sigma);
            double logS0 = logT0 + (((di * di) - di) / twoSigmaSq) + logE0;
            double logS1 = logT1 + (((j * j) - j) / twoSigmaSq) + logE1;

            if (positive)
            {
                logA0 = LogMath.LogAdd(logA0, logS0);
                logA1 = LogMath.LogAdd(logA1, logS1);
            }
            else if (!LogMath.TryLogSub(logA0, logS0, out logA0) || !LogMath.TryLogSub(logA1, logS1, out logA1))
            {
                // Opacus raises here; a partial sum that went negative is a numerical failure, so this order is
                // reported as +inf (excluded from the minimum) instead of as a wrong finite value.
                return double.PositiveInfinity;
            }

            if (Math.Max(logS0, logS1) < -30.0)
            {
                break;
            }
        }

        return LogMath.LogAdd(logA0, logA1);
    }
}
