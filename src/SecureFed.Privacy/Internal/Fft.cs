using System.Numerics;

namespace SecureFed.Privacy.Internal;

/// <summary>
/// Iterative radix-2 Cooley-Tukey FFT over <see cref="Complex"/>, for lengths that are powers of two. The twiddle
/// factors are computed directly with cos/sin (not by recurrence) so the rounding error stays at a few ulps per
/// stage; that matters because PLD composition raises transforms to powers in the tens of thousands.
/// </summary>
internal static class Fft
{
    /// <summary>The smallest power of two that is at least <paramref name="n"/> (n &gt;= 1).</summary>
    public static int NextPowerOfTwo(long n)
    {
        int size = 1;
        while (size < n)
        {
            size *= 2;
        }

        return size;
    }

    /// <summary>In-place forward transform, X_k = sum_j x_j e^{-2 pi i jk/n}.</summary>
    public static void Forward(Complex[] data) => Transform(data, inverse: false);

    /// <summary>In-place inverse transform, including the 1/n factor.</summary>
    public static void Inverse(Complex[] data)
    {
        Transform(data, inverse: true);
        double scale = 1.0 / data.Length;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] *= scale;
        }
    }

    private static void Transform(Complex[] data, bool inverse)
    {
        int n = data.Length;
        if (n == 0 || (n & (n - 1)) != 0)
        {
            throw new ArgumentException($"FFT length must be a power of two; got {n}.", nameof(data));
        }

        // Bit-reversal permutation.
        for (int i = 1, j = 0; i < n; i++)
        {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1)
            {
                j ^= bit;
            }

            j ^= bit;
            if (i < j)
            {
                (data[i], data[j]) = (data[j], data[i]);
            }
        }

        // Twiddles for the largest stage; smaller stages take every (n/len)-th one.
        int half = n / 2;
        var twiddles = new Complex[Math.Max(half, 1)];
        double sign = inverse ? 1.0 : -1.0;
        for (int k = 0; k < half; k++)
        {
            double angle = sign * 2.0 * Math.PI * k / n;
            twiddles[k] = new Complex(Math.Cos(angle), Math.Sin(angle));
        }

        for (int len = 2; len <= n; len *= 2)
        {
            int halfLen = len / 2;
            int stride = n / len;
            for (int start = 0; start < n; start += len)
            {
                for (int k = 0; k < halfLen; k++)
                {
                    Complex t = twiddles[k * stride] * data[start + k + halfLen];
                    Complex u = data[start + k];
                    data[start + k] = u + t;
                    data[start + k + halfLen] = u - t;
                }
            }
        }
    }
}
