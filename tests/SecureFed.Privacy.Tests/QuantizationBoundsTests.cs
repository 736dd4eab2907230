using CsCheck;

namespace SecureFed.Privacy.Tests;

public class QuantizationBoundsTests
{
    [Fact]
    public void ConservativeNorm_BetaZero_IsScaledClipPlusRootD()
    {
        Assert.Equal((3.0 * 1024) + 10.0, QuantizationBounds.ConservativeNorm(3.0, 100, 10, 0.0), 12);
    }

    [Fact]
    public void ConservativeNorm_ConditionalRounding_MatchesKlsFormulaAndIsTighter()
    {
        double c = 1.0 * 65536;
        double d = 10_000;
        double expected = Math.Sqrt((c * c) + (d / 4) + (Math.Sqrt(2 * Math.Log(1 / 1e-3)) * (c + (Math.Sqrt(d) / 2))));
        double bound = QuantizationBounds.ConservativeNorm(1.0, 10_000, 16, 1e-3);
        Assert.Equal(expected, bound, 9);
        Assert.True(bound < QuantizationBounds.ConservativeNorm(1.0, 10_000, 16, 0.0));
    }

    [Fact]
    public void ConservativeNorm_StochasticRoundingOfClippedVectors_NeverExceeded()
    {
        // Property: clip to C, scale by 2^f, round each coordinate down or up at random (any way at all);
        // the integer vector's norm never exceeds the beta = 0 bound.
        Gen.Select(Gen.Float[-10f, 10f].Array[1, 200], Gen.Double[0.01, 5.0], Gen.Int[0, 12], Gen.Bool.Array[200])
            .Sample((values, c, f, ups) =>
            {
                L2Clipper.Clip(values, c);
                double scale = Math.ScaleB(1.0, f);
                double sumSq = 0;
                for (int i = 0; i < values.Length; i++)
                {
                    double x = values[i] * scale;
                    double r = ups[i] ? Math.Ceiling(x) : Math.Floor(x);
                    sumSq += r * r;
                }

                double bound = QuantizationBounds.ConservativeNorm(c, values.Length, f, 0.0);
                Assert.True(Math.Sqrt(sumSq) <= bound, $"{Math.Sqrt(sumSq)} > {bound}");
            });
    }

    [Fact]
    public void ConservativeL1Norm_IntegerVector_BoundsTheL1Norm()
    {
        Gen.Int[-5, 5].Array[1, 50].Sample(v =>
        {
            double l2 = Math.Sqrt(v.Sum(x => (double)x * x));
            double l1 = v.Sum(x => (double)Math.Abs(x));
            Assert.True(l1 <= QuantizationBounds.ConservativeL1Norm(l2, v.Length) + 1e-9);
        });
    }

    [Fact]
    public void ConservativeNorm_BadArguments_NamesParameter()
    {
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => QuantizationBounds.ConservativeNorm(1, 1, 1, 1.0)).ParamName);
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => QuantizationBounds.ConservativeNorm(1, 0, 1, 0)).ParamName);
        Assert.Equal("scaleBits", Assert.Throws<ArgumentOutOfRangeException>(() => QuantizationBounds.ConservativeNorm(1, 1, 63, 0)).ParamName);
    }
}
