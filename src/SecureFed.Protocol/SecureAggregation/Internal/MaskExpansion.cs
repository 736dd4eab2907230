using System.Buffers;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation.Internal;

/// <summary>
/// Adds or subtracts many PRG masks into one vector over Z/2^k, split into chunks that run in parallel: each
/// chunk applies every mask to its own element range (the PRG is seekable by element offset), so the result is
/// identical to a sequential pass and no thread writes another's range.
/// </summary>
/// <remarks>
/// The mask element definition depends on k and must be the same on client and server: for k = 64, element i
/// is the little-endian <see cref="ulong"/> of keystream bytes [8i, 8i+8); for k = 32, the little-endian
/// <see cref="uint"/> of bytes [4i, 4i+4), which halves the keystream needed. Values in <c>target</c> may be any
/// element of Z/2^64 on entry; on exit every value is reduced mod 2^k.
/// </remarks>
internal static class MaskExpansion
{
    // 64 Ki elements per chunk: large enough to amortise AES key setup per (chunk, seed), small enough to spread
    // a 10^5-element vector over a few cores.
    private const int ChunkElements = 1 << 16;

    public static void Apply(IMaskGenerator prg, ulong[] target, IReadOnlyList<(SecretBytes Seed, bool Add)> masks, int ringBits)
    {
        int chunks = (target.Length + ChunkElements - 1) / ChunkElements;
        if (chunks <= 1)
        {
            ApplyRange(prg, target, 0, target.Length, masks, ringBits);
            return;
        }

        Parallel.For(0, chunks, chunk =>
        {
            int start = chunk * ChunkElements;
            ApplyRange(prg, target, start, Math.Min(ChunkElements, target.Length - start), masks, ringBits);
        });
    }

    private static void ApplyRange(
        IMaskGenerator prg, ulong[] target, int start, int length, IReadOnlyList<(SecretBytes Seed, bool Add)> masks, int ringBits)
    {
        var wide = target.AsSpan(start, length);
        if (ringBits == 64)
        {
            foreach (var (seed, add) in masks)
            {
                if (add)
                {
                    prg.AddExpand(seed.Reveal(), wide, start);
                }
                else
                {
                    prg.SubtractExpand(seed.Reveal(), wide, start);
                }
            }

            return;
        }

        uint[] rented = ArrayPool<uint>.Shared.Rent(length);
        var narrow = rented.AsSpan(0, length);
        try
        {
            NarrowWords.Narrow(wide, narrow);

            foreach (var (seed, add) in masks)
            {
                if (add)
                {
                    prg.AddExpand(seed.Reveal(), narrow, start);
                }
                else
                {
                    prg.SubtractExpand(seed.Reveal(), narrow, start);
                }
            }

            NarrowWords.Widen(narrow, wide);
        }
        finally
        {
            narrow.Clear();
            ArrayPool<uint>.Shared.Return(rented);
        }
    }
}
