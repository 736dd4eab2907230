using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

/// <summary>The fixed-width wire words of masked inputs, and the server folding them into its sum without a decoded copy.</summary>
public sealed class RingWordsTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void EncodeDecode_RingEdges_RoundTripExactly(int ringBits)
    {
        ulong max = ModularArithmetic.MaxElement(ringBits);
        ulong[] values = [0, 1, max, max - 1, max >> 1, (max >> 1) + 1, 0x0102030405060708UL & max];

        var words = RingWords.Encode(values, ringBits);
        var back = new ulong[values.Length];
        RingWords.Decode(words, ringBits, back);

        Assert.Equal(values.Length * (ringBits / 8), words.Length);
        Assert.Equal(values, back);
    }

    [Fact]
    public void Encode_Ring32_IsFourLittleEndianBytesAnElement()
    {
        Assert.Equal(new byte[] { 4, 3, 2, 1, 0xff, 0xff, 0xff, 0xff }, RingWords.Encode([0x01020304UL, uint.MaxValue], 32));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void AddWordsInPlace_WrapsLikeTheRing(int ringBits)
    {
        ulong max = ModularArithmetic.MaxElement(ringBits);
        var sum = new ulong[] { max, 5 };
        ModularArithmetic.AddWordsInPlace(sum, RingWords.Encode([max, max], ringBits), ringBits);
        ModularArithmetic.Reduce(sum, ringBits);
        Assert.Equal(new[] { max - 1, 4UL }, sum);
    }

    [Theory]
    [InlineData(32, 1)]
    [InlineData(32, 37)]
    [InlineData(32, 1000)]
    [InlineData(64, 1000)]
    public void AddWordsInPlace_AnyLength_MatchesElementWiseRingAddition(int ringBits, int length)
    {
        var random = new Random(length);
        ulong max = ModularArithmetic.MaxElement(ringBits);
        ulong[] Draw() => Enumerable.Range(0, length).Select(_ => (ulong)random.NextInt64() & max).Select(v => v | (max & (1UL << 31))).ToArray();
        var sum = Draw();
        var addend = Draw();
        var expected = sum.Zip(addend, (a, b) => ModularArithmetic.Add(a, b, ringBits)).ToArray();

        ModularArithmetic.AddWordsInPlace(sum, RingWords.Encode(addend, ringBits), ringBits);
        ModularArithmetic.Reduce(sum, ringBits);

        Assert.Equal(expected, sum);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void ReceiveMaskedInput_AsWordsInChunks_SumsExactlyAsTheVectors(int ringBits)
    {
        using var h = new Harness(4, length: 10, ringBits: ringBits);
        var masked = h.MaskOnly(h.Share(h.Advertise()));
        foreach (var m in masked.Values)
        {
            // Uneven chunks, as a coordinator with a small chunk limit receives them.
            var words = RingWords.Encode(m.MaskedValues, ringBits);
            int w = ringBits / 8;
            ReadOnlyMemory<byte>[] chunks = [words.AsMemory(0, 3 * w), words.AsMemory(3 * w, 7 * w)];
            h.Server.Receive(new MaskedInputWordsMessage(1, m.Sender, chunks));
        }

        var check = h.Server.CloseMaskedInput();
        Assert.Equal(h.PlainSum(h.Ids), h.Unmask(h.Sign(check)));
    }

    [Theory]
    [InlineData(11, "has a chunk of 11 bytes, not a whole number of 4-byte words")]
    [InlineData(44, "has 11 elements; the round needs 10")]
    [InlineData(36, "has 9 elements; the round needs 10")]
    public void ReceiveMaskedInput_WordsOfTheWrongSize_RefusedNamingTheSender(int bytes, string reason)
    {
        using var h = new Harness(4, length: 10, ringBits: 32);
        var deliveries = h.Share(h.Advertise());

        var ex = Assert.Throws<ProtocolViolationException>(() =>
            h.Server.Receive(new MaskedInputWordsMessage(1, "silo-02", [new byte[bytes]])));

        Assert.Equal(FaultKind.InvalidArgument, ex.Kind);
        Assert.Contains($"the masked input of silo-02 {reason}", ex.Message, StringComparison.Ordinal);
        // Nothing of the refused input was added: the sender's real one is still accepted and the sum is exact.
        Assert.Equal(h.PlainSum(h.Ids), h.Unmask(h.Sign(h.Mask(deliveries))));
    }
}
