using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy.Tests;

// Reference values: mpmath at 50 digits (erfc, exp(x^2) erfc(x), ncdf, log); see Reference/make_reference.py.
public class ErrorFunctionTests
{
    private static void AssertRelative(double expected, double actual, double tolerance)
    {
        double rel = Math.Abs(actual - expected) / Math.Abs(expected);
        Assert.True(rel <= tolerance, $"expected {expected:R}, got {actual:R}, relative error {rel:E3} > {tolerance:E1}");
    }

    [Theory]
    [InlineData(0.5, 0.4795001221869535)]
    [InlineData(3.0, 2.209049699858544e-05)]
    [InlineData(10.0, 2.088487583762545e-45)]
    [InlineData(-1.0, 1.8427007929497149)]
    [InlineData(1e-10, 0.9999999998871621)]
    [InlineData(0.46875, 0.507386526782062)]
    [InlineData(4.0, 1.5417257900280019e-08)]
    [InlineData(4.5, 1.9661604415428875e-10)]
    [InlineData(26.0, 5.663192408856143e-296)]
    [InlineData(-3.0, 1.9999779095030014)]
    [InlineData(0.1, 0.8875370839817151)]
    [InlineData(1.5, 0.033894853524689273)]
    public void Erfc_TabulatedArgument_MatchesToFifteenDigits(double x, double expected) =>
        AssertRelative(expected, ErrorFunction.Erfc(x), 2e-15);

    [Theory]
    [InlineData(30.0, 0.018795888861416751)]
    [InlineData(1e5, 5.641895835195468e-06)]
    [InlineData(-2.0, 108.94090438997797)]
    [InlineData(0.2, 0.8090195199015807)]
    [InlineData(5.0, 0.11070463773306863)]
    public void Erfcx_TabulatedArgument_MatchesToFifteenDigits(double x, double expected) =>
        AssertRelative(expected, ErrorFunction.Erfcx(x), 2e-15);

    [Theory]
    [InlineData(30.0, -903.97411711064388)]
    [InlineData(1000.0, -1000007.4801207219)]
    [InlineData(26.6, -711.41398156849612)]
    [InlineData(5.0, -27.200889545537434)]
    public void LogErfc_BeyondUnderflow_StaysAccurate(double x, double expected) =>
        AssertRelative(expected, ErrorFunction.LogErfc(x), 1e-15);

    [Theory]
    [InlineData(-20.0, 2.7536241186062337e-89)]
    [InlineData(-8.0, 6.220960574271784e-16)]
    [InlineData(-1.0, 0.15865525393145705)]
    [InlineData(0.0, 0.5)]
    [InlineData(1.5, 0.9331927987311419)]
    public void NormalCdf_TabulatedArgument_MatchesInTheFarTail(double x, double expected) =>
        AssertRelative(expected, ErrorFunction.NormalCdf(x), 2e-15);

    [Theory]
    [InlineData(-20.0, -203.91715537109726)]
    [InlineData(-40.0, -804.60844201375379)]
    [InlineData(-1.0, -1.8410216450092635)]
    [InlineData(1.5, -0.069143455612233983)]
    public void LogNormalCdf_TabulatedArgument_Matches(double x, double expected) =>
        AssertRelative(expected, ErrorFunction.LogNormalCdf(x), 2e-15);

    [Fact]
    public void Erf_PlusErfc_IsOneAcrossTheRange()
    {
        for (double x = -6; x <= 6; x += 0.01)
        {
            Assert.Equal(1.0, ErrorFunction.Erf(x) + ErrorFunction.Erfc(x), 15);
        }
    }

    [Theory]
    [InlineData(1e-12)]
    [InlineData(-1e-9)]
    [InlineData(3e-5)]
    public void Log1pAndExpm1_TinyArgument_KeepRelativeAccuracy(double x)
    {
        // Taylor series to the fifth power are exact to double precision at these sizes.
        double x2 = x * x;
        double x3 = x2 * x;
        double x4 = x3 * x;
        double x5 = x4 * x;
        AssertRelative(x - (x2 / 2) + (x3 / 3) - (x4 / 4) + (x5 / 5), LogMath.Log1p(x), 1e-15);
        AssertRelative(x + (x2 / 2) + (x3 / 6) + (x4 / 24) + (x5 / 120), LogMath.Expm1(x), 1e-15);
    }

    [Fact]
    public void LogAddAndLogSub_Values_InvertEachOther()
    {
        double a = Math.Log(3.0);
        double b = Math.Log(1e-20);
        double sum = LogMath.LogAdd(a, b);
        Assert.True(LogMath.TryLogSub(sum, b, out double back));
        Assert.Equal(a, back, 14);
        Assert.False(LogMath.TryLogSub(b, a, out _));
        Assert.Equal(a, LogMath.LogAdd(a, double.NegativeInfinity));
    }
}
