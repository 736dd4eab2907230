using System.Numerics;

namespace SecureFed.Privacy.Internal;

/// <summary>
/// A discretized privacy loss distribution for one adjacency direction: probability <c>Probs[i]</c> on the loss
/// <c>(LowerIndex + i) * Interval</c>, plus <see cref="InfinityMass"/> on +infinity (Meiser and Mohammadi 2018;
/// Koskela et al. 2020; the dense PMF of Google's dp_accounting <c>pld_pmf</c>). Immutable once built.
/// Composition is convolution of the PMFs; every truncation here is pessimistic: mass cut from the top goes to
/// +infinity (it then counts fully towards delta), mass cut from the bottom goes to the lowest loss kept.
/// </summary>
internal sealed class PldPmf
{
    public PldPmf(double interval, long lowerIndex, double[] probs, double infinityMass)
    {
        Interval = interval;
        LowerIndex = lowerIndex;
        Probs = probs;
        InfinityMass = Math.Clamp(infinityMass, 0.0, 1.0);
    }

    public double Interval { get; }

    public long LowerIndex { get; }

    public double[] Probs { get; }

    public double InfinityMass { get; }

    /// <summary>The PLD of a mechanism that reveals nothing: all mass on loss 0.</summary>
    public static PldPmf Identity(double interval) => new(interval, 0, [1.0], 0.0);

    /// <summary>
    /// Index range [lower, upper], as offsets from n * LowerIndex, outside of which the n-fold self-convolution has
    /// at most <paramref name="tailMass"/> probability: Chernoff bounds at orders +-1..20 (scaled by the length),
    /// as dp_accounting's <c>compute_self_convolve_bounds</c>.
    /// </summary>
    public (long Lower, long Upper) SelfComposeBounds(long n, double tailMass)
    {
        long upper = checked((Probs.Length - 1) * n);
        long lower = 0;
        if (tailMass <= 0.0)
        {
            return (lower, upper);
        }

        double logTwoOverTail = Math.Log(2.0 / tailMass);
        for (int k = -20; k <= 20; k++)
        {
            if (k == 0)
            {
                continue;
            }

            double order = (double)k / Probs.Length;
            double logMgf = LogMomentGenerating(order);
            double bound = ((n * logMgf) + logTwoOverTail) / order;
            if (!double.IsFinite(bound))
            {
                continue;
            }

            if (order > 0)
            {
                upper = Math.Min(upper, (long)Math.Ceiling(Math.Min(bound, upper)));
            }
            else
            {
                lower = Math.Max(lower, (long)Math.Floor(Math.Max(bound, lower)));
            }
        }

        return (lower, Math.Max(upper, lower));
    }

    /// <summary>
    /// The n-fold composition with itself by one FFT: transform, raise to the n-th power, transform back
    /// (dp_accounting's <c>self_convolve</c>). The circular wrap-around only moves mass that lies outside the
    /// Chernoff range, which is at most <paramref name="tailMass"/>; that much is added to the infinity mass.
    /// </summary>
    public PldPmf SelfCompose(long n, double tailMass)
    {
        if (n == 1)
        {
            return this;
        }

        var (lower, upper) = SelfComposeBounds(n, tailMass);
        long outputLength = upper - lower + 1;
        int size = Fft.NextPowerOfTwo(Math.Max(outputLength, Probs.Length));
        var data = new Complex[size];
        for (int i = 0; i < Probs.Length; i++)
        {
            data[i] = Probs[i];
        }

        Fft.Forward(data);
        for (int i = 0; i < size; i++)
        {
            data[i] = Power(data[i], n);
        }

        Fft.Inverse(data);
        var output = new double[outputLength];
        for (long k = 0; k < outputLength; k++)
        {
            // Rounding leaves values of order 1e-17 around zero; a negative probability is clamped to 0, which only
            // adds mass (so delta can only grow).
            output[k] = Math.Max(0.0, data[(int)((k + lower) % size)].Real);
        }

        // 1 - (1 - inf)^n, stably.
        double infinity = tailMass - LogMath.Expm1(n * LogMath.Log1p(-InfinityMass));
        return new PldPmf(Interval, checked((LowerIndex * n) + lower), output, infinity);
    }

    /// <summary>Composition with another PMF on the same grid by FFT convolution, tails truncated pessimistically.</summary>
    public PldPmf Compose(PldPmf other, double tailMass)
    {
        if (other.Interval != Interval)
        {
            throw new ArgumentException("PMFs on different grids cannot be composed.", nameof(other));
        }

        double infinity = InfinityMass + other.InfinityMass - (InfinityMass * other.InfinityMass);
        long lowerIndex = LowerIndex + other.LowerIndex;
        double[] probs;
        if (Probs.Length == 1 || other.Probs.Length == 1)
        {
            // A point mass only shifts and scales the other side.
            var (single, rest) = Probs.Length == 1 ? (Probs[0], other.Probs) : (other.Probs[0], Probs);
            probs = new double[rest.Length];
            for (int i = 0; i < rest.Length; i++)
            {
                probs[i] = single * rest[i];
            }
        }
        else
        {
            int length = Probs.Length + other.Probs.Length - 1;
            int size = Fft.NextPowerOfTwo(length);
            var a = new Complex[size];
            var b = new Complex[size];
            for (int i = 0; i < Probs.Length; i++)
            {
                a[i] = Probs[i];
            }

            for (int i = 0; i < other.Probs.Length; i++)
            {
                b[i] = other.Probs[i];
            }

            Fft.Forward(a);
            Fft.Forward(b);
            for (int i = 0; i < size; i++)
            {
                a[i] *= b[i];
            }

            Fft.Inverse(a);
            probs = new double[length];
            for (int i = 0; i < length; i++)
            {
                probs[i] = Math.Max(0.0, a[i].Real);
            }
        }

        var (offset, kept, rightMass) = TruncateTails(probs, tailMass);
        return new PldPmf(Interval, lowerIndex + offset, kept, infinity + rightMass);
    }

    /// <summary>
    /// delta(eps) = inf_mass + sum over losses l &gt; eps of (1 - e^(eps - l)) p(l), the eps-hockey-stick divergence.
    /// </summary>
    public double DeltaForEpsilon(double epsilon)
    {
        double delta = InfinityMass;
        for (int i = Probs.Length - 1; i >= 0; i--)
        {
            double loss = (LowerIndex + i) * Interval;
            if (loss <= epsilon)
            {
                break;
            }

            delta += -LogMath.Expm1(epsilon - loss) * Probs[i];
        }

        return Math.Min(delta, 1.0);
    }

    /// <summary>
    /// The smallest eps &gt;= 0 with delta(eps) &lt;= delta, or +infinity when the infinity mass alone exceeds delta.
    /// Walks the losses from the top keeping the masses of the upper (sum p) and lower (sum p e^-l) distributions
    /// above the current loss, as dp_accounting's <c>_get_epsilon_for_delta</c>; between two grid losses delta(eps)
    /// is (upper - e^eps lower), solved exactly.
    /// </summary>
    public double EpsilonForDelta(double delta)
    {
        if (InfinityMass > delta)
        {
            return double.PositiveInfinity;
        }

        double massUpper = InfinityMass;
        double massLower = 0.0;
        for (int i = Probs.Length - 1; i >= 0; i--)
        {
            double loss = (LowerIndex + i) * Interval;
            if (massUpper > delta && massLower > 0.0 && Math.Log((massUpper - delta) / massLower) >= loss)
            {
                break;
            }

            massUpper += Probs[i];
            massLower += Math.Exp(-loss) * Probs[i];
            if (massUpper >= delta && massLower == 0.0)
            {
                // exp(-loss) underflowed: the loss is so large that epsilon is the loss itself.
                return Math.Max(0.0, loss);
            }
        }

        if (massUpper <= massLower + delta)
        {
            return 0.0;
        }

        return Math.Log((massUpper - delta) / massLower);
    }

    /// <summary>
    /// Drops the longest prefix and suffix with mass at most tailMass/2 each; the prefix mass is added to the first
    /// loss kept and the suffix mass is returned to go to +infinity (pessimistic, as dp_accounting's
    /// <c>_truncate_tails</c>).
    /// </summary>
    internal static (long Offset, double[] Kept, double RightMass) TruncateTails(double[] probs, double tailMass)
    {
        if (tailMass <= 0.0 || probs.Length <= 1)
        {
            return (0, probs, 0.0);
        }

        double threshold = tailMass / 2.0;
        int left = 0;
        double leftMass = 0.0;
        while (left < probs.Length && leftMass + probs[left] <= threshold)
        {
            leftMass += probs[left];
            left++;
        }

        int right = probs.Length;
        double rightMass = 0.0;
        while (right > 0 && rightMass + probs[right - 1] <= threshold)
        {
            rightMass += probs[right - 1];
            right--;
        }

        if (right <= left)
        {
            // So little mass that the two tails would meet: keep everything.
            return (0, probs, 0.0);
        }

        var kept = new double[right - left];
        Array.Copy(probs, left, kept, 0, kept.Length);
        kept[0] += leftMass;
        return (left, kept, rightMass);
    }

    private double LogMomentGenerating(double order)
    {
        // log sum_i p_i e^(i * order), by log-sum-exp.
        double max = double.NegativeInfinity;
        for (int i = 0; i < Probs.Length; i++)
        {
            if (Probs[i] > 0.0)
            {
                max = Math.Max(max, i * order);
            }
        }

        double sum = 0.0;
        for (int i = 0; i < Probs.Length; i++)
        {
            if (Probs[i] > 0.0)
            {
                sum += Probs[i] * Math.Exp((i * order) - max);
            }
        }

        return max + Math.Log(sum);
    }

    private static Complex Power(Complex value, long n)
    {
        double magnitude = value.Magnitude;
        if (magnitude == 0.0)
        {
            return Complex.Zero;
        }

        // In polar form: |z|^n e^(i n arg z). |z| <= 1 for a transform of probabilities, so this underflows to 0
        // rather than overflowing.
        double logMagnitude = n * Math.Log(magnitude);
        if (logMagnitude < -745.0)
        {
            return Complex.Zero;
        }

        double angle = n * value.Phase;
        return Complex.FromPolarCoordinates(Math.Exp(logMagnitude), angle);
    }
}
