using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// Adds or subtracts many PRG masks into one vector, split into chunks that run in parallel: each chunk applies
/// every mask to its own element range (the PRG is seekable by element offset), so the result is identical to a
/// sequential pass and no thread writes another's range. Arithmetic is mod 2^64; callers reduce mod 2^k after.
/// </summary>
internal static class MaskExpansion
{
    // 64 Ki elements = 512 KiB per chunk: large enough to amortise AES key setup per (chunk, seed), small enough
    // to spread a 10^5-element vector over a few cores.
    private const int ChunkElements = 1 << 16;

    public static void Apply(IMaskGenerator prg, ulong[] target, IReadOnlyList<(SecretBytes Seed, bool Add)> masks)
    {
        int chunks = (target.Length + ChunkElements - 1) / ChunkElements;
        if (chunks <= 1 || masks.Count == 0)
        {
            ApplyRange(prg, target, 0, target.Length, masks);
            return;
        }

        Parallel.For(0, chunks, chunk =>
        {
            int start = chunk * ChunkElements;
            ApplyRange(prg, target, start, Math.Min(ChunkElements, target.Length - start), masks);
        });
    }

    private static void ApplyRange(IMaskGenerator prg, ulong[] target, int start, int length, IReadOnlyList<(SecretBytes Seed, bool Add)> masks)
    {
        var span = target.AsSpan(start, length);
        foreach (var (seed, add) in masks)
        {
            if (add)
            {
                prg.AddExpand(seed.Reveal(), span, start);
            }
            else
            {
                prg.SubtractExpand(seed.Reveal(), span, start);
            }
        }
    }
}
