namespace SecureFed.Crypto.Internal;

/// <summary>
/// GF(2^8) with the AES reduction polynomial 0x11B. Every operation runs the same instruction sequence for all
/// inputs (no secret-dependent branches or table lookups), so shares and secrets do not leak through timing or
/// the cache.
/// </summary>
internal static class Gf256
{
    /// <summary>Carry-less product reduced mod 0x11B: eight shift/xor/mask steps.</summary>
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
                x = (x << 1) ^ (-((x >> 7) & 1) & 0x11B);
            }

            return (byte)product;
        }
    }

    /// <summary>a^254 = a^-1 for a ≠ 0 (Fermat), 0 for a = 0. The exponent is public, so its branches are too.</summary>
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
}
