using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy.Tests;

public class RdpAccountantTests
{
    private const double MnistQ = 256.0 / 60000.0;

    private static void AssertRelative(double expected, double actual, double tolerance)
    {
        double rel = Math.Abs(actual - expected) / Math.Abs(expected);
        Assert.True(rel <= tolerance, $"expected {expected:R}, got {actual:R}, relative error {rel:E3} > {tolerance:E1}");
    }

    [Fact]
    public void GetPrivacySpent_MnistDpSgd60Epochs_MatchesOpacusFigure()
    {
        // Public reference (DESIGN.md section 4, Opacus/dp_accounting): q = 256/60000, z = 1.1, 14063 steps,
        // delta = 1e-5 -> epsilon 2.5967. Independent check by numerical integration of A_alpha in mpmath:
        // 2.59665552868 at order 8.1.
        var accountant = new RdpAccountant();
        accountant.Record(1.1, MnistQ, 14063);
        var spent = accountant.GetPrivacySpent(1e-5);
        AssertRelative(2.5967, spent.Epsilon, 1e-3);
        AssertRelative(2.5966555286809168, spent.Epsilon, 1e-9);
        Assert.Equal(8.1, spent.Order);
        Assert.False(spent.OrderAtBoundary);
    }

    [Fact]
    public void ClassicConversion_MnistDpSgd60Epochs_GivesOlderTutorialFigure()
    {
        // Older tutorials quote 3.01 with eps = RDP(a) + log(1/delta)/(a-1); mpmath: 3.0083810468 at order 8.8.
        var orders = RdpAccountant.DefaultOrders.ToArray();
        double[] rdp = RdpAccountant.ComputeRdp(1.1, MnistQ, 14063);
        var classic = RdpConversion.Classic(orders, rdp, 1e-5);
        Assert.Equal(3.01, classic.Epsilon, 2);
        AssertRelative(3.0083810468337935, classic.Epsilon, 1e-9);
        Assert.Equal(8.8, classic.Order);
        Assert.True(classic.Epsilon > RdpConversion.Improved(orders, rdp, 1e-5).Epsilon);
    }

    [Fact]
    public void ConvertToEpsilon_OpacusDocstringExample_Gives0336AtOrder23()
    {
        // Opacus analysis/rdp.py docstring: [(1e-5, 1.0, 10), (1e-4, 3.0, 4)], orders 2..32, delta 1e-5 -> (0.336, 23).
        double[] orders = Enumerable.Range(2, 31).Select(i => (double)i).ToArray();
        double[] a = RdpAccountant.ComputeRdp(1.0, 1e-5, 10, orders);
        double[] b = RdpAccountant.ComputeRdp(3.0, 1e-4, 4, orders);
        var result = RdpAccountant.ConvertToEpsilon(orders, a.Zip(b, (x, y) => x + y).ToArray(), 1e-5);
        Assert.Equal(0.336, result.Epsilon, 3);
        AssertRelative(0.336344063392595, result.Epsilon, 1e-9);
        Assert.Equal(23.0, result.Order);
    }

    [Theory]
    // (q, sigma, alpha, RDP) from numerical integration of A_alpha = E_{x~N(0,s^2)}[(1-q+q e^{(2x-1)/(2s^2)})^alpha]
    // in mpmath (40 digits): checks both the integer and the fractional-order series.
    [InlineData(0.01, 1.0, 2.0, 0.00017181342207454794)]
    [InlineData(0.01, 1.0, 2.5, 0.00021757533228188046)]
    [InlineData(0.01, 1.0, 8.0, 0.00089364390760603189)]
    [InlineData(0.01, 1.0, 8.3, 0.00098928735582590422)]
    [InlineData(0.01, 1.0, 32.0, 11.246275937048069)]
    [InlineData(MnistQ, 1.1, 8.1, 0.000099659727619311178)]
    [InlineData(MnistQ, 1.1, 12.0, 0.00015574016209240172)]
    [InlineData(0.1, 0.8, 1.5, 0.023305046249858829)]
    [InlineData(0.1, 0.8, 5.5, 1.4933699639334828)]
    [InlineData(0.5, 2.0, 3.7, 0.1424856767767552)]
    [InlineData(0.5, 2.0, 63.0, 7.1706732147372103)]
    public void ComputeRdp_SampledGaussian_MatchesNumericalIntegration(double q, double sigma, double alpha, double expected)
    {
        // Opacus stops the fractional-order series once both terms are below e^-30 in absolute terms, which limits
        // agreement with the exact integral to about 1e-10 relative when RDP itself is ~1e-4; integer orders are exact.
        double rdp = RdpAccountant.ComputeRdp(sigma, q, 1, [alpha])[0];
        AssertRelative(expected, rdp, alpha == Math.Floor(alpha) ? 1e-12 : 1e-9);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1.1)]
    [InlineData(4.0)]
    public void ComputeRdp_Unsampled_IsAlphaOverTwoZSquaredExactly(double z)
    {
        double[] rdp = RdpAccountant.ComputeRdp(z, 1.0, 1);
        for (int i = 0; i < rdp.Length; i++)
        {
            double alpha = RdpAccountant.DefaultOrders[i];
            Assert.Equal(alpha / (2 * z * z), rdp[i]);
        }
    }

    [Fact]
    public void DefaultOrders_AreOpacusOrders()
    {
        var orders = RdpAccountant.DefaultOrders;
        Assert.Equal(99 + 52, orders.Count);
        Assert.Equal(1.1, orders[0]);
        Assert.Equal(2.0, orders[9]);
        Assert.Equal(10.9, orders[98]);
        Assert.Equal(12.0, orders[99]);
        Assert.Equal(63.0, orders[^1]);
    }

    [Fact]
    public void ComputeRdp_TSteps_IsTTimesOneStep()
    {
        double[] one = RdpAccountant.ComputeRdp(0.9, 0.02, 1);
        double[] many = RdpAccountant.ComputeRdp(0.9, 0.02, 777);
        for (int i = 0; i < one.Length; i++)
        {
            Assert.Equal(777 * one[i], many[i], 12);
        }
    }

    [Fact]
    public void GetEpsilon_MoreNoiseFewerStepsLowerRate_NeverIncreases()
    {
        double Eps(double z, double q, int t) => RdpAccountant.ComputeEpsilon([(z, q, t)], 1e-5);

        double previous = double.PositiveInfinity;
        foreach (double z in new[] { 0.6, 0.8, 1.0, 1.3, 2.0, 4.0 })
        {
            double e = Eps(z, 0.05, 500);
            Assert.True(e < previous, $"eps must decrease in z; z={z} eps={e} previous={previous}");
            previous = e;
        }

        previous = 0;
        foreach (int t in new[] { 1, 10, 100, 1000, 5000 })
        {
            double e = Eps(1.0, 0.05, t);
            Assert.True(e > previous, $"eps must increase in T; T={t}");
            previous = e;
        }

        previous = 0;
        foreach (double q in new[] { 0.001, 0.01, 0.05, 0.2, 0.6, 1.0 })
        {
            double e = Eps(1.0, q, 100);
            Assert.True(e > previous, $"eps must increase in q; q={q}");
            previous = e;
        }
    }

    [Fact]
    public void Record_MixedNoisePerRound_EqualsSumOfRdpCurves()
    {
        var accountant = new RdpAccountant();
        accountant.Record(1.0, 0.1, 30);
        accountant.Record(2.0, 0.1, 50);
        accountant.Record(1.0, 0.1, 20);

        double[] total = RdpAccountant.ComputeRdp(1.0, 0.1, 50).Zip(RdpAccountant.ComputeRdp(2.0, 0.1, 50), (a, b) => a + b).ToArray();
        var expected = RdpAccountant.ConvertToEpsilon(RdpAccountant.DefaultOrders, total, 1e-6);
        Assert.Equal(expected.Epsilon, accountant.GetEpsilon(1e-6), 12);
        Assert.Equal(3, accountant.History.Count);
    }

    [Fact]
    public void Record_RepeatedIdenticalStep_MergesLikeOpacus()
    {
        var accountant = new RdpAccountant();
        for (int i = 0; i < 5; i++)
        {
            accountant.Record(1.1, 0.01);
        }

        accountant.Record(1.2, 0.01, 3);
        Assert.Equal([(1.1, 0.01, 5), (1.2, 0.01, 3)], accountant.History);
        Assert.Equal(RdpAccountant.ComputeEpsilon(accountant.History, 1e-5), accountant.GetEpsilon(1e-5));
    }

    [Fact]
    public void GetEpsilon_NothingRecorded_IsZero() => Assert.Equal(0.0, new RdpAccountant().GetEpsilon(1e-5));

    [Fact]
    public void GetPrivacySpent_TinyNoiseFewSteps_FlagsBoundaryOrder()
    {
        // Very strong noise puts the optimum at the largest order 63.
        var spent = RdpAccountant.ComputePrivacySpent([(50.0, 1.0, 1)], 1e-5);
        Assert.Equal(63.0, spent.Order);
        Assert.True(spent.OrderAtBoundary);
    }

    [Fact]
    public void ConvertToEpsilon_NaNAtSomeOrders_IgnoresThem()
    {
        double[] orders = [2, 4, 8];
        var result = RdpAccountant.ConvertToEpsilon(orders, [double.NaN, 0.5, double.NaN], 1e-5);
        Assert.Equal(4.0, result.Order);
        var none = RdpAccountant.ConvertToEpsilon(orders, [double.NaN, double.NaN, double.NaN], 1e-5);
        Assert.True(double.IsPositiveInfinity(none.Epsilon));
        Assert.True(double.IsNaN(none.Order));
    }

    [Fact]
    public void ComputeEpsilon_HistoryWithManyDistinctNoiseLevels_LiesBetweenItsExtremes()
    {
        // No timing here (house rule: speed belongs in benchmarks); the history must compose like its bounds do.
        var history = Enumerable.Range(0, 100).Select(i => (0.8 + (i * 0.001), 0.01, 3)).ToArray();
        double eps = RdpAccountant.ComputeEpsilon(history, 1e-5);
        double noisiest = RdpAccountant.ComputeEpsilon([(0.899, 0.01, 300)], 1e-5);
        double leastNoisy = RdpAccountant.ComputeEpsilon([(0.8, 0.01, 300)], 1e-5);
        Assert.InRange(eps, noisiest, leastNoisy);
    }
}
