using System.Runtime.Intrinsics;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B).
/// </summary>
/// <remarks>
/// Two kinds of operation, kept apart on purpose:
/// <list type="bullet">
/// <item>Operations on secret data (<see cref="Multiply"/>, <see cref="Inverse"/>, <see cref="MultiplyInPlace"/>,
/// <see cref="MultiplyAccumulate"/>) run the same instruction sequence for every secret value: shifts, xors and
/// all-ones/zero masks, no secret-dependent branch and no table indexed by a secret, so shares and secrets do
/// not leak through timing or the cache. The span operations take the multiplier as a PUBLIC scalar (a share
/// index or Lagrange coefficient) and use its eight multiples x·2^k; the secret bytes only select those
/// multiples through masks (vectorised 16 bytes at a time).</item>
/// <item><see cref="MultiplyPublic"/> and <see cref="InversePublic"/> use log/exp tables and branch on zero: fast,
/// and only ever applied to public values (share indices, Lagrange coefficients).</item>
/// </list>
/// </remarks>
internal static class Gf256
{
    private const int Polynomial = 0x11B;

    // Exp[i] = 3^i (3 generates the multiplicative group), doubled so Log[a] + Log[b] needs no reduction.
    private static readonly byte[] Exp = BuildExp();
    private static readonly byte[] Log = BuildLog(Exp);

    /// <summary>Constant-time product: eight shift/xor/mask steps.</summary>
    public static byte Multiply(byte a, byte b)
    {
        unchecked
        {
            int x = a;
            int y = b;
            int product = 0;
            for (int i = 0; i < 8; i++)
            {
                // -(bit) is 0 or all ones: select without branching.
                product ^= -((y >> i) & 1) & x;
                x = (x << 1) ^ (-((x >> 7) & 1) & Polynomial);
            }

            return (byte)product;
        }
    }

    /// <summary>Constant-time a^254 = a^-1 for a ≠ 0 (Fermat), 0 for a = 0. The exponent is public, so are its
    /// branches.</summary>
    public static byte Inverse(byte a)
    {
        // 254 = 0b11111110: square-and-multiply over a fixed exponent.
        byte result = 1;
        for (int bit = 7; bit >= 0; bit--)
        {
            result = Multiply(result, result);
            if (((254 >> bit) & 1) != 0)
            {
                result = Multiply(result, a);
            }
        }

        return result;
    }

    /// <summary>Table product for PUBLIC operands only (branches on zero, indexes tables by the operands).</summary>
    public static byte MultiplyPublic(byte a, byte b) =>
        a == 0 || b == 0 ? (byte)0 : Exp[Log[a] + Log[b]];

    /// <summary>Table inverse for a PUBLIC non-zero operand.</summary>
    public static byte InversePublic(byte a)
    {
        if (a == 0)
        {
            throw new DivideByZeroException("0 has no inverse in GF(2^8).");
        }

        return Exp[255 - Log[a]];
    }

    /// <summary>values[j] = values[j] · scalar, constant-time in the secret values; <paramref name="scalar"/> is public.</summary>
    public static void MultiplyInPlace(Span<byte> values, byte scalar) => Apply(values, values, scalar, accumulate: false);

    /// <summary>accumulator[j] ^= scalar · values[j], constant-time in the secret values and accumulator;
    /// <paramref name="scalar"/> is public.</summary>
    public static void MultiplyAccumulate(byte scalar, ReadOnlySpan<byte> values, Span<byte> accumulator)
    {
        if (accumulator.Length != values.Length)
        {
            throw new ArgumentException("Spans differ in length.", nameof(accumulator));
        }

        Apply(values, accumulator, scalar, accumulate: true);
    }

    /// <summary>target[j] ^= source[j].</summary>
    public static void Xor(Span<byte> target, ReadOnlySpan<byte> source)
    {
        int j = 0;
        for (; j + 16 <= target.Length; j += 16)
        {
            (Vector128.Create<byte>(target[j..]) ^ Vector128.Create<byte>(source[j..])).CopyTo(target[j..]);
        }

        for (; j < target.Length; j++)
        {
            target[j] ^= source[j];
        }
    }

    private static void Apply(ReadOnlySpan<byte> values, Span<byte> output, byte scalar, bool accumulate)
    {
        // multiples[k] = scalar · x^k. The scalar is public, so computing these may branch.
        Span<byte> multiples = stackalloc byte[8];
        int m = scalar;
        for (int k = 0; k < 8; k++)
        {
            multiples[k] = (byte)m;
            m = (m << 1) ^ ((m & 0x80) != 0 ? Polynomial : 0);
        }

        int j = 0;
        for (; j + 16 <= values.Length; j += 16)
        {
            var v = Vector128.Create<byte>(values[j..]);
            var product = Vector128<byte>.Zero;
            for (int k = 0; k < 8; k++)
            {
                var bit = Vector128.Create((byte)(1 << k));

                // All ones in each lane whose bit k is set (a compare, not a branch).
                var select = Vector128.Equals(v & bit, bit);
                product ^= select & Vector128.Create(multiples[k]);
            }

            if (accumulate)
            {
                product ^= Vector128.Create<byte>(output[j..]);
            }

            product.CopyTo(output[j..]);
        }

        unchecked
        {
            for (; j < values.Length; j++)
            {
                int v = values[j];
                int product = 0;
                for (int k = 0; k < 8; k++)
                {
                    product ^= -((v >> k) & 1) & multiples[k];
                }

                output[j] = (byte)(accumulate ? output[j] ^ product : product);
            }
        }
    }

    private static byte[] BuildExp()
    {
        var exp = new byte[512];
        int x = 1;
        for (int i = 0; i < 255; i++)
        {
            exp[i] = (byte)x;

            // x · 3 = x · 2 ^ x
            int doubled = (x << 1) ^ ((x & 0x80) != 0 ? Polynomial : 0);
            x = doubled ^ x;
        }

        for (int i = 255; i < 512; i++)
        {
            exp[i] = exp[i - 255];
        }

        return exp;
    }

    private static byte[] BuildLog(byte[] exp)
    {
        var log = new byte[256];
        for (int i = 0; i < 255; i++)
        {
            log[exp[i]] = (byte)i;
        }

        return log;
    }
}
