using CsCheck;

namespace SecureFed.Privacy.Tests;

public class ConcurrencyAndPropertyTests
{
    [Theory]
    [InlineData(AccountantKind.Rdp)]
    [InlineData(AccountantKind.Exact)]
    public void Record_FromManyThreads_LosesNoStep(AccountantKind kind)
    {
        var accountant = PrivacyAccountants.Create(kind);
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            accountant.Record(i % 2 == 0 ? 1.0 : 2.0, 1.0));
        var history = accountant.History;
        Assert.Equal(4000, history.Sum(h => h.steps));
        Assert.Equal(2000, history.Where(h => h.z == 1.0).Sum(h => h.steps));
        // Order of interleaving does not matter for the charge.
        double expected = PrivacyAccountants.ComputeEpsilon(kind, [(1.0, 1.0, 2000), (2.0, 1.0, 2000)], 1e-5);
        Assert.Equal(expected, accountant.GetEpsilon(1e-5), 9);
    }

    [Fact]
    public void ExactEpsilon_RandomRounds_MonotoneAndBelowRdp()
    {
        Gen.Select(Gen.Double[0.3, 20.0], Gen.Int[1, 2000], Gen.Double[1e-9, 1e-2]).Sample((z, t, delta) =>
        {
            double exact = ExactGaussianAccountant.ComputeEpsilon([(z, 1.0, t)], delta);
            double moreNoise = ExactGaussianAccountant.ComputeEpsilon([(z * 1.01, 1.0, t)], delta);
            double moreRounds = ExactGaussianAccountant.ComputeEpsilon([(z, 1.0, t + 1)], delta);
            double rdp = RdpAccountant.ComputeEpsilon([(z, 1.0, t)], delta);
            Assert.True(moreNoise <= exact && moreRounds >= exact, $"z={z} T={t} delta={delta}");
            Assert.True(exact <= rdp, $"z={z} T={t} delta={delta}: exact {exact} > rdp {rdp}");
        }, iter: 200);
    }
}
