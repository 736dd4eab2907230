using System.Numerics;
using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy.Tests;

public class DiscreteGaussianTests
{
    /// <summary>P[X = x] for N_Z(0, sigma^2), normalised over |x| &lt;= 60 sigma + 20 (the rest is below 1e-700).</summary>
    private static double Pmf(int x, double sigmaSq)
    {
        double norm = 0;
        int range = (int)(60 * Math.Sqrt(sigmaSq)) + 20;
        for (int y = -range; y <= range; y++)
        {
            norm += Math.Exp(-(double)y * y / (2 * sigmaSq));
        }

        return Math.Exp(-(double)x * x / (2 * sigmaSq)) / norm;
    }

    [Theory]
    [InlineData(0.5, 30_000)]
    [InlineData(4.0, 30_000)]
    [InlineData(25.0, 30_000)]
    public void Sample_ManyDraws_PassChiSquareGoodnessOfFitAtOneInAMillion(double sigmaSq, int n)
    {
        using var rng = new SeededRandomSource("dgauss-" + sigmaSq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var sampler = DiscreteGaussianSampler.FromVariance(sigmaSq);
        var samples = new long[n];
        sampler.Fill(samples, rng);

        // Bins: every integer whose expected count is at least 5, plus one bin for each tail.
        int maxBin = 0;
        while (n * Pmf(maxBin + 1, sigmaSq) >= 5)
        {
            maxBin++;
        }

        var observed = new Dictionary<int, int>();
        foreach (long s in samples)
        {
            int bin = (int)Math.Clamp(s, -maxBin - 1, maxBin + 1);
            observed[bin] = observed.GetValueOrDefault(bin) + 1;
        }

        double tail = 0;
        for (int x = maxBin + 1; x <= 60 * Math.Sqrt(sigmaSq) + 20; x++)
        {
            tail += Pmf(x, sigmaSq);
        }

        double chi = 0;
        int bins = 0;
        for (int bin = -maxBin - 1; bin <= maxBin + 1; bin++)
        {
            double p = Math.Abs(bin) == maxBin + 1 ? tail : Pmf(bin, sigmaSq);
            double expected = n * p;
            if (expected < 1e-9)
            {
                Assert.Equal(0, observed.GetValueOrDefault(bin));
                continue;
            }

            double diff = observed.GetValueOrDefault(bin) - expected;
            chi += diff * diff / expected;
            bins++;
        }

        double critical = Statistics.ChiSquareQuantile(bins - 1, Statistics.Z_OneSided1e6);
        Assert.True(chi < critical, $"chi-square {chi:F2} >= critical {critical:F2} with {bins - 1} degrees of freedom");

        double mean = samples.Average(x => (double)x);
        double bound = Statistics.Z_TwoSided1e6 * Math.Sqrt(sigmaSq) / Math.Sqrt(n);
        Assert.InRange(mean, -bound, bound);
    }

    [Fact]
    public void Sample_ContinuousGaussianRoundedInstead_WouldFailTheSameTest()
    {
        // Guard that the goodness-of-fit test has power: rounding N(0, 0.5) gives a visibly different pmf at 0
        // (0.52 instead of the discrete Gaussian's 0.58), which the chi-square statistic must flag.
        const int N = 30_000;
        using var rng = new SeededRandomSource("power");
        var continuous = new double[N];
        GaussianNoise.Fill(continuous, Math.Sqrt(0.5), rng);
        int zeros = continuous.Count(x => Math.Round(x) == 0);
        double expected = N * Pmf(0, 0.5);
        double z = (zeros - expected) / Math.Sqrt(expected * (1 - Pmf(0, 0.5)));
        Assert.True(Math.Abs(z) > Statistics.Z_TwoSided1e6, $"z = {z}");
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(5, 2)]
    [InlineData(0, 1)]
    public void BernoulliExpMinus_ManyDraws_FrequencyMatchesExpMinusGamma(int num, int den)
    {
        const int N = 100_000;
        using var rng = new SeededRandomSource($"bexp-{num}-{den}");
        int ones = 0;
        for (int i = 0; i < N; i++)
        {
            if (ExactSampling.BernoulliExpMinus(num, den, rng))
            {
                ones++;
            }
        }

        double p = Math.Exp(-(double)num / den);
        double sd = Math.Sqrt(N * p * (1 - p));
        Assert.InRange(ones, (N * p) - (Statistics.Z_TwoSided1e6 * sd) - 1e-9, (N * p) + (Statistics.Z_TwoSided1e6 * sd) + 1e-9);
    }

    [Fact]
    public void FromVariance_Double_ConvertsExactly()
    {
        var sampler = DiscreteGaussianSampler.FromVariance(0.1);
        // 0.1 as a double is 3602879701896397 / 2^55.
        Assert.Equal(new BigInteger(3602879701896397), sampler.VarianceNumerator);
        Assert.Equal(BigInteger.One << 55, sampler.VarianceDenominator);
        Assert.Equal(0.1, sampler.Variance);
        var whole = DiscreteGaussianSampler.FromVariance(25.0);
        Assert.Equal(new BigInteger(25), whole.VarianceNumerator);
        Assert.Equal(BigInteger.One, whole.VarianceDenominator);
    }

    [Fact]
    public void Sample_HugeDenominatorVariance_ProducesPlausibleValues()
    {
        using var rng = new SeededRandomSource("huge-den");
        var sampler = DiscreteGaussianSampler.FromVariance(1e-3 + 4.0);
        var values = new long[2_000];
        sampler.Fill(values, rng);
        double variance = values.Average(x => (double)x * x);
        Assert.InRange(variance, 3.3, 4.7);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(24)]
    [InlineData(25)]
    [InlineData(26)]
    public void IntegerSqrt_Value_IsFloorOfRoot(int n)
    {
        BigInteger r = ExactSampling.IntegerSqrt(n);
        Assert.True(r * r <= n && (r + 1) * (r + 1) > n);
        BigInteger big = BigInteger.Pow(10, 40) + 12345;
        BigInteger rb = ExactSampling.IntegerSqrt(big);
        Assert.True(rb * rb <= big && (rb + 1) * (rb + 1) > big);
    }

    [Fact]
    public void Constructor_NonPositiveVariance_Rejected()
    {
        Assert.Equal("varianceNumerator", Assert.Throws<ArgumentOutOfRangeException>(() => new DiscreteGaussianSampler(0, 1)).ParamName);
        Assert.Equal("varianceDenominator", Assert.Throws<ArgumentOutOfRangeException>(() => new DiscreteGaussianSampler(1, -2)).ParamName);
        Assert.Equal("sigmaSquared", Assert.Throws<ArgumentOutOfRangeException>(() => DiscreteGaussianSampler.FromVariance(double.NaN)).ParamName);
    }
}
