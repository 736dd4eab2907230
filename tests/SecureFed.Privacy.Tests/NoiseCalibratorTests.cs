namespace SecureFed.Privacy.Tests;

public class NoiseCalibratorTests
{
    [Theory]
    [InlineData(AccountantKind.Rdp, 1.0, 1e-5, 100, 0.05)]
    [InlineData(AccountantKind.Rdp, 8.0, 1e-6, 1000, 1.0)]
    [InlineData(AccountantKind.Exact, 1.0, 1e-5, 100, 1.0)]
    [InlineData(AccountantKind.Exact, 3.0, 1e-6, 20, 1.0)]
    [InlineData(AccountantKind.Exact, 50.0, 1e-5, 1, 1.0)]
    public void Calibrate_Target_ReturnsSmallestMultiplierWithinOneMillionth(
        AccountantKind kind, double target, double delta, int rounds, double q)
    {
        double z = NoiseCalibrator.Calibrate(target, delta, rounds, q, kind);
        double at = PrivacyAccountants.ComputeEpsilon(kind, [(z, q, rounds)], delta);
        double justBelow = PrivacyAccountants.ComputeEpsilon(kind, [(z - 1e-6, q, rounds)], delta);
        Assert.True(at <= target, $"eps({z}) = {at} > target {target}");
        Assert.True(justBelow > target, $"eps({z} - 1e-6) = {justBelow} <= target {target}: not the smallest");
    }

    [Fact]
    public void Calibrate_MnistEpsilon_RecoversNoiseMultiplier1Point1()
    {
        double eps = RdpAccountant.ComputeEpsilon([(1.1, 256.0 / 60000, 14063)], 1e-5);
        double z = NoiseCalibrator.Calibrate(eps, 1e-5, 14063, 256.0 / 60000, AccountantKind.Rdp);
        Assert.Equal(1.1, z, 6);
    }

    [Fact]
    public void Calibrate_ExactVersusRdpOnUnsampledRounds_ExactNeedsLessNoise()
    {
        double exact = NoiseCalibrator.Calibrate(2.0, 1e-5, 50, 1.0, AccountantKind.Exact);
        double rdp = NoiseCalibrator.Calibrate(2.0, 1e-5, 50, 1.0, AccountantKind.Rdp);
        Assert.True(exact < rdp, $"exact {exact} should be below rdp {rdp}");
    }

    [Fact]
    public void Calibrate_ExactWithSampling_Refused()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => NoiseCalibrator.Calibrate(1.0, 1e-5, 10, 0.5, AccountantKind.Exact));
        Assert.Equal("samplingRate", ex.ParamName);
    }

    [Fact]
    public void Calibrate_UnreachableTarget_RefusedWithNumbers()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => NoiseCalibrator.Calibrate(1e-9, 1e-5, 100000, 1.0, AccountantKind.Exact));
        Assert.Equal("targetEpsilon", ex.ParamName);
        Assert.Contains("1E-09", ex.Message, StringComparison.Ordinal);
    }
}
