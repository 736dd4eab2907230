using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Protocol.Tests;

public class NarrowWordsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1001)]
    public void NarrowThenWiden_KeepsTheLow32Bits_AtEveryLength(int length)
    {
        // Lengths around and between SIMD widths, values with high bits set: the vector loop and the tail agree with
        // the element-by-element definition.
        var random = new Random(length);
        var wide = Enumerable.Range(0, length).Select(_ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40)).ToArray();
        var narrow = new uint[length];
        NarrowWords.Narrow(wide, narrow);
        Assert.Equal(wide.Select(v => (uint)(v & uint.MaxValue)), narrow);

        var back = new ulong[length];
        NarrowWords.Widen(narrow, back);
        Assert.Equal(wide.Select(v => v & uint.MaxValue), back);
    }

    [Fact]
    public void Narrow_LengthsDiffer_Refused()
    {
        Assert.Throws<ArgumentException>(() => NarrowWords.Narrow(new ulong[4], new uint[3]));
        Assert.Throws<ArgumentException>(() => NarrowWords.Widen(new uint[4], new ulong[5]));
    }
}
