using System.CommandLine;
using System.Globalization;
using SecureFed.Cli;

namespace SecureFed.Federation.Tests;

/// <summary>
/// Every floating-point option of <c>securefed</c> reads numbers one way whatever the machine's culture: invariant
/// form only, no commas, no digit groups, no NaN or infinities (issue defect 5: <c>1,5</c> was read as 15).
/// </summary>
[Collection("Console")]
public sealed class NumberParsingTests
{
    // Each option with the smallest command line around it that parses; the value under test is appended.
    public static TheoryData<string, string> Options => new()
    {
        { "privacy epsilon --rounds 5 --delta 1e-5 --noise-multiplier", "--noise-multiplier" },
        { "privacy epsilon --noise-multiplier 2 --rounds 5 --sampling-rate 0.5 --delta", "--delta" },
        { "privacy epsilon --noise-multiplier 2 --rounds 5 --delta 1e-5 --sampling-rate", "--sampling-rate" },
        { "privacy calibrate --rounds 5 --delta 1e-5 --target-epsilon", "--target-epsilon" },
        { "simulate --noise-multiplier", "--noise-multiplier" },
        { "simulate --epsilon-budget", "--epsilon-budget" },
        { "simulate --clip", "--clip" },
        { "simulate --delta", "--delta" },
        { "simulate --dropout", "--dropout" },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void Parse_DecimalComma_RefusedNamingOptionTextAndFix(string prefix, string option)
    {
        var result = Parse(prefix, "1,5");

        var error = Assert.Single(result.Errors).Message;
        Assert.Contains($"{option} '1,5'", error, StringComparison.Ordinal);
        Assert.Contains("write 1.5", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void Parse_InvariantDecimal_Accepted(string prefix, string option)
    {
        var result = Parse(prefix, "0.5");

        Assert.Empty(result.Errors);
        Assert.Equal(0.5, result.GetValue<double>(option));
    }

    [Theory]
    [InlineData("1,000")]
    [InlineData("1 000")]
    [InlineData("1_000")]
    [InlineData("1.000,5")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("∞")]
    [InlineData("0x10")]
    [InlineData(" 1.5")]
    [InlineData("")]
    public void Parse_NotAnInvariantFiniteNumber_Refused(string text)
    {
        var result = Parse("simulate --epsilon-budget", text);

        var error = Assert.Single(result.Errors).Message;
        Assert.StartsWith("--epsilon-budget '", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Theory]
    [InlineData("1.5", 1.5)]
    [InlineData("1e-5", 1e-5)]
    [InlineData("1E-05", 1e-5)]
    [InlineData("-0.25", -0.25)]
    [InlineData("3", 3.0)]
    [InlineData(".5", 0.5)]
    public void Parse_InvariantForms_Accepted(string text, double expected)
    {
        var result = Parse("simulate --epsilon-budget", text);

        Assert.Empty(result.Errors);
        Assert.Equal(expected, result.GetValue<double>("--epsilon-budget"));
    }

    [Fact]
    public void Parse_UnderCommaDecimalCulture_StillInvariant()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CommaDecimalCulture();
            Assert.Equal(",", CultureInfo.CurrentCulture.NumberFormat.NumberDecimalSeparator);

            var dot = Parse("simulate --noise-multiplier", "1.5");
            var comma = Parse("simulate --noise-multiplier", "1,5");

            Assert.Empty(dot.Errors);
            Assert.Equal(1.5, dot.GetValue<double>("--noise-multiplier"));
            Assert.NotEmpty(comma.Errors);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData("--noise-multiplier", "1,5", "--rounds", "5", "--delta", "1e-5")]
    [InlineData("--noise-multiplier", "2", "--rounds", "5", "--delta", "1,5")]
    public async Task PrivacyEpsilon_DecimalComma_ExitsNonZeroAndComputesNothing(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int code = await Program.BuildRoot().Parse(["privacy", "epsilon", "--json", .. args])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, code);
        Assert.Contains("'1,5' is not a number here", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("{\"epsilon\":", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrivacyEpsilon_InvariantDecimal_Works()
    {
        var output = new StringWriter();
        int code = await Program.BuildRoot().Parse(["privacy", "epsilon", "--noise-multiplier", "1.5", "--rounds", "5", "--delta", "1e-5", "--accountant", "exact", "--json"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = new StringWriter() })
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, code);
        Assert.Contains("\"noise_multiplier\":1.5", output.ToString(), StringComparison.Ordinal);
    }

    private static ParseResult Parse(string prefix, string value) =>
        Program.BuildRoot().Parse([.. prefix.Split(' '), value]);

    private static CultureInfo CommaDecimalCulture()
    {
        try
        {
            var german = CultureInfo.GetCultureInfo("de-DE");
            if (german.NumberFormat.NumberDecimalSeparator == ",")
            {
                return german;
            }
        }
        catch (CultureNotFoundException)
        {
            // The build runs with InvariantGlobalization, where named cultures may be unavailable.
        }

        // The number format of de-DE, which is what matters to parsing.
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NumberDecimalSeparator = ",";
        culture.NumberFormat.NumberGroupSeparator = ".";
        return culture;
    }
}
