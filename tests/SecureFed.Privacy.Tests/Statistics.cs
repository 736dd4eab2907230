namespace SecureFed.Privacy.Tests;

/// <summary>Quantiles used to turn statistical tests into deterministic pass/fail checks at a stated error rate.</summary>
internal static class Statistics
{
    /// <summary>Standard normal upper quantile for one-sided tail 5e-7 (two-sided 1e-6).</summary>
    public const double Z_TwoSided1e6 = 4.891638475698851;

    /// <summary>Standard normal upper quantile for one-sided tail 1e-6.</summary>
    public const double Z_OneSided1e6 = 4.753424308822899;

    /// <summary>Wilson-Hilferty approximation of the chi-square quantile with k degrees of freedom at normal quantile z.</summary>
    public static double ChiSquareQuantile(double k, double z)
    {
        double c = 2.0 / (9.0 * k);
        double t = 1.0 - c + (z * Math.Sqrt(c));
        return k * t * t * t;
    }
}
