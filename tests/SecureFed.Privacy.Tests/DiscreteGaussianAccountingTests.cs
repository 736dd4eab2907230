namespace SecureFed.Privacy.Tests;

public class DiscreteGaussianAccountingTests
{
    [Theory]
    // mpmath: 10 * sum_{k=1}^{n-1} exp(-2 pi^2 sigma^2 k/(k+1)).
    [InlineData(1.0, 10, 0.00054352425816199973)]
    [InlineData(0.5, 100, 9.7011584541213720)]
    [InlineData(2.0, 1000, 7.1571796476094987e-17)]
    public void Tau_Parameters_MatchesDirectSum(double sigma, int n, double expected)
    {
        double tau = DiscreteGaussianAccounting.Tau(sigma, n);
        Assert.True(Math.Abs(tau - expected) <= 1e-13 * expected, $"tau {tau:R} vs {expected:R}");
    }

    [Fact]
    public void Tau_SingleClient_IsZero() => Assert.Equal(0.0, DiscreteGaussianAccounting.Tau(1.0, 1));

    [Fact]
    public void SumRdp_SingleClient_EqualsContinuousGaussianRdp()
    {
        // n = 1 means tau = 0 and the bound is alpha ||Delta||^2 / (2 sigma^2), the Gaussian RDP (CKS20 Prop. 3).
        double rdp = DiscreteGaussianAccounting.SumRdp(7.5, 3.0, 1, 2.0, 2.0, 1000);
        Assert.Equal(7.5 * 4.0 / (2 * 9.0), rdp, 14);
    }

    [Fact]
    public void SumRdp_LargeSigma_ApproachesCentralGaussianWithVarianceNSigmaSquared()
    {
        // sigma = 2 per client: tau ~ 1e-16, so the sum behaves like one Gaussian of variance n sigma^2.
        double rdp = DiscreteGaussianAccounting.SumRdp(10, 2.0, 1000, 50.0, 500.0, 10_000);
        double central = 10 * 50.0 * 50.0 / (2 * 1000 * 4.0);
        Assert.True(rdp >= central && rdp <= central * (1 + 1e-9), $"{rdp} vs {central}");
    }

    [Fact]
    public void SumRdp_SmallSigmaManyClients_TakesTheSmallestOfTheThreeTerms()
    {
        const double Alpha = 4.0;
        const double Sigma = 0.5;
        const int N = 100;
        const double L2 = 3.0;
        const double L1 = 9.0;
        const int D = 4;
        double tau = DiscreteGaussianAccounting.Tau(Sigma, N);
        double scale = Math.Sqrt(N) * Sigma;
        double l2 = L2 / scale;
        double l1 = L1 / scale;
        double t1 = (Alpha / 2 * l2 * l2) + (tau * D);
        double t2 = Alpha / 2 * ((l2 * l2) + (2 * l1 * tau) + (tau * tau * D));
        double t3 = Alpha / 2 * Math.Pow(l2 + (tau * Math.Sqrt(D)), 2);
        double rdp = DiscreteGaussianAccounting.SumRdp(Alpha, Sigma, N, L2, L1, D);
        Assert.Equal(Math.Min(t1, Math.Min(t2, t3)), rdp, 14);
        Assert.True(rdp > Alpha / 2 * l2 * l2, "the tau correction must cost something at sigma = 1/2");
    }

    [Fact]
    public void SumEpsilon_NegligibleTau_MatchesRdpAccountantForTheCentralGaussian()
    {
        // 1000 clients of sigma 40 (integer units), sensitivity 400 in a 1000-dim vector: z = sqrt(1000)*40/400.
        double z = Math.Sqrt(1000) * 40 / 400.0;
        var discrete = DiscreteGaussianAccounting.SumEpsilon(40, 1000, 400, 400 * Math.Sqrt(1000), 1000, 50, 1e-5);
        double continuous = RdpAccountant.ComputeEpsilon([(z, 1.0, 50)], 1e-5);
        Assert.Equal(continuous, discrete.Epsilon, 10);
    }

    [Fact]
    public void SumRdp_SigmaBelowHalf_RefusedWithRange()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => DiscreteGaussianAccounting.SumRdp(2, 0.4, 10, 1, 1, 1));
        Assert.Equal("sigma", ex.ParamName);
        Assert.Contains("[0.5, +inf)", ex.Message, StringComparison.Ordinal);
        Assert.Equal("l1Sensitivity", Assert.Throws<ArgumentOutOfRangeException>(() => DiscreteGaussianAccounting.SumRdp(2, 1, 10, 5, 4, 3)).ParamName);
        Assert.Equal("order", Assert.Throws<ArgumentOutOfRangeException>(() => DiscreteGaussianAccounting.SumRdp(0.9, 1, 10, 1, 1, 3)).ParamName);
    }
}
