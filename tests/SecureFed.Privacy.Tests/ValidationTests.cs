namespace SecureFed.Privacy.Tests;

public class ValidationTests
{
    private static void AssertNamed(ArgumentOutOfRangeException ex, string parameter, string value, string range)
    {
        Assert.Equal(parameter, ex.ParamName);
        Assert.Contains(parameter + " must be in " + range, ex.Message, StringComparison.Ordinal);
        Assert.Contains("got " + value, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.0, "1")]
    [InlineData(-1e-5, "-1E-05")]
    [InlineData(double.NaN, "NaN")]
    public void GetEpsilon_DeltaOutsideOpenUnitInterval_NamesParameterValueAndRange(double delta, string shown)
    {
        foreach (var kind in new[] { AccountantKind.Rdp, AccountantKind.Exact })
        {
            var accountant = PrivacyAccountants.Create(kind);
            accountant.Record(1.0, 1.0);
            AssertNamed(Assert.Throws<ArgumentOutOfRangeException>(() => accountant.GetEpsilon(delta)), "delta", shown, "(0, 1)");
        }
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    public void Record_NoiseMultiplierNotPositive_NamesParameterValueAndRange(double z, string shown)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant().Record(z, 0.1));
        AssertNamed(ex, "noiseMultiplier", shown, "(0, +inf)");
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.1, "-0.1")]
    [InlineData(double.NaN, "NaN")]
    public void Record_SamplingRateOutsideHalfOpenInterval_NamesParameterValueAndRange(double q, string shown)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant().Record(1.0, q));
        AssertNamed(ex, "samplingRate", shown, "(0, 1]");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Record_StepsBelowOne_NamesParameterValueAndRange(int steps)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant().Record(1.0, 0.1, steps));
        AssertNamed(ex, "steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "[1, ");
    }

    [Fact]
    public void Calibrate_RoundsBelowOne_NamesParameter()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => NoiseCalibrator.Calibrate(1.0, 1e-5, 0, 1.0, AccountantKind.Exact));
        AssertNamed(ex, "rounds", "0", "[1, ");
    }

    [Fact]
    public void ComputeEpsilon_BadLoggedEntry_NamesTheEntry()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => RdpAccountant.ComputeEpsilon([(1.0, 0.1, 1), (-1.0, 0.1, 1)], 1e-5));
        AssertNamed(ex, "history[1].z", "-1", "(0, +inf)");
    }

    [Fact]
    public void PrivacyBudget_BadValues_NamesParameter()
    {
        AssertNamed(Assert.Throws<ArgumentOutOfRangeException>(() => new PrivacyBudget(0, 1e-5)), "epsilonMax", "0", "(0, +inf)");
        AssertNamed(Assert.Throws<ArgumentOutOfRangeException>(() => new PrivacyBudget(1, 2)), "delta", "2", "(0, 1)");
    }

    [Fact]
    public void ParseKind_UnknownName_ListsAllowedNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => PrivacyAccountants.ParseKind("prv"));
        Assert.Contains("'prv'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'rdp', 'exact' and 'pld'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rdp", AccountantKind.Rdp)]
    [InlineData(" EXACT ", AccountantKind.Exact)]
    public void Create_ByName_ReturnsThatKind(string name, AccountantKind kind)
    {
        var accountant = PrivacyAccountants.Create(name);
        Assert.Equal(kind, accountant.Kind);
        Assert.Equal(kind, PrivacyAccountants.ParseKind(PrivacyAccountants.GetName(kind)));
    }
}
