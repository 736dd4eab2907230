using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SecureFed.Training.Internal;

/// <summary>
/// Uniform and Gaussian draws from an <see cref="IRecordPrivacyRandom"/>'s bytes (never <see cref="Random"/>). A uniform is
/// 53 random bits scaled to [0, 1); a standard normal is the Box-Muller transform of (0, 1] x [0, 1) uniforms, so it is
/// truncated at sqrt(-2 ln 2^-53), about 8.57 standard deviations (tail probability about 1e-17). The noise is rounded to
/// float32 when added to the gradient; floating-point noise has known low-order-bit leaks (Mironov 2012), which this
/// does not address. The bytes are zeroed after use. Stateless; thread-safe when the source is.
/// </summary>
internal static class PrivacyDraws
{
    private const int WordsPerChunk = 256;
    private const double Unit = 1.0 / (1UL << 53);

    /// <summary>Fills <paramref name="destination"/> with independent uniforms in [0, 1).</summary>
    internal static void Uniforms(IRecordPrivacyRandom random, Span<double> destination)
    {
        Span<byte> chunk = stackalloc byte[WordsPerChunk * 8];
        for (var start = 0; start < destination.Length; start += WordsPerChunk)
        {
            var count = Math.Min(WordsPerChunk, destination.Length - start);
            var bytes = chunk[..(count * 8)];
            random.Fill(bytes);
            for (var i = 0; i < count; i++)
            {
                destination[start + i] = (BinaryPrimitives.ReadUInt64LittleEndian(bytes[(i * 8)..]) >> 11) * Unit;
            }
        }

        CryptographicOperations.ZeroMemory(chunk);
    }

    /// <summary>Fills <paramref name="destination"/> with independent N(0, <paramref name="std"/>^2) samples.</summary>
    internal static void Normals(IRecordPrivacyRandom random, Span<float> destination, double std)
    {
        Span<byte> chunk = stackalloc byte[WordsPerChunk * 8];
        for (var start = 0; start < destination.Length; start += WordsPerChunk)
        {
            var count = Math.Min(WordsPerChunk, destination.Length - start);
            var pairs = (count + 1) / 2;
            var bytes = chunk[..(pairs * 16)];
            random.Fill(bytes);
            for (var p = 0; p < pairs; p++)
            {
                // Box-Muller (1958): u1 in (0, 1] keeps the logarithm finite.
                var u1 = ((BinaryPrimitives.ReadUInt64LittleEndian(bytes[(p * 16)..]) >> 11) + 1) * Unit;
                var u2 = (BinaryPrimitives.ReadUInt64LittleEndian(bytes[((p * 16) + 8)..]) >> 11) * Unit;
                var r = std * Math.Sqrt(-2.0 * Math.Log(u1));
                var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
                destination[start + (2 * p)] = (float)(r * cos);
                if ((2 * p) + 1 < count)
                {
                    destination[start + (2 * p) + 1] = (float)(r * sin);
                }
            }
        }

        CryptographicOperations.ZeroMemory(chunk);
    }
}
