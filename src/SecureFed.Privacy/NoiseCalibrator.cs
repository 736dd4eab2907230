using System.Globalization;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>Finds the noise multiplier that meets an (epsilon, delta) target over a number of rounds.</summary>
public static class NoiseCalibrator
{
    /// <summary>Smallest multiplier searched; a target that even this meets returns it.</summary>
    public const double MinNoiseMultiplier = 1e-3;

    /// <summary>Largest multiplier searched; a target that needs more is refused.</summary>
    public const double MaxNoiseMultiplier = 1e6;

    /// <summary>Width of the final bisection bracket.</summary>
    private const double Tolerance = 1e-9;

    /// <summary>
    /// The smallest noise multiplier z (to 1e-6; the search brackets to 1e-9) for which <paramref name="rounds"/>
    /// rounds at sampling rate <paramref name="samplingRate"/> stay within <paramref name="targetEpsilon"/> at
    /// <paramref name="delta"/> under the chosen accountant: the result z satisfies eps(z) &lt;= target and
    /// eps(z - 1e-6) &gt; target (unless z is <see cref="MinNoiseMultiplier"/>). Bisection on z with an expanding
    /// upper bracket; epsilon is monotone decreasing in z for both accountants.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range (for <see cref="AccountantKind.Exact"/>
    /// the sampling rate must be 1), or the target needs z above <see cref="MaxNoiseMultiplier"/>.</exception>
    public static double Calibrate(double targetEpsilon, double delta, int rounds, double samplingRate, AccountantKind kind)
    {
        Guard.PositiveFinite(targetEpsilon, nameof(targetEpsilon));
        Guard.Delta(delta, nameof(delta));
        Guard.Steps(rounds, nameof(rounds));
        Guard.SamplingRate(samplingRate, nameof(samplingRate));
        if (kind == AccountantKind.Exact && samplingRate != 1.0)
        {
            throw Guard.OutOfRangeWithMessage(
                nameof(samplingRate),
                samplingRate,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"samplingRate must be exactly 1 for the exact Gaussian accountant (every silo every round); got {Guard.Format(samplingRate)}. Use AccountantKind.Rdp for sampled rounds."));
        }

        double Epsilon(double z) => PrivacyAccountants.ComputeEpsilon(kind, [(z, samplingRate, rounds)], delta);

        double hi = 1.0;
        double lo;
        if (Epsilon(hi) > targetEpsilon)
        {
            lo = hi;
            while (true)
            {
                hi *= 2.0;
                if (hi > MaxNoiseMultiplier)
                {
                    throw Guard.OutOfRangeWithMessage(
                        nameof(targetEpsilon),
                        targetEpsilon,
                        string.Create(
                            CultureInfo.InvariantCulture,
                            $"targetEpsilon {Guard.Format(targetEpsilon)} at delta {Guard.Format(delta)} over {rounds} rounds would need a noise multiplier above {MaxNoiseMultiplier}; choose a larger epsilon or fewer rounds."));
                }

                if (Epsilon(hi) <= targetEpsilon)
                {
                    break;
                }

                lo = hi;
            }
        }
        else
        {
            lo = hi / 2.0;
            while (Epsilon(lo) <= targetEpsilon)
            {
                hi = lo;
                if (hi <= MinNoiseMultiplier)
                {
                    return hi;
                }

                lo = Math.Max(hi / 2.0, MinNoiseMultiplier);
                if (lo == hi)
                {
                    return hi;
                }
            }
        }

        // Invariant: eps(lo) > target >= eps(hi).
        while (hi - lo > Tolerance)
        {
            double mid = lo + ((hi - lo) / 2.0);
            if (mid <= lo || mid >= hi)
            {
                break;
            }

            if (Epsilon(mid) <= targetEpsilon)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return hi;
    }
}
