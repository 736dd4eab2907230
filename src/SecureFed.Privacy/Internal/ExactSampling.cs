using System.Numerics;
using SecureFed.Crypto;

namespace SecureFed.Privacy.Internal;

/// <summary>
/// The exact samplers of Canonne, Kamath, Steinke 2020 ("The Discrete Gaussian for Differential Privacy",
/// Section 5): every probability is a ratio of integers and every decision is a comparison of uniform integers,
/// so no floating-point value ever influences the output distribution.
/// </summary>
internal static class ExactSampling
{
    /// <summary>Bernoulli(num/den) for 0 &lt;= num &lt;= den, den &gt; 0.</summary>
    public static bool Bernoulli(BigInteger numerator, BigInteger denominator, IRandomSource rng) =>
        RandomBits.UniformBelow(denominator, rng) < numerator;

    /// <summary>Bernoulli(exp(-num/den)) for num &gt;= 0, den &gt; 0 (CKS20 Algorithm 1).</summary>
    public static bool BernoulliExpMinus(BigInteger numerator, BigInteger denominator, IRandomSource rng)
    {
        if (numerator <= denominator)
        {
            return BernoulliExpMinusAtMostOne(numerator, denominator, rng);
        }

        // gamma > 1: exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma - floor(gamma))).
        BigInteger whole = BigInteger.DivRem(numerator, denominator, out BigInteger remainder);
        for (BigInteger k = BigInteger.One; k <= whole; k++)
        {
            if (!BernoulliExpMinusAtMostOne(BigInteger.One, BigInteger.One, rng))
            {
                return false;
            }
        }

        return BernoulliExpMinusAtMostOne(remainder, denominator, rng);
    }

    /// <summary>
    /// Bernoulli(exp(-gamma)) for gamma = num/den in [0, 1]: draw A_k ~ Bernoulli(gamma/k) for k = 1, 2, ... until
    /// the first 0; the output is 1 iff that happens at an odd k (the alternating series of exp(-gamma)).
    /// </summary>
    private static bool BernoulliExpMinusAtMostOne(BigInteger numerator, BigInteger denominator, IRandomSource rng)
    {
        BigInteger k = BigInteger.One;
        while (Bernoulli(numerator, denominator * k, rng))
        {
            k++;
        }

        return !k.IsEven;
    }

    /// <summary>Discrete Laplace with scale t (P[x] proportional to exp(-|x|/t)), t &gt;= 1 (CKS20 Algorithm 2, s = 1).</summary>
    public static BigInteger DiscreteLaplace(BigInteger t, IRandomSource rng)
    {
        while (true)
        {
            BigInteger u = RandomBits.UniformBelow(t, rng);
            if (!BernoulliExpMinus(u, t, rng))
            {
                continue;
            }

            BigInteger v = BigInteger.Zero;
            while (BernoulliExpMinus(BigInteger.One, BigInteger.One, rng))
            {
                v++;
            }

            BigInteger x = u + (t * v);
            bool negative = Bernoulli(BigInteger.One, 2, rng);
            if (negative && x.IsZero)
            {
                continue;
            }

            return negative ? -x : x;
        }
    }

    /// <summary>
    /// Discrete Gaussian N_Z(0, sigma^2) with sigma^2 = num/den (CKS20 Algorithm 3): discrete Laplace proposals with
    /// t = floor(sigma) + 1, accepted with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)).
    /// </summary>
    public static BigInteger DiscreteGaussian(BigInteger numerator, BigInteger denominator, IRandomSource rng)
    {
        // floor(sigma) = floor(sqrt(floor(sigma^2))).
        BigInteger t = IntegerSqrt(BigInteger.Divide(numerator, denominator)) + 1;
        BigInteger acceptDenominator = 2 * numerator * t * t * denominator;
        BigInteger scaledT = t * denominator;
        while (true)
        {
            BigInteger y = DiscreteLaplace(t, rng);
            // (|Y| - sigma^2/t)^2 / (2 sigma^2) = (|Y| t d - n)^2 / (2 n t^2 d).
            BigInteger centered = (BigInteger.Abs(y) * scaledT) - numerator;
            if (BernoulliExpMinus(centered * centered, acceptDenominator, rng))
            {
                return y;
            }
        }
    }

    /// <summary>floor(sqrt(n)) for n &gt;= 0 (Newton's method on integers).</summary>
    public static BigInteger IntegerSqrt(BigInteger n)
    {
        if (n.Sign < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), "n must be non-negative");
        }

        if (n < 2)
        {
            return n;
        }

        // Start above the root: 2^ceil(bits/2) >= sqrt(n).
        BigInteger x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            BigInteger y = (x + (n / x)) >> 1;
            if (y >= x)
            {
                return x;
            }

            x = y;
        }
    }

    /// <summary>The exact value of a finite positive double as a reduced fraction num/den with den a power of two.</summary>
    public static (BigInteger Numerator, BigInteger Denominator) ToRational(double value)
    {
        long bits = BitConverter.DoubleToInt64Bits(value);
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & ((1L << 52) - 1);
        if (exponent == 0)
        {
            exponent = 1;
        }
        else
        {
            mantissa |= 1L << 52;
        }

        exponent -= 1075;
        if (mantissa == 0)
        {
            return (BigInteger.Zero, BigInteger.One);
        }

        int trailing = BitOperations.TrailingZeroCount(mantissa);
        mantissa >>= trailing;
        exponent += trailing;
        return exponent >= 0
            ? (new BigInteger(mantissa) << exponent, BigInteger.One)
            : (new BigInteger(mantissa), BigInteger.One << -exponent);
    }
}
