using System.Runtime.Intrinsics;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// GF(2^16) with the primitive reduction polynomial x^16 + x^12 + x^3 + x + 1 (0x1100B), so x (= 2) generates the
/// multiplicative group of order 65535.
/// </summary>
/// <remarks>
/// As in <see cref="Gf256"/>, two kinds of operation are kept apart: span operations on SECRET words take a PUBLIC
/// scalar and select its sixteen multiples scalar·x^k through all-ones/zero masks (no secret-dependent branch or
/// table lookup, vectorised eight words at a time); <see cref="MultiplyPublic"/> and <see cref="InversePublic"/> use
/// log/exp tables and are only ever applied to public values (share indices, Lagrange coefficients).
/// </remarks>
internal static class Gf65536
{
    public const int Order = 1 << 16;
    private const int Polynomial = 0x1100B;

    // Exp[i] = 2^i, doubled so Log[a] + Log[b] needs no reduction; Log[Exp[i]] = i.
    private static readonly ushort[] Exp = BuildExp();
    private static readonly ushort[] Log = BuildLog(Exp);

    /// <summary>Table product for PUBLIC operands only.</summary>
    public static ushort MultiplyPublic(ushort a, ushort b) =>
        a == 0 || b == 0 ? (ushort)0 : Exp[Log[a] + Log[b]];

    /// <summary>Table inverse for a PUBLIC non-zero operand.</summary>
    public static ushort InversePublic(ushort a)
    {
        if (a == 0)
        {
            throw new DivideByZeroException("0 has no inverse in GF(2^16).");
        }

        return Exp[(Order - 1) - Log[a]];
    }

    /// <summary>Bitwise (shift-and-add) product, the reference the tables are tested against.</summary>
    public static ushort MultiplySlow(ushort a, ushort b)
    {
        int x = a;
        int product = 0;
        for (int i = 0; i < 16; i++)
        {
            product ^= -((b >> i) & 1) & x;
            x = (x << 1) ^ (-((x >> 15) & 1) & Polynomial);
        }

        return (ushort)product;
    }

    /// <summary>values[j] = values[j] · scalar, constant-time in the secret values; <paramref name="scalar"/> is public.</summary>
    public static void MultiplyInPlace(Span<ushort> values, ushort scalar) => Apply(values, values, scalar, accumulate: false);

    /// <summary>accumulator[j] ^= scalar · values[j], constant-time in the secret values; <paramref name="scalar"/> is public.</summary>
    public static void MultiplyAccumulate(ushort scalar, ReadOnlySpan<ushort> values, Span<ushort> accumulator)
    {
        if (accumulator.Length != values.Length)
        {
            throw new ArgumentException("Spans differ in length.", nameof(accumulator));
        }

        Apply(values, accumulator, scalar, accumulate: true);
    }

    /// <summary>target[j] ^= source[j].</summary>
    public static void Xor(Span<ushort> target, ReadOnlySpan<ushort> source)
    {
        for (int j = 0; j < target.Length; j++)
        {
            target[j] ^= source[j];
        }
    }

    private static void Apply(ReadOnlySpan<ushort> values, Span<ushort> output, ushort scalar, bool accumulate)
    {
        // multiples[k] = scalar · x^k; the scalar is public, so computing these may branch.
        Span<ushort> multiples = stackalloc ushort[16];
        int m = scalar;
        for (int k = 0; k < 16; k++)
        {
            multiples[k] = (ushort)m;
            m = (m << 1) ^ ((m & 0x8000) != 0 ? Polynomial : 0);
        }

        int j = 0;
        for (; j + 8 <= values.Length; j += 8)
        {
            var v = Vector128.Create<ushort>(values[j..]);
            var product = Vector128<ushort>.Zero;
            for (int k = 0; k < 16; k++)
            {
                var bit = Vector128.Create((ushort)(1 << k));
                var select = Vector128.Equals(v & bit, bit);
                product ^= select & Vector128.Create(multiples[k]);
            }

            if (accumulate)
            {
                product ^= Vector128.Create<ushort>(output[j..]);
            }

            product.CopyTo(output[j..]);
        }

        unchecked
        {
            for (; j < values.Length; j++)
            {
                int v = values[j];
                int product = 0;
                for (int k = 0; k < 16; k++)
                {
                    product ^= -((v >> k) & 1) & multiples[k];
                }

                output[j] = (ushort)(accumulate ? output[j] ^ product : product);
            }
        }
    }

    private static ushort[] BuildExp()
    {
        var exp = new ushort[2 * Order];
        int x = 1;
        for (int i = 0; i < Order - 1; i++)
        {
            exp[i] = (ushort)x;
            x = (x << 1) ^ ((x & 0x8000) != 0 ? Polynomial : 0);
            if (x == 1 && i < Order - 2)
            {
                break;
            }
        }

        // 2 must have order exactly 65535 (primitive polynomial); a wrong constant would break every share silently.
        if (x != 1 || exp[Order - 2] == 0)
        {
            throw new InvalidOperationException("GF(2^16) reduction polynomial is not primitive.");
        }

        for (int i = Order - 1; i < exp.Length; i++)
        {
            exp[i] = exp[i - (Order - 1)];
        }

        return exp;
    }

    private static ushort[] BuildLog(ushort[] exp)
    {
        var log = new ushort[Order];
        for (int i = 0; i < Order - 1; i++)
        {
            log[exp[i]] = (ushort)i;
        }

        return log;
    }
}
