using System.Globalization;
using System.Numerics;
using SecureFed.Crypto;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Exact sampler for the discrete Gaussian N_Z(0, sigma^2), P[x] proportional to exp(-x^2 / (2 sigma^2)) on the
/// integers (Canonne, Kamath, Steinke 2020, Algorithms 1-3). sigma^2 is held as an exact fraction of integers and
/// all randomness is uniform integers from an <see cref="IRandomSource"/>, so the output distribution is exactly
/// the discrete Gaussian: no floating-point rounding leaks (Mironov 2012) and the noise can be added to quantized
/// values modulo 2^k without any further approximation. Immutable and thread-safe (if the source is).
/// The running time is random (rejection sampling) and may depend on the output; that timing channel is the
/// paper's accepted trade-off and is not hidden here.
/// </summary>
public sealed class DiscreteGaussianSampler
{
    /// <summary>A sampler for sigma^2 = <paramref name="varianceNumerator"/> / <paramref name="varianceDenominator"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Either part is not positive.</exception>
    public DiscreteGaussianSampler(BigInteger varianceNumerator, BigInteger varianceDenominator)
    {
        if (varianceNumerator.Sign <= 0)
        {
            throw Guard.OutOfRangeWithMessage(
                nameof(varianceNumerator),
                varianceNumerator,
                string.Create(CultureInfo.InvariantCulture, $"varianceNumerator must be in [1, +inf); got {varianceNumerator}."));
        }

        if (varianceDenominator.Sign <= 0)
        {
            throw Guard.OutOfRangeWithMessage(
                nameof(varianceDenominator),
                varianceDenominator,
                string.Create(CultureInfo.InvariantCulture, $"varianceDenominator must be in [1, +inf); got {varianceDenominator}."));
        }

        BigInteger gcd = BigInteger.GreatestCommonDivisor(varianceNumerator, varianceDenominator);
        VarianceNumerator = varianceNumerator / gcd;
        VarianceDenominator = varianceDenominator / gcd;
    }

    /// <summary>Numerator of sigma^2 (reduced).</summary>
    public BigInteger VarianceNumerator { get; }

    /// <summary>Denominator of sigma^2 (reduced).</summary>
    public BigInteger VarianceDenominator { get; }

    /// <summary>sigma^2 rounded to a double, for display and accounting.</summary>
    public double Variance
    {
        get
        {
            double n = (double)VarianceNumerator;
            double d = (double)VarianceDenominator;
            return double.IsFinite(n) && double.IsFinite(d)
                ? n / d
                : Math.Exp(BigInteger.Log(VarianceNumerator) - BigInteger.Log(VarianceDenominator));
        }
    }

    /// <summary>A sampler whose sigma^2 is exactly the given double (converted without rounding to a fraction).</summary>
    /// <exception cref="ArgumentOutOfRangeException">sigmaSquared is not finite and positive.</exception>
    public static DiscreteGaussianSampler FromVariance(double sigmaSquared)
    {
        Guard.PositiveFinite(sigmaSquared, nameof(sigmaSquared));
        var (numerator, denominator) = ExactSampling.ToRational(sigmaSquared);
        return new DiscreteGaussianSampler(numerator, denominator);
    }

    /// <summary>One sample.</summary>
    /// <exception cref="OverflowException">The sample does not fit in a long (only for astronomically large sigma).</exception>
    public long Sample(IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return (long)ExactSampling.DiscreteGaussian(VarianceNumerator, VarianceDenominator, rng);
    }

    /// <summary>Fills <paramref name="destination"/> with independent samples.</summary>
    public void Fill(Span<long> destination, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (long)ExactSampling.DiscreteGaussian(VarianceNumerator, VarianceDenominator, rng);
        }
    }
}
