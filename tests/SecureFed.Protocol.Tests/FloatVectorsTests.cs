namespace SecureFed.Protocol.Tests;

public class FloatVectorsTests
{
    public static TheoryData<int> Lengths() => [0, 1, 7, 8, 9, 31, 1001];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void FirstNonFinite_EachPositionAndKind_FoundWhereTheScalarLoopFindsIt(int length)
    {
        var values = RandomFloats(length, seed: length);
        Assert.Equal(-1, FloatVectors.FirstNonFinite(values));
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            for (var at = 0; at < length; at++)
            {
                var copy = (float[])values.Clone();
                copy[at] = bad;
                if (at + 3 < length)
                {
                    copy[at + 3] = float.NaN; // a later one in the same lane block is not the first
                }

                Assert.Equal(at, FloatVectors.FirstNonFinite(copy));
            }
        }

        // The largest finite values are finite (x - x is 0, not NaN).
        Assert.Equal(-1, FloatVectors.FirstNonFinite(Enumerable.Repeat(float.MaxValue, length).ToArray()));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AddScaled_SameBitsAsTheScalarLoop(int length)
    {
        var values = RandomFloats(length, seed: 100 + length);
        var start = RandomFloats(length, seed: 200 + length).Select(v => (double)v * 1e3).ToArray();
        var expected = (double[])start.Clone();
        for (var i = 0; i < length; i++)
        {
            expected[i] += 0.3 * values[i];
        }

        var actual = (double[])start.Clone();
        FloatVectors.AddScaled(actual, 0.3, values);
        Assert.Equal(expected.Select(BitConverter.DoubleToInt64Bits), actual.Select(BitConverter.DoubleToInt64Bits));
        Assert.Throws<ArgumentException>(() => FloatVectors.AddScaled(new double[length + 1], 1, values));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SumOfSquares_AgreesWithTheScalarSumAndRepeatsExactly(int length)
    {
        var values = RandomFloats(length, seed: 300 + length);
        var scalar = values.Sum(v => (double)v * v);
        var simd = FloatVectors.SumOfSquares(values);
        Assert.True(Math.Abs(simd - scalar) <= 1e-12 * Math.Max(1, scalar), $"{simd} against {scalar}");
        Assert.Equal(BitConverter.DoubleToInt64Bits(simd), BitConverter.DoubleToInt64Bits(FloatVectors.SumOfSquares(values)));
    }

    private static float[] RandomFloats(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * 20))];
    }
}
