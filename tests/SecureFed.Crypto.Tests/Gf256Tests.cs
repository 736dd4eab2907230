using SecureFed.Crypto.Internal;

namespace SecureFed.Crypto.Tests;

public class Gf256Tests
{
    // Textbook shift-and-add with branches, as the reference the branch-free version must match.
    private static byte ReferenceMultiply(byte a, byte b)
    {
        int result = 0;
        int x = a;
        for (int y = b; y != 0; y >>= 1)
        {
            if ((y & 1) != 0)
            {
                result ^= x;
            }

            x <<= 1;
            if ((x & 0x100) != 0)
            {
                x ^= 0x11B;
            }
        }

        return (byte)result;
    }

    [Fact]
    public void Multiply_AllPairs_MatchesReference()
    {
        for (int a = 0; a < 256; a++)
        {
            for (int b = 0; b < 256; b++)
            {
                Assert.Equal(ReferenceMultiply((byte)a, (byte)b), Gf256.Multiply((byte)a, (byte)b));
            }
        }
    }

    [Fact]
    public void Multiply_Fips197Section42Example_Is0xC1()
    {
        Assert.Equal(0xC1, Gf256.Multiply(0x57, 0x83));
        Assert.Equal(0xFE, Gf256.Multiply(0x57, 0x13));
    }

    [Fact]
    public void Inverse_EveryNonZeroElement_MultipliesToOne()
    {
        for (int a = 1; a < 256; a++)
        {
            Assert.Equal(1, Gf256.Multiply((byte)a, Gf256.Inverse((byte)a)));
        }

        Assert.Equal(0, Gf256.Inverse(0));
    }
}
