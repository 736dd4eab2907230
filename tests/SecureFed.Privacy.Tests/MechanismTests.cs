using CsCheck;

namespace SecureFed.Privacy.Tests;

public class MechanismTests
{
    [Fact]
    public void Clip_AnyVectorAndBound_NormAtMostBoundAndDirectionKept()
    {
        Gen.Select(Gen.Float[-1e6f, 1e6f].Array[1, 300], Gen.Double[1e-3, 1e3]).Sample((values, c) =>
        {
            float[] original = (float[])values.Clone();
            double before = L2Clipper.Norm(original);
            var result = L2Clipper.Clip(values, c);
            double after = L2Clipper.Norm(values);
            Assert.Equal(before, result.OriginalNorm);
            Assert.True(after <= c, $"norm {after} > bound {c}");
            if (before <= c)
            {
                Assert.Equal(1.0, result.Factor);
                Assert.Equal(original, values);
            }
            else
            {
                Assert.True(result.WasClipped);
                Assert.True(Math.Abs(result.Factor - (c / before)) <= 1e-6 * (c / before));
                Assert.True(after >= c * (1 - 1e-5), $"clipped too far: {after} vs {c}");
                for (int i = 0; i < values.Length; i++)
                {
                    Assert.True(Math.Abs(values[i] - (original[i] * result.Factor)) <= 1e-6 * Math.Abs(original[i]) + 1e-30);
                }
            }
        });
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Clip_NonFiniteCoordinate_Rejected(float bad)
    {
        float[] update = [1f, bad, 2f];
        var ex = Assert.Throws<ArgumentException>(() => L2Clipper.Clip(update, 1.0));
        Assert.Contains("update[1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clip_NonPositiveBound_Rejected() =>
        Assert.Equal("clipNorm", Assert.Throws<ArgumentOutOfRangeException>(() => L2Clipper.Clip(new float[3], 0)).ParamName);

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.37)]
    [InlineData(12.5)]
    public void Fill_ManySamples_VarianceInsideChiSquareIntervalAtOneInAMillion(double sigma)
    {
        // With known mean 0, sum(x^2)/sigma^2 ~ chi-square(n). Accept iff it lies in the central interval that
        // has probability 1 - 1e-6 (Wilson-Hilferty quantiles); the mean must lie within 4.89 standard errors.
        const int N = 200_000;
        using var rng = new SeededRandomSource("gaussian-variance-" + sigma.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var samples = new double[N];
        GaussianNoise.Fill(samples, sigma, rng);
        double sumSq = samples.Sum(x => x * x);
        double statistic = sumSq / (sigma * sigma);
        double lower = Statistics.ChiSquareQuantile(N, -Statistics.Z_TwoSided1e6);
        double upper = Statistics.ChiSquareQuantile(N, Statistics.Z_TwoSided1e6);
        Assert.InRange(statistic, lower, upper);
        Assert.InRange(samples.Average(), -Statistics.Z_TwoSided1e6 * sigma / Math.Sqrt(N), Statistics.Z_TwoSided1e6 * sigma / Math.Sqrt(N));
        // Wrong scale by 1% would be caught: the interval is narrower than that.
        Assert.True(upper / N < 1.02 && lower / N > 0.98);
    }

    [Fact]
    public void AddNoise_Update_AddsNoiseDrawnFromTheSource()
    {
        using var rng = new SeededRandomSource("add-noise");
        float[] update = Enumerable.Repeat(5f, 10_001).ToArray();
        GaussianNoise.AddNoise(update, 2.0, rng);
        Assert.True(rng.BytesServed >= 16 * 5_000, "noise must come from the injected source");
        double mean = update.Average(x => (double)x);
        double variance = update.Sum(x => (x - mean) * (x - mean)) / (update.Length - 1);
        Assert.InRange(mean, 5 - 0.1, 5 + 0.1);
        Assert.InRange(Math.Sqrt(variance), 1.9, 2.1);
        Assert.True(update.Distinct().Count() > 0.99 * update.Length, "noise must differ per coordinate");
    }

    [Fact]
    public void AddNoise_SameSeed_SameNoise()
    {
        float[] a = new float[33];
        float[] b = new float[33];
        using (var rng = new SeededRandomSource("repeat"))
        {
            GaussianNoise.AddNoise(a, 1.0, rng);
        }

        using (var rng = new SeededRandomSource("repeat"))
        {
            GaussianNoise.AddNoise(b, 1.0, rng);
        }

        Assert.Equal(a, b);
    }

    [Fact]
    public void AddNoise_ZeroSigma_Rejected() =>
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(
            () => GaussianNoise.AddNoise(new float[2], 0.0, Crypto.SystemRandomSource.Instance)).ParamName);

    [Fact]
    public void PerClientSigma_ThresholdAndColluders_SplitsVariance()
    {
        Assert.Equal(1.1 * 2.0 / Math.Sqrt(10 - 3), DistributedNoise.PerClientSigma(1.1, 2.0, 10, 3), 15);
        Assert.Equal(1.1 * 2.0, DistributedNoise.PerClientSigma(1.1, 2.0, 1, 0), 15);
    }

    [Fact]
    public void PerClientSigma_ColludersNotBelowThreshold_Rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => DistributedNoise.PerClientSigma(1.0, 1.0, 5, 5));
        Assert.Equal("colluding", ex.ParamName);
        Assert.Contains("threshold - colluding >= 1", ex.Message, StringComparison.Ordinal);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() => DistributedNoise.PerClientSigma(1.0, 1.0, 0, 0)).ParamName);
    }

    [Fact]
    public void EffectiveNoiseMultiplier_ExactlyThresholdHonestSurvivors_RecoversTarget()
    {
        double sigma = DistributedNoise.PerClientSigma(0.9, 1.5, 7, 2);
        Assert.Equal(0.9, DistributedNoise.EffectiveNoiseMultiplier(sigma, 7, 1.5, 1.5, colluding: 2), 14);
        // More survivors add noise; rounding growth in the sensitivity lowers the charge's multiplier.
        Assert.True(DistributedNoise.EffectiveNoiseMultiplier(sigma, 12, 1.5, 1.5, 2) > 0.9);
        Assert.True(DistributedNoise.EffectiveNoiseMultiplier(sigma, 7, 1.5, 1.6, 2) < 0.9);
    }

    [Fact]
    public void EffectiveNoiseMultiplier_SensitivityBelowClipNorm_Rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => DistributedNoise.EffectiveNoiseMultiplier(1.0, 5, 2.0, 1.0));
        Assert.Equal("sensitivity", ex.ParamName);
    }
}
