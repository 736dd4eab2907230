using System.Buffers.Binary;
using SecureFed.Crypto;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Continuous Gaussian noise from a cryptographic random source (never <see cref="System.Random"/>). Standard
/// normals come from the Box-Muller transform of two uniform doubles with 53 random bits each, built from the
/// source's bytes; the smallest uniform is 2^-53, so samples are truncated at about 8.57 standard deviations
/// (probability of that tail about 1e-17). Floating-point noise has known low-order-bit leaks (Mironov 2012);
/// where that matters use <see cref="DiscreteGaussianSampler"/> in the integer domain. Stateless and thread-safe
/// as long as the random source is.
/// </summary>
public static class GaussianNoise
{
    private const int PairsPerChunk = 64;

    /// <summary>One standard normal sample.</summary>
    public static double NextStandardNormal(IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Span<byte> bytes = stackalloc byte[16];
        rng.Fill(bytes);
        var (z0, _) = BoxMuller(BinaryPrimitives.ReadUInt64LittleEndian(bytes), BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]));
        return z0;
    }

    /// <summary>One sample from N(0, sigma^2).</summary>
    /// <exception cref="ArgumentOutOfRangeException">sigma is not finite and positive.</exception>
    public static double Sample(double sigma, IRandomSource rng)
    {
        Guard.PositiveFinite(sigma, nameof(sigma));
        return sigma * NextStandardNormal(rng);
    }

    /// <summary>Fills <paramref name="destination"/> with independent N(0, sigma^2) samples.</summary>
    public static void Fill(Span<double> destination, double sigma, IRandomSource rng)
    {
        Guard.PositiveFinite(sigma, nameof(sigma));
        ArgumentNullException.ThrowIfNull(rng);
        Generate(destination.Length, sigma, rng, destination, default);
    }

    /// <summary>Adds independent N(0, sigma^2) noise to every coordinate of <paramref name="update"/> in place.</summary>
    /// <exception cref="ArgumentOutOfRangeException">sigma is not finite and positive.</exception>
    public static void AddNoise(Span<float> update, double sigma, IRandomSource rng)
    {
        Guard.PositiveFinite(sigma, nameof(sigma));
        ArgumentNullException.ThrowIfNull(rng);
        Generate(update.Length, sigma, rng, default, update);
    }

    private static void Generate(int count, double sigma, IRandomSource rng, Span<double> fill, Span<float> add)
    {
        Span<byte> chunk = stackalloc byte[PairsPerChunk * 16];
        int index = 0;
        while (index < count)
        {
            int pairs = Math.Min(PairsPerChunk, ((count - index) + 1) / 2);
            Span<byte> bytes = chunk[..(pairs * 16)];
            rng.Fill(bytes);
            for (int p = 0; p < pairs; p++)
            {
                var (z0, z1) = BoxMuller(
                    BinaryPrimitives.ReadUInt64LittleEndian(bytes[(p * 16)..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(bytes[((p * 16) + 8)..]));
                Emit(index++, sigma * z0, fill, add);
                if (index < count)
                {
                    Emit(index++, sigma * z1, fill, add);
                }
            }
        }

        CryptographicClear(chunk);
    }

    private static void Emit(int index, double value, Span<double> fill, Span<float> add)
    {
        if (fill.Length > 0)
        {
            fill[index] = value;
        }
        else
        {
            add[index] = (float)(add[index] + value);
        }
    }

    private static (double Z0, double Z1) BoxMuller(ulong first, ulong second)
    {
        double u1 = RandomBits.ToUnitIntervalExcludingZero(first);
        double u2 = RandomBits.ToUnitInterval(second);
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
        return (r * cos, r * sin);
    }

    private static void CryptographicClear(Span<byte> bytes) =>
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
}
