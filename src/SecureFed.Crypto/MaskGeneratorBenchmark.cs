using System.Diagnostics;

namespace SecureFed.Crypto;

/// <summary>Which mask operation <see cref="MaskGeneratorBenchmark"/> times.</summary>
public enum MaskBenchmarkOperation
{
    /// <summary><see cref="IMaskGenerator.Expand(ReadOnlySpan{byte}, Span{ulong}, long)"/>: pure keystream.</summary>
    Expand,

    /// <summary><see cref="IMaskGenerator.AddExpand(ReadOnlySpan{byte}, Span{ulong}, long)"/>: keystream added
    /// into an existing vector mod 2^64, the operation masking actually performs.</summary>
    AddExpand,
}

/// <summary>
/// A quick single-threaded throughput probe of <see cref="CryptoProvider.MaskGenerator"/> for the bench command
/// and for start-up diagnostics. Not a substitute for BenchmarkDotNet; reports the best of several passes.
/// </summary>
public static class MaskGeneratorBenchmark
{
    /// <summary>Whether the AES-NI engine is in use (otherwise the slower BCL AES-ECB engine).</summary>
    public static bool HardwareAccelerated => Internal.AesCtrKeystream.HardwareAccelerated;

    /// <summary>Measures throughput in gigabytes (10^9 bytes) of mask per second on the calling thread.</summary>
    /// <param name="megabytes">Size of the vector masked per pass, in MiB (1..4096).</param>
    /// <param name="operation">What to time.</param>
    /// <param name="passes">Timed passes after one warm-up pass; the fastest counts.</param>
    /// <param name="prg">The <see cref="MaskPrgs"/> generator to time.</param>
    public static double MeasureGigabytesPerSecond(
        int megabytes, MaskBenchmarkOperation operation = MaskBenchmarkOperation.Expand, int passes = 5, string prg = MaskPrgs.Aes256Ctr)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(megabytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(megabytes, 4096);
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        var generator = CryptoProvider.Default.MaskGeneratorFor(prg);
        var vector = new ulong[megabytes * (1024 * 1024 / sizeof(ulong))];
        Span<byte> seed = stackalloc byte[generator.SeedSize];
        SystemRandomSource.Instance.Fill(seed);
        double best = double.MaxValue;
        for (int pass = 0; pass <= passes; pass++)
        {
            long start = Stopwatch.GetTimestamp();
            switch (operation)
            {
                case MaskBenchmarkOperation.Expand:
                    generator.Expand(seed, vector);
                    break;
                case MaskBenchmarkOperation.AddExpand:
                    generator.AddExpand(seed, vector);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown benchmark operation.");
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (pass > 0)
            {
                best = Math.Min(best, seconds);
            }
        }

        return vector.Length * (double)sizeof(ulong) / best / 1e9;
    }
}
