using CsCheck;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

public class ModularArithmeticTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void Add_MaxElementPlusOne_WrapsToZero(int bits)
    {
        Assert.Equal(0UL, ModularArithmetic.Add(ModularArithmetic.MaxElement(bits), 1, bits));
        Assert.Equal(ModularArithmetic.MaxElement(bits), ModularArithmetic.Subtract(0, 1, bits));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void ToSigned_FromSigned_RoundTrips(int bits)
    {
        long min = bits == 64 ? long.MinValue : int.MinValue;
        long max = bits == 64 ? long.MaxValue : int.MaxValue;
        Gen.Long[min, max].Sample(v => Assert.Equal(v, ModularArithmetic.ToSigned(ModularArithmetic.FromSigned(v, bits), bits)));
        Assert.Equal(-1, ModularArithmetic.ToSigned(ModularArithmetic.MaxElement(bits), bits));
    }

    [Fact]
    public void AddInPlace_ThenSubtractInPlace_RestoresVector()
    {
        Gen.Select(Gen.ULong.Array[5], Gen.ULong.Array[5]).Sample((a, b) =>
        {
            var x = (ulong[])a.Clone();
            ModularArithmetic.AddInPlace(x, b, 64);
            ModularArithmetic.SubtractInPlace(x, b, 64);
            Assert.Equal(a, x);
        });
    }

    [Fact]
    public void AddInPlace_DifferentLengths_Throws()
    {
        Assert.Throws<ArgumentException>(() => ModularArithmetic.AddInPlace(new ulong[2], new ulong[3], 64));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(63)]
    public void MaxElement_UnsupportedRing_Throws(int bits)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ModularArithmetic.MaxElement(bits));
    }

    [Fact]
    public void RingVector_ValueAbove2To32In32BitRing_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RingVector(32, [1UL << 32]));
    }

    [Fact]
    public void RingVector_ToBytes32_FourBytesPerElement()
    {
        var v = new RingVector(32, [0x01020304UL, 0xffffffffUL]);
        Assert.Equal(new byte[] { 4, 3, 2, 1, 0xff, 0xff, 0xff, 0xff }, v.ToBytes());
    }

    [Fact]
    public void RingVector_ToString_DoesNotPrintElements()
    {
        var v = RingVector.FromSigned(64, [123456789, -987654321]);
        Assert.DoesNotContain("123456789", v.ToString(), StringComparison.Ordinal);
        Assert.Equal(new long[] { 123456789, -987654321 }, v.ToSigned());
    }
}
