using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy.Tests;

public class PldAccountantTests
{
    private const double MnistQ = 256.0 / 60000.0;

    // Allowed shortfall below a pessimistic reference: the discretization (a few grid spacings of 1e-4 on the loss
    // axis, composed) and floating-point rounding of the FFT. Relative, because epsilons range from 1 to 100.
    private const double Shortfall = 1e-3;

    /// <summary>
    /// dp_accounting 0.6.0's PLDAccountant at its defaults (see Reference/make_pld_reference.py, which prints these).
    /// </summary>
    public static TheoryData<string, double> DpAccountingPoints => new()
    {
        // DP-SGD on MNIST: q = 256/60000, z = 1.1, 60 epochs = 14063 steps (rdp 2.596656).
        { "1.1,0.00426666666666666667,14063", 2.381779 },
        { "1.0,0.01,1000", 1.828244 },
        { "0.7,0.1,50", 10.706467 },
        { "1.1,0.00426666666666666667,2000;2.0,1,4;0.8,0.01,100", 4.617102 },
    };

    private static (double z, double q, int steps)[] Parse(string history) =>
        [.. history.Split(';').Select(entry =>
        {
            var parts = entry.Split(',');
            double q = parts[1] == "0.00426666666666666667" ? MnistQ : double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            return (double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), q, int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
        })];

    [Theory]
    [MemberData(nameof(DpAccountingPoints))]
    public void ComputeEpsilon_ReferencePoint_WithinHalfPercentOfDpAccountingAndNotBelowIt(string history, double reference)
    {
        double epsilon = PldAccountant.ComputeEpsilon(Parse(history), 1e-5);

        Assert.InRange(epsilon, reference * (1.0 - Shortfall), reference * 1.005);
    }

    [Fact]
    public void ComputeEpsilon_TwoSampledPoints_AtDeltaOneInAMillion_MatchDpAccounting()
    {
        Assert.InRange(PldAccountant.ComputeEpsilon([(2.0, 0.5, 30)], 1e-6), 7.948619 * (1.0 - Shortfall), 7.948619 * 1.005);
        Assert.InRange(PldAccountant.ComputeEpsilon([(5.0, 1.0, 10)], 1e-6), 2.921601 * (1.0 - Shortfall), 2.921601 * 1.005);
    }

    [Theory]
    // (1.0, 100) is also a dp_accounting point: 91.817290 there, as here and in the exact accountant.
    [InlineData(1.0, 100, 1e-5)]
    [InlineData(5.0, 10, 1e-6)]
    [InlineData(2.0, 1, 1e-5)]
    [InlineData(0.8, 4, 1e-8)]
    public void ComputeEpsilon_Unsampled_AtLeastExactGaussianAndWithinHalfPercent(double z, int rounds, double delta)
    {
        (double, double, int)[] history = [(z, 1.0, rounds)];
        double exact = ExactGaussianAccountant.ComputeEpsilon(history, delta);

        double pld = PldAccountant.ComputeEpsilon(history, delta);

        // Pessimistic: never below the exact curve (beyond rounding), and close to it.
        Assert.True(pld >= exact * (1.0 - 1e-9), $"pld {pld:R} below exact {exact:R}");
        Assert.True(pld <= exact * 1.005, $"pld {pld:R} more than 0.5% above exact {exact:R}");
    }

    [Theory]
    [InlineData(0.5, 1, 0.25)]
    [InlineData(1.0, 3, 1.0)]
    [InlineData(3.0, 20, 0.5)]
    public void ComputeDelta_Unsampled_AtLeastExactDelta(double z, int rounds, double epsilon)
    {
        (double, double, int)[] history = [(z, 1.0, rounds)];
        double exact = ExactGaussianAccountant.ComputeDelta(history, epsilon);

        double pld = PldAccountant.ComputeDelta(history, epsilon);

        Assert.True(pld >= exact * (1.0 - 1e-9), $"pld delta {pld:R} below exact {exact:R}");
        Assert.True(pld <= (exact * 1.01) + 1e-12, $"pld delta {pld:R} far above exact {exact:R}");
    }

    [Theory]
    [InlineData(1.1, 0.01, 3000, 1e-5)]
    [InlineData(0.6, 0.05, 20, 1e-5)]
    [InlineData(4.0, 0.3, 100, 1e-7)]
    [InlineData(1.0, 0.9, 3, 1e-5)]
    [InlineData(2.0, 0.001, 100000, 1e-6)]
    public void ComputeEpsilon_Sampled_TighterThanRdp(double z, double q, int steps, double delta)
    {
        (double, double, int)[] history = [(z, q, steps)];

        double pld = PldAccountant.ComputeEpsilon(history, delta);
        double rdp = RdpAccountant.ComputeEpsilon(history, delta);

        Assert.True(pld > 0.0 && pld < rdp, $"pld {pld:R} not in (0, rdp {rdp:R})");
    }

    [Fact]
    public void ComputeEpsilon_HeterogeneousHistory_IndependentOfOrderAndBelowRdp()
    {
        (double, double, int)[] history = [(1.0, 0.05, 100), (0.9, 0.02, 300), (2.0, 1.0, 5), (1.0, 0.05, 50)];
        (double, double, int)[] reversed = [.. history.Reverse()];

        double forward = PldAccountant.ComputePrivacySpent(history, 1e-5, 1e-3).Epsilon;
        double backward = PldAccountant.ComputePrivacySpent(reversed, 1e-5, 1e-3).Epsilon;

        Assert.Equal(forward, backward, 1e-9);
        // dp_accounting gives 7.238249 at spacing 1e-4; a 1e-3 grid is coarser but still pessimistic.
        Assert.InRange(forward, 7.238249 * (1.0 - Shortfall), 7.238249 * 1.005);
        Assert.True(forward < RdpAccountant.ComputeEpsilon(history, 1e-5));
    }

    [Fact]
    public void ComputeEpsilon_MoreRounds_NeverLess()
    {
        double previous = 0.0;
        foreach (int steps in new[] { 1, 10, 100, 400 })
        {
            double epsilon = PldAccountant.ComputeEpsilon([(1.0, 0.02, steps)], 1e-5);
            Assert.True(epsilon > previous, $"{steps} steps gave {epsilon:R} <= {previous:R}");
            previous = epsilon;
        }
    }

    [Fact]
    public void ComputeEpsilon_SampledBothDirections_WorseDirectionReported()
    {
        // For the subsampled Gaussian the remove and add PLDs differ; epsilon is the larger of the two.
        var pmfs = PldAccountant.Compose([(0.8, 0.2, 30)], 1e-3);
        Assert.Equal(2, pmfs.Length);
        double remove = pmfs[0].EpsilonForDelta(1e-5);
        double add = pmfs[1].EpsilonForDelta(1e-5);
        Assert.NotEqual(remove, add);

        Assert.Equal(Math.Max(remove, add), PldAccountant.ComputePrivacySpent([(0.8, 0.2, 30)], 1e-5, 1e-3).Epsilon);
    }

    [Fact]
    public void Compose_GridOverCap_WidensSpacingStaysBoundedAndPessimistic()
    {
        (double, double, int)[] history = [(0.7, 0.1, 50)];
        const int cap = 1 << 14;

        var coarse = PldAccountant.Compose(history, PldAccountant.DefaultValueDiscretizationInterval, cap);
        double fine = PldAccountant.ComputeEpsilon(history, 1e-5);

        Assert.All(coarse, pmf => Assert.True(pmf.Probs.Length <= cap, $"{pmf.Probs.Length} points"));
        Assert.True(coarse[0].Interval > PldAccountant.DefaultValueDiscretizationInterval);
        double widened = coarse.Max(pmf => pmf.EpsilonForDelta(1e-5));
        Assert.InRange(widened, fine * (1.0 - 1e-6), fine * 1.05);
    }

    [Fact]
    public void ComputeEpsilon_DeltaBelowTruncatedTailMass_IsInfinite()
    {
        // The noise tails beyond mass e^-50 count as infinite loss, so no finite epsilon reaches a smaller delta.
        Assert.Equal(double.PositiveInfinity, PldAccountant.ComputeEpsilon([(1.0, 0.1, 10)], 1e-40));
    }

    [Fact]
    public void Accountant_RecordAndQuery_MatchesPureComputationAndWiring()
    {
        var accountant = PrivacyAccountants.Create("PLD");
        Assert.IsType<PldAccountant>(accountant);
        Assert.Equal(AccountantKind.Pld, accountant.Kind);
        Assert.Equal(0.0, accountant.GetEpsilon(1e-5));

        accountant.Record(1.2, 0.01, 100);
        accountant.Record(1.2, 0.01, 50);
        Assert.True(accountant.GetEpsilon(1e-5) > 0.0);
        accountant.Record(3.0, 1.0);

        Assert.Equal([(1.2, 0.01, 150), (3.0, 1.0, 1)], accountant.History);
        Assert.Equal(
            PldAccountant.ComputeEpsilon([(1.2, 0.01, 150), (3.0, 1.0, 1)], 1e-5),
            PrivacyAccountants.ComputeEpsilon(AccountantKind.Pld, accountant.History, 1e-5));
        Assert.Equal("pld", PrivacyAccountants.GetName(AccountantKind.Pld));
        Assert.Equal(AccountantKind.Pld, PrivacyAccountants.ParseKind(" pld "));
        Assert.Contains("pld", PrivacyAccountants.Names);
        Assert.Equal(Enum.GetValues<AccountantKind>().Length, PrivacyAccountants.Names.Count);
    }

    [Fact]
    public void Record_BadArguments_Refused()
    {
        var accountant = new PldAccountant();
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Record(0.0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Record(1.0, 0.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Record(1.0, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Record(1.0, 0.5, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.GetEpsilon(1.0));
    }

    [Fact]
    public void SelfCompose_ByFft_EqualsRepeatedDirectConvolution()
    {
        var single = new PldPmf(0.1, -2, [0.1, 0.2, 0.3, 0.25, 0.15], 0.001);
        var direct = single;
        for (int i = 1; i < 7; i++)
        {
            direct = Convolve(direct, single);
        }

        var viaFft = single.SelfCompose(7, 0.0);

        Assert.Equal(direct.LowerIndex, viaFft.LowerIndex);
        Assert.Equal(direct.Probs.Length, viaFft.Probs.Length);
        for (int i = 0; i < direct.Probs.Length; i++)
        {
            Assert.Equal(direct.Probs[i], viaFft.Probs[i], 1e-14);
        }

        Assert.Equal(1.0 - Math.Pow(0.999, 7), viaFft.InfinityMass, 1e-15);
    }

    [Fact]
    public void EpsilonForDelta_IsInverseOfDeltaForEpsilon()
    {
        var pmf = new SampledGaussianPld(1.0, 0.1, PldAdjacency.Remove).Discretize(1e-3).SelfCompose(20, 1e-15);
        foreach (double delta in new[] { 1e-3, 1e-5, 1e-8 })
        {
            double epsilon = pmf.EpsilonForDelta(delta);
            Assert.Equal(delta, pmf.DeltaForEpsilon(epsilon), delta * 1e-9);
        }
    }

    [Fact]
    public void Discretize_ConnectTheDots_MatchesTrueDeltaAtGridPointsAndIsAProbability()
    {
        var loss = new SampledGaussianPld(0.9, 0.05, PldAdjacency.Add);
        var pmf = loss.Discretize(1e-3);

        Assert.Equal(1.0, pmf.Probs.Sum() + pmf.InfinityMass, 1e-9);
        foreach (double epsilon in new[] { 0.0, 0.01, 0.03 })
        {
            Assert.Equal(loss.DeltaForEpsilon(epsilon), pmf.DeltaForEpsilon(epsilon), 1e-10);
        }
    }

    private static PldPmf Convolve(PldPmf a, PldPmf b)
    {
        var probs = new double[a.Probs.Length + b.Probs.Length - 1];
        for (int i = 0; i < a.Probs.Length; i++)
        {
            for (int j = 0; j < b.Probs.Length; j++)
            {
                probs[i + j] += a.Probs[i] * b.Probs[j];
            }
        }

        double infinity = a.InfinityMass + b.InfinityMass - (a.InfinityMass * b.InfinityMass);
        return new PldPmf(a.Interval, a.LowerIndex + b.LowerIndex, probs, infinity);
    }
}
