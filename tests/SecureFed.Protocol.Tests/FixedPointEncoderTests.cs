using CsCheck;
using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

public class FixedPointEncoderTests
{
    [Theory]
    [InlineData(32, 8)]
    [InlineData(32, 16)]
    [InlineData(64, 24)]
    [InlineData(64, 40)]
    public void Encode_ThenDecode_WithinOneUnitPerCoordinate(int ringBits, int scaleBits)
    {
        var encoder = new FixedPointEncoder(scaleBits, ringBits, maxAbsValue: 4.0);
        double unit = Math.ScaleB(1.0, -scaleBits);
        Gen.Select(Gen.Float[-4f, 4f].Array[1, 64], Gen.ULong).Sample((values, seed) =>
        {
            using var rng = new DeterministicRandomSource(seed);
            var decoded = encoder.Decode(encoder.Encode(values, rng));
            for (int i = 0; i < values.Length; i++)
            {
                Assert.True(Math.Abs(decoded[i] - values[i]) < unit, $"coordinate {i}: error {Math.Abs(decoded[i] - values[i])} not below {unit}");
            }
        });
    }

    [Fact]
    public void Encode_ValueBetweenGridPoints_RoundsStochasticallyAndUnbiased()
    {
        // 0.3 at scale 2^0 rounds to 1 with probability 0.3 and to 0 otherwise.
        var encoder = new FixedPointEncoder(0, 64, 1.0);
        var values = Enumerable.Repeat(0.3f, 20000).ToArray();
        using var rng = new DeterministicRandomSource(7);
        var encoded = encoder.Encode(values, rng).ToSigned();
        Assert.All(encoded, q => Assert.True(q is 0 or 1));
        double mean = encoded.Average();
        Assert.InRange(mean, 0.3 - 0.015, 0.3 + 0.015);
    }

    [Fact]
    public void Decode_SumOfEncodings_IsSumOfValuesWithinRounding()
    {
        var encoder = new FixedPointEncoder(16, 32, 1.0);
        using var rng = new DeterministicRandomSource(3);
        float[][] updates = [[0.5f, -0.25f, 1f], [-1f, -0.75f, 0.125f], [0.3f, 0.3f, -0.9f]];
        var sum = RingVector.Zero(32, 3);
        foreach (var u in updates)
        {
            sum = sum.Add(encoder.Encode(u, rng));
        }

        var decoded = encoder.Decode(sum);
        for (int i = 0; i < 3; i++)
        {
            Assert.InRange(decoded[i] - updates.Sum(u => (double)u[i]), -3.0 / 65536, 3.0 / 65536);
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(1.5f)]
    public void Encode_NonFiniteOrAboveBound_ThrowsNamingIndexNotValue(float bad)
    {
        var encoder = new FixedPointEncoder(16, 64, 1.0);
        var ex = Assert.Throws<ArgumentException>(() => encoder.Encode([0f, bad], SystemRandomSource.Instance));
        Assert.Contains("index 1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("1.5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SumCanWrap_RefusesNamingTheNumbers()
    {
        // 10 participants x ceil(1.0 * 2^28) = 2684354560 >= 2^31.
        var ex = Assert.Throws<ProtocolViolationException>(() => OverflowGuard.Check(10, 1.0, 28, 32));
        Assert.Equal(FaultKind.FailedPrecondition, ex.Kind);
        Assert.Contains("participants 10", ex.Message, StringComparison.Ordinal);
        Assert.Contains("268435456", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2147483648", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ring bits 32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ExactlyAtBoundary_Refuses()
    {
        // 2 x 2^30 = 2^31: not below 2^31, so refused; one fewer unit of bound passes.
        Assert.False(OverflowGuard.IsSafe(2, 1.0, 30, 32));
        Assert.True(OverflowGuard.IsSafe(1, 1.0, 30, 32));
        Assert.True(OverflowGuard.IsSafe(100, 1.0, 16, 32));
        Assert.True(OverflowGuard.IsSafe(255, 1000.0, 40, 64));
    }

    [Fact]
    public void IsSafe_BoundBeyondDoubleRangeAfterScaling_IsUnsafeNotAnError()
    {
        Assert.False(OverflowGuard.IsSafe(2, 1e300, 52, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => OverflowGuard.IsSafe(2, double.NaN, 16, 64));
    }

    [Fact]
    public void Check_RoundingGrowth_IsCounted()
    {
        // 1.5 units at scale 2^0 can round to 2, so 2^30 participants of bound 1.5 need 2^31: refused.
        Assert.False(OverflowGuard.IsSafe(1 << 30, 1.5, 0, 32));
        Assert.True(OverflowGuard.IsSafe((1 << 30) - 1, 1.5, 0, 32));
    }

    [Fact]
    public void Constructor_SingleValueCannotFit_Throws()
    {
        Assert.Throws<ProtocolViolationException>(() => new FixedPointEncoder(40, 32, 1.0));
    }
    [Fact]
    public void EncodeClamped_OutOfBoundAndInfinite_SameAsEncodingAClampedCopy()
    {
        var encoder = new FixedPointEncoder(16, 32, 4.0);
        double[] update = [0.3, -7.5, 4.0, double.PositiveInfinity, double.NegativeInfinity, 12.25, -0.001];
        var clamped = update.Select(v => Math.Clamp(v, -4.0, 4.0)).ToArray();

        using var a = new DeterministicRandomSource(9);
        using var b = new DeterministicRandomSource(9);
        Assert.Equal(encoder.Encode(clamped, a), encoder.EncodeClamped(update, b));
    }

    [Fact]
    public void EncodeClamped_FloatUpdate_SameAsItsWidenedCopy()
    {
        // A model update is encoded from its floats directly; it must round exactly as the double copy it replaced.
        var encoder = new FixedPointEncoder(16, 32, 4.0);
        float[] update = [0.3f, -7.5f, 4.0f, float.PositiveInfinity, float.NegativeInfinity, 12.25f, -0.001f, 1e-7f, 3.999f];
        var widened = update.Select(v => (double)v).ToArray();

        using var a = new DeterministicRandomSource(11);
        using var b = new DeterministicRandomSource(11);
        Assert.Equal(encoder.EncodeClamped(widened, a), encoder.EncodeClamped(update, b));

        var nan = Assert.Throws<ArgumentException>(() => encoder.EncodeClamped(new[] { 1f, 2f, float.NaN }, a));
        Assert.Contains("index 2", nan.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32, false)]
    [InlineData(32, true)]
    [InlineData(64, true)]
    public void Encode_LongVector_MatchesTheScalarDefinition(int ringBits, bool clamp)
    {
        // Long enough for the SIMD path, with a tail: every element is floor(x·2^f) + [u < frac], u from the element's
        // 8 little-endian random bytes >> 11 · 2^-53, reduced mod 2^k, exactly as one element at a time.
        var encoder = new FixedPointEncoder(16, ringBits, 4.0);
        var random = new Random(ringBits + (clamp ? 1 : 0));
        var values = Enumerable.Range(0, 2053).Select(i => clamp && i % 97 == 5 ? (i % 2 == 0 ? double.PositiveInfinity : -9.5) : (random.NextDouble() * 8) - 4).ToArray();
        using var rng = new DeterministicRandomSource(5);
        var actual = clamp ? encoder.EncodeClamped(values, rng) : encoder.Encode(values, rng);

        using var same = new DeterministicRandomSource(5);
        var bytes = new byte[values.Length * 8];
        same.Fill(bytes);
        ulong ring = ringBits == 64 ? ulong.MaxValue : (1UL << ringBits) - 1;
        for (int i = 0; i < values.Length; i++)
        {
            double scaled = Math.Clamp(values[i], -4.0, 4.0) * 65536;
            double floor = Math.Floor(scaled);
            double u = (BitConverter.ToUInt64(bytes, i * 8) >> 11) * (1.0 / (1UL << 53));
            long q = (long)floor + (u < scaled - floor ? 1 : 0);
            Assert.Equal(unchecked((ulong)q) & ring, actual[i]);
        }
    }

    [Theory]
    [InlineData(37)]
    [InlineData(1030)]
    public void Encode_BadValueInsideALongVector_RefusedNamingItsIndex(int index)
    {
        var encoder = new FixedPointEncoder(16, 32, 4.0);
        var values = Enumerable.Repeat(0.5, 1500).ToArray();
        values[index] = double.NaN;
        using var rng = new DeterministicRandomSource(3);
        var nan = Assert.Throws<ArgumentException>(() => encoder.EncodeClamped(values, rng));
        Assert.Contains($"index {index} ", nan.Message, StringComparison.Ordinal);

        values[index] = 4.5;
        var beyond = Assert.Throws<ArgumentException>(() => encoder.Encode(values, rng));
        Assert.Contains($"index {index} ", beyond.Message, StringComparison.Ordinal);
        Assert.Equal(0.5, encoder.Decode(encoder.EncodeClamped(values, rng))[0]);
    }

    [Fact]
    public void EncodeClamped_NaN_RefusedNamingTheIndex()
    {
        var encoder = new FixedPointEncoder(16, 32, 4.0);
        using var rng = new DeterministicRandomSource(1);
        var ex = Assert.Throws<ArgumentException>(() => encoder.EncodeClamped([1.0, double.NaN], rng));
        Assert.StartsWith("value at index 1 is not finite", ex.Message, StringComparison.Ordinal);
    }
}
