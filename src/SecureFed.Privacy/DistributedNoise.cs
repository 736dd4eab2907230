using System.Globalization;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Splitting the central Gaussian noise sigma_c = z C among silos (DESIGN.md section 4): each silo adds variance
/// sigma_c^2 / (t - kappa), so that any t survivors of whom kappa collude (and can subtract their own noise) still
/// leave at least sigma_c^2 of honest noise. Stateless and thread-safe.
/// </summary>
public static class DistributedNoise
{
    /// <summary>
    /// Per-silo noise standard deviation z C / sqrt(t - kappa).
    /// </summary>
    /// <param name="noiseMultiplier">Target central noise multiplier z.</param>
    /// <param name="clipNorm">Clip norm C (the sensitivity of one silo's contribution).</param>
    /// <param name="threshold">t, the fewest survivors with which a round can still release its sum.</param>
    /// <param name="colluding">kappa, the number of colluding silos to tolerate (0 by default in the design).</param>
    /// <exception cref="ArgumentOutOfRangeException">z or C not finite and positive, t &lt; 1, kappa &lt; 0, or
    /// t - kappa &lt; 1.</exception>
    public static double PerClientSigma(double noiseMultiplier, double clipNorm, int threshold, int colluding)
    {
        Guard.NoiseMultiplier(noiseMultiplier, nameof(noiseMultiplier));
        Guard.PositiveFinite(clipNorm, nameof(clipNorm));
        if (threshold < 1)
        {
            throw Guard.OutOfRange(nameof(threshold), threshold, "[1, 2147483647]");
        }

        if (colluding < 0)
        {
            throw Guard.OutOfRange(nameof(colluding), colluding, "[0, threshold - 1]");
        }

        if ((long)threshold - colluding < 1)
        {
            throw Guard.OutOfRangeWithMessage(
                nameof(colluding),
                colluding,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"colluding must be in [0, threshold - 1] = [0, {threshold - 1}] so that threshold - colluding >= 1; got colluding = {colluding} with threshold = {threshold}."));
        }

        return noiseMultiplier * clipNorm / Math.Sqrt(threshold - colluding);
    }

    /// <summary>
    /// The noise multiplier a round is charged with: the honest noise actually present in the released sum,
    /// sqrt(survivors - colluding) * sigma_client, divided by the sensitivity.
    /// </summary>
    /// <param name="perClientSigma">Noise standard deviation each silo added.</param>
    /// <param name="survivors">Silos whose (noised) input is in the released sum.</param>
    /// <param name="clipNorm">Clip norm C; the sensitivity can be no smaller.</param>
    /// <param name="sensitivity">L2 sensitivity of the released sum: C plus any rounding growth.</param>
    /// <param name="colluding">Silos assumed to collude with the server, whose noise does not count.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range, sensitivity &lt; clipNorm, or
    /// survivors - colluding &lt; 1.</exception>
    public static double EffectiveNoiseMultiplier(
        double perClientSigma,
        int survivors,
        double clipNorm,
        double sensitivity,
        int colluding = 0)
    {
        Guard.PositiveFinite(perClientSigma, nameof(perClientSigma));
        Guard.PositiveFinite(clipNorm, nameof(clipNorm));
        Guard.PositiveFinite(sensitivity, nameof(sensitivity));
        if (survivors < 1)
        {
            throw Guard.OutOfRange(nameof(survivors), survivors, "[1, 2147483647]");
        }

        if (colluding < 0 || (long)survivors - colluding < 1)
        {
            throw Guard.OutOfRange(nameof(colluding), colluding, string.Create(CultureInfo.InvariantCulture, $"[0, survivors - 1] = [0, {survivors - 1}]"));
        }

        if (sensitivity < clipNorm)
        {
            throw Guard.OutOfRangeWithMessage(
                nameof(sensitivity),
                sensitivity,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"sensitivity must be in [clipNorm, +inf) = [{Guard.Format(clipNorm)}, +inf): it is the clip norm plus rounding growth; got {Guard.Format(sensitivity)}."));
        }

        return Math.Sqrt(survivors - colluding) * perClientSigma / sensitivity;
    }
}
