using System.Buffers.Binary;
using System.Numerics;
using SecureFed.Crypto;

namespace SecureFed.Privacy.Internal;

/// <summary>Uniform integers and 53-bit uniform doubles drawn from an <see cref="IRandomSource"/> by rejection.</summary>
internal static class RandomBits
{
    private const double TwoToMinus53 = 1.0 / 9007199254740992.0;

    public static ulong NextUInt64(IRandomSource rng)
    {
        Span<byte> buffer = stackalloc byte[8];
        rng.Fill(buffer);
        return BinaryPrimitives.ReadUInt64LittleEndian(buffer);
    }

    /// <summary>k * 2^-53 for a uniform 53-bit k: uniform on [0, 1).</summary>
    public static double ToUnitInterval(ulong bits) => (bits >> 11) * TwoToMinus53;

    /// <summary>(k + 1) * 2^-53 for a uniform 53-bit k: uniform on (0, 1], safe for a logarithm.</summary>
    public static double ToUnitIntervalExcludingZero(ulong bits) => ((bits >> 11) + 1) * TwoToMinus53;

    /// <summary>A uniform integer in [0, bound) for bound &gt;= 1, without modulo bias.</summary>
    public static BigInteger UniformBelow(BigInteger bound, IRandomSource rng)
    {
        if (bound.Sign <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bound), "bound must be positive");
        }

        if (bound.IsOne)
        {
            return BigInteger.Zero;
        }

        if (bound <= ulong.MaxValue)
        {
            return UniformBelow((ulong)bound, rng);
        }

        long bits = (long)(bound - 1).GetBitLength();
        int bytes = checked((int)((bits + 7) / 8));
        int topBits = (int)(bits - (8L * (bytes - 1)));
        byte topMask = (byte)((1 << topBits) - 1);
        var buffer = new byte[bytes];
        while (true)
        {
            rng.Fill(buffer);
            buffer[^1] &= topMask;
            var candidate = new BigInteger(buffer, isUnsigned: true, isBigEndian: false);
            if (candidate < bound)
            {
                return candidate;
            }
        }
    }

    /// <summary>A uniform integer in [0, bound) for bound &gt;= 1 (mask-and-reject; fewer than two draws expected).</summary>
    public static ulong UniformBelow(ulong bound, IRandomSource rng)
    {
        if (bound <= 1)
        {
            return 0;
        }

        ulong max = bound - 1;
        int bits = 64 - BitOperations.LeadingZeroCount(max);
        int bytes = (bits + 7) / 8;
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        Span<byte> buffer = stackalloc byte[8];
        while (true)
        {
            buffer.Clear();
            rng.Fill(buffer[..bytes]);
            ulong candidate = BinaryPrimitives.ReadUInt64LittleEndian(buffer) & mask;
            if (candidate <= max)
            {
                return candidate;
            }
        }
    }
}
