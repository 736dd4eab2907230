using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy.Tests;

public class ExactGaussianAccountantTests
{
    private static void AssertRelative(double expected, double actual, double tolerance)
    {
        double rel = Math.Abs(actual - expected) / Math.Abs(expected);
        Assert.True(rel <= tolerance, $"expected {expected:R}, got {actual:R}, relative error {rel:E3} > {tolerance:E1}");
    }

    [Theory]
    // Analytic Gaussian mechanism (Balle & Wang 2018, Theorem 8) with sensitivity 1 and sigma = z: the smallest eps
    // with Phi(1/(2z) - eps z) - e^eps Phi(-1/(2z) - eps z) <= delta, solved by bisection in mpmath at 50 digits.
    [InlineData(0.5, 1e-5, 9.9972561464343004)]
    [InlineData(1.0, 1e-5, 4.3771780956812246)]
    [InlineData(2.0, 1e-5, 1.9930914044151196)]
    [InlineData(5.0, 1e-5, 0.72552175085779583)]
    [InlineData(0.05, 1e-10, 326.3589505148827)]
    public void GetEpsilon_OneRound_EqualsAnalyticGaussianMechanism(double z, double delta, double expected)
    {
        var accountant = new ExactGaussianAccountant();
        accountant.Record(z, 1.0);
        AssertRelative(expected, accountant.GetEpsilon(delta), 1e-11);
    }

    [Theory]
    [InlineData(1.0, 1.0, 0.1269367375066439458)]
    [InlineData(0.8, 3.0, 0.012979294297252151528)]
    public void GetDelta_OneRound_EqualsAnalyticGaussianMechanism(double z, double eps, double expected)
    {
        double delta = ExactGaussianAccountant.ComputeDelta([(z, 1.0, 1)], eps);
        AssertRelative(expected, delta, 1e-13);
    }

    [Fact]
    public void GetEpsilon_DifferentNoisePerRound_EqualsOneGaussianWithComposedMu()
    {
        var accountant = new ExactGaussianAccountant();
        accountant.Record(1.0, 1.0);
        accountant.Record(2.0, 1.0);
        accountant.Record(3.0, 1.0);
        double mu = Math.Sqrt(1 + 0.25 + (1.0 / 9));
        Assert.Equal(mu, accountant.Mu, 14);
        // mpmath: eps for mu = sqrt(1 + 1/4 + 1/9) at delta 1e-5.
        AssertRelative(5.2376345506657056, accountant.GetEpsilon(1e-5), 1e-11);
        // A single round with z = 1/mu is the same mechanism.
        AssertRelative(accountant.GetEpsilon(1e-5), ExactGaussianAccountant.ComputeEpsilon([(1 / mu, 1.0, 1)], 1e-5), 1e-11);
    }

    [Fact]
    public void GetEpsilon_HundredRoundsOfZ10_MatchesComposedMuOfOne()
    {
        AssertRelative(4.8865541174622120, ExactGaussianAccountant.ComputeEpsilon([(10.0, 1.0, 100)], 1e-6), 1e-11);
    }

    [Fact]
    public void GetEpsilon_UnsampledGrid_NeverExceedsRdp()
    {
        foreach (double z in new[] { 0.5, 0.8, 1.0, 2.0, 5.0, 20.0 })
        {
            foreach (int t in new[] { 1, 10, 100, 1000 })
            {
                foreach (double delta in new[] { 1e-3, 1e-5, 1e-9 })
                {
                    double exact = ExactGaussianAccountant.ComputeEpsilon([(z, 1.0, t)], delta);
                    double rdp = RdpAccountant.ComputeEpsilon([(z, 1.0, t)], delta);
                    Assert.True(exact <= rdp, $"z={z} T={t} delta={delta}: exact {exact} > rdp {rdp}");
                }
            }
        }
    }

    [Fact]
    public void GetEpsilon_Result_HitsTheDeltaTargetToTwelveDigits()
    {
        foreach (double mu in new[] { 0.01, 0.3, 1.0, 7.0, 40.0 })
        {
            double eps = GaussianPrivacyCurve.Epsilon(mu, 1e-6);
            Assert.True(GaussianPrivacyCurve.Delta(mu, eps) <= 1e-6);
            double below = eps * (1 - 1e-9);
            Assert.True(GaussianPrivacyCurve.Delta(mu, below) > 1e-6, $"mu={mu}: eps {eps} is not the smallest");
        }
    }

    [Fact]
    public void GetEpsilon_DeltaAboveDeltaAtZero_IsZero()
    {
        // delta(0) = 2 Phi(mu/2) - 1; with mu = 0.1 that is about 0.0399.
        Assert.Equal(0.0, ExactGaussianAccountant.ComputeEpsilon([(10.0, 1.0, 1)], 0.05));
        Assert.True(ExactGaussianAccountant.ComputeEpsilon([(10.0, 1.0, 1)], 0.03) > 0);
    }

    [Fact]
    public void Record_SampledRound_RefusedWithExplanation()
    {
        var accountant = new ExactGaussianAccountant();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Record(1.0, 0.5));
        Assert.Equal("samplingRate", ex.ParamName);
        Assert.Contains("exactly 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("every silo takes part", ex.Message, StringComparison.Ordinal);
        Assert.Contains("0.5", ex.Message, StringComparison.Ordinal);
        Assert.Empty(accountant.History);
    }

    [Fact]
    public void ComputeEpsilon_LoggedHistoryWithSampledEntry_Refused()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => ExactGaussianAccountant.ComputeEpsilon([(1.0, 1.0, 3), (1.0, 0.9, 1)], 1e-5));
        Assert.Equal("history[1].q", ex.ParamName);
    }

    [Fact]
    public void GetEpsilon_NothingRecorded_IsZero() => Assert.Equal(0.0, new ExactGaussianAccountant().GetEpsilon(1e-5));
}
