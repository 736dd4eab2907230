using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SecureFed.Protocol;

/// <summary>
/// The element loops a coordinator runs over every plain upload (about 10^8 elements a round at 100 silos x 10^6
/// parameters), on SIMD lanes. <see cref="FirstNonFinite"/> and <see cref="AddScaled"/> give bit for
/// bit what their scalar loops give (the same operations per element, no fused multiply-add); <see cref="SumOfSquares"/>
/// keeps four running sums, so it rounds differently from one but the same in every run. Stateless and thread-safe.
/// </summary>
public static class FloatVectors
{
    /// <summary>The index of the first NaN or infinity in <paramref name="values"/>, or -1 when all are finite.</summary>
    public static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                // x - x is 0 for every finite x and NaN for NaN and both infinities.
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                {
                    break; // the scalar loop below names the element
                }
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Σ x_i² in double precision: four running sums (element i in sum i mod 4, a tail of under 8 after them) added in a
    /// fixed order, so the rounding differs from one running sum's but not from run to run.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        int i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<double>.Zero;
            ref float start = ref MemoryMarshal.GetReference(values);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref start, (nuint)i));
                acc += low * low;
                acc += high * high;
            }

            total = acc.GetElement(0) + acc.GetElement(1) + acc.GetElement(2) + acc.GetElement(3);
        }

        for (; i < values.Length; i++)
        {
            total += (double)values[i] * values[i];
        }

        return total;
    }

    /// <summary>sum_i += weight · x_i for every i, with x_i widened to double first (as the scalar loop does).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void AddScaled(Span<double> sum, double weight, ReadOnlySpan<float> values)
    {
        if (sum.Length != values.Length)
        {
            throw new ArgumentException($"a sum of {sum.Length} elements cannot take a vector of {values.Length}", nameof(values));
        }

        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var w = Vector256.Create(weight);
            ref float source = ref MemoryMarshal.GetReference(values);
            ref double target = ref MemoryMarshal.GetReference(sum);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref source, (nuint)i));
                (Vector256.LoadUnsafe(ref target, (nuint)i) + (w * low)).StoreUnsafe(ref target, (nuint)i);
                (Vector256.LoadUnsafe(ref target, (nuint)i + 4) + (w * high)).StoreUnsafe(ref target, (nuint)i + 4);
            }
        }

        for (; i < values.Length; i++)
        {
            sum[i] += weight * values[i];
        }
    }
}
