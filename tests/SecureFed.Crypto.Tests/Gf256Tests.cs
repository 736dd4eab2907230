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

    [Fact]
    public void MultiplyPublicAndInversePublic_AllPairs_MatchConstantTimeVersions()
    {
        for (int a = 0; a < 256; a++)
        {
            for (int b = 0; b < 256; b++)
            {
                Assert.Equal(Gf256.Multiply((byte)a, (byte)b), Gf256.MultiplyPublic((byte)a, (byte)b));
            }

            if (a != 0)
            {
                Assert.Equal(Gf256.Inverse((byte)a), Gf256.InversePublic((byte)a));
            }
        }

        Assert.Throws<DivideByZeroException>(() => Gf256.InversePublic(0));
    }

    [Fact]
    public void SpanOperations_EveryScalarAndVariousLengths_MatchScalarMultiply()
    {
        // Lengths cover the 16-byte vector path and the scalar tail.
        var values = new byte[256 + 37];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = unchecked((byte)((i * 167) + 13));
        }

        for (int scalar = 0; scalar < 256; scalar++)
        {
            foreach (int length in new[] { 0, 1, 15, 16, 17, 32, 256 + 37 })
            {
                var input = values.AsSpan(0, length);
                var scaled = input.ToArray();
                Gf256.MultiplyInPlace(scaled, (byte)scalar);
                var accumulated = input.ToArray();
                Gf256.MultiplyAccumulate((byte)scalar, input, accumulated);
                for (int j = 0; j < length; j++)
                {
                    byte product = Gf256.Multiply((byte)scalar, input[j]);
                    Assert.Equal(product, scaled[j]);
                    Assert.Equal((byte)(input[j] ^ product), accumulated[j]);
                }
            }
        }
    }

    [Fact]
    public void Xor_VariousLengths_XorsBytewise()
    {
        byte[] a = Enumerable.Range(0, 40).Select(i => (byte)i).ToArray();
        byte[] b = Enumerable.Range(0, 40).Select(i => (byte)(255 - (3 * i))).ToArray();
        byte[] expected = a.Zip(b, (x, y) => (byte)(x ^ y)).ToArray();
        Gf256.Xor(a, b);
        Assert.Equal(expected, a);
    }
}
