using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SecureFed.Cli;
using SecureFed.Privacy;

namespace SecureFed.Federation.Tests;

/// <summary>
/// <c>securefed privacy epsilon|calibrate</c>: published figures, agreement with the library, the calibrate/epsilon
/// round trip and option-naming refusals. Most tests capture output through the invocation's own writers, so they do
/// not depend on the process-wide Console; the one that goes through Console is in the "Console" collection.
/// </summary>
[Collection("Console")]
public sealed class PrivacyCliTests
{
    private const string MnistSamplingRate = "0.004266666666666667"; // 256 / 60000

    [Fact]
    public async Task Epsilon_MnistDpSgdFigure_GivesPublishedEpsilonAndBestOrder()
    {
        // DP-SGD on MNIST (Abadi et al. 2016 setting; Opacus' improved RDP conversion gives 2.5967).
        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", "1.1", "--sampling-rate", MnistSamplingRate,
            "--rounds", "14063", "--delta", "1e-5", "--accountant", "rdp", "--json");

        Assert.Equal(0, run.Code);
        using var json = LastJson(run.Output);
        var root = json.RootElement;
        Assert.Equal(2.5967, root.GetProperty("epsilon").GetDouble(), 1e-3);
        Assert.Contains(root.GetProperty("best_order").GetDouble(), RdpAccountant.DefaultOrders);
        Assert.False(root.GetProperty("order_at_boundary").GetBoolean());
        Assert.Equal("rdp", root.GetProperty("accountant").GetString());
        Assert.Equal(1e-5, root.GetProperty("delta").GetDouble());
        Assert.Equal(1.1, root.GetProperty("noise_multiplier").GetDouble());
        Assert.Equal(256.0 / 60000.0, root.GetProperty("sampling_rate").GetDouble());
        Assert.Equal(14063, root.GetProperty("rounds").GetInt32());
    }

    [Theory]
    [InlineData(1.0, 1, 1e-5)]
    [InlineData(2.0, 10, 1e-5)]
    [InlineData(5.5, 250, 1e-6)]
    public async Task Epsilon_ExactWithFullParticipation_MatchesExactGaussianAccountant(double z, int rounds, double delta)
    {
        var expected = ExactGaussianAccountant.ComputeEpsilon([(z, 1.0, rounds)], delta);

        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", Invariant(z), "--sampling-rate", "1",
            "--rounds", Invariant(rounds), "--delta", Invariant(delta), "--accountant", "exact", "--json");

        Assert.Equal(0, run.Code);
        using var json = LastJson(run.Output);
        var root = json.RootElement;
        Assert.Equal(expected, root.GetProperty("epsilon").GetDouble(), 1e-12 * expected);
        Assert.Equal("exact", root.GetProperty("accountant").GetString());
        Assert.Equal(Math.Sqrt(rounds) / z, root.GetProperty("mu").GetDouble(), 1e-12);
        Assert.False(root.TryGetProperty("best_order", out _), "the exact accountant has no RDP order");
    }

    [Fact]
    public async Task Epsilon_OptionalOptionsOmitted_UsesRdpAndFullParticipation()
    {
        var expected = RdpAccountant.ComputeEpsilon([(1.3, 1.0, 20)], 1e-5);

        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", "1.3", "--rounds", "20", "--delta", "1e-5", "--json");

        Assert.Equal(0, run.Code);
        using var json = LastJson(run.Output);
        Assert.Equal("rdp", json.RootElement.GetProperty("accountant").GetString());
        Assert.Equal(1.0, json.RootElement.GetProperty("sampling_rate").GetDouble());
        Assert.Equal(expected, json.RootElement.GetProperty("epsilon").GetDouble());
    }

    [Fact]
    public async Task Epsilon_WithoutJson_PrintsTableWithEpsilonAndOrder()
    {
        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", "1.1", "--sampling-rate", MnistSamplingRate,
            "--rounds", "14063", "--delta", "1e-5");

        Assert.Equal(0, run.Code);
        Assert.Contains("epsilon", run.Output, StringComparison.Ordinal);
        Assert.Contains("2.5966", run.Output, StringComparison.Ordinal);
        Assert.Contains("best RDP order", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("{", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rdp", 3.0, 100, "0.01", 1e-5)]
    [InlineData("rdp", 2.5967, 14063, MnistSamplingRate, 1e-5)]
    [InlineData("exact", 1.0, 10, "1", 1e-5)]
    [InlineData("exact", 8.0, 50, "1", 1e-6)]
    public async Task Calibrate_ThenEpsilon_StaysWithinTargetAndIsTight(string accountant, double target, int rounds, string samplingRate, double delta)
    {
        var calibrated = await RunAsync("privacy", "calibrate", "--target-epsilon", Invariant(target), "--delta", Invariant(delta),
            "--rounds", Invariant(rounds), "--sampling-rate", samplingRate, "--accountant", accountant, "--json");
        Assert.Equal(0, calibrated.Code);
        using var calibration = LastJson(calibrated.Output);
        var z = calibration.RootElement.GetProperty("noise_multiplier").GetDouble();
        Assert.Equal(target, calibration.RootElement.GetProperty("target_epsilon").GetDouble());
        Assert.Equal(accountant, calibration.RootElement.GetProperty("accountant").GetString());

        var spent = await RunAsync("privacy", "epsilon", "--noise-multiplier", Invariant(z), "--delta", Invariant(delta),
            "--rounds", Invariant(rounds), "--sampling-rate", samplingRate, "--accountant", accountant, "--json");

        Assert.Equal(0, spent.Code);
        using var check = LastJson(spent.Output);
        var epsilon = check.RootElement.GetProperty("epsilon").GetDouble();
        Assert.True(epsilon <= target + 1e-6, $"epsilon {epsilon} of calibrated z {z} exceeds target {target}");
        Assert.Equal(epsilon, calibration.RootElement.GetProperty("epsilon").GetDouble());
        // Smallest such z: a millionth less noise overspends.
        var q = double.Parse(samplingRate, CultureInfo.InvariantCulture);
        var below = PrivacyAccountants.ComputeEpsilon(PrivacyAccountants.ParseKind(accountant), [(z - 1e-6, q, rounds)], delta);
        Assert.True(below > target, $"z - 1e-6 = {z - 1e-6} still meets the target ({below} <= {target})");
    }

    [Theory]
    [InlineData("--noise-multiplier 0 --rounds 5 --delta 1e-5", "--noise-multiplier 0 is invalid")]
    [InlineData("--noise-multiplier -1 --rounds 5 --delta 1e-5", "--noise-multiplier -1 is invalid")]
    [InlineData("--noise-multiplier 1 --rounds 5 --delta 1.5", "--delta 1.5 is invalid: must be in (0, 1)")]
    [InlineData("--noise-multiplier 1 --rounds 5 --delta 0", "--delta 0 is invalid: must be in (0, 1)")]
    [InlineData("--noise-multiplier 1 --rounds 5 --delta 1", "--delta 1 is invalid: must be in (0, 1)")]
    [InlineData("--noise-multiplier 1 --rounds 5 --delta 1e-5 --sampling-rate 0", "--sampling-rate 0 is invalid: must be in (0, 1]")]
    [InlineData("--noise-multiplier 1 --rounds 5 --delta 1e-5 --sampling-rate 1.5", "--sampling-rate 1.5 is invalid: must be in (0, 1]")]
    [InlineData("--noise-multiplier 1 --rounds 0 --delta 1e-5", "--rounds 0 is invalid: must be at least 1")]
    [InlineData("--noise-multiplier 1 --rounds -3 --delta 1e-5", "--rounds -3 is invalid: must be at least 1")]
    [InlineData("--noise-multiplier 1 --rounds 5 --delta 1e-5 --accountant exact --sampling-rate 0.5", "--sampling-rate 0.5 is invalid: the exact accountant")]
    public async Task Epsilon_BadArgument_ExitsWithCodeTwoNamingTheOption(string args, string message)
    {
        var run = await RunAsync(["privacy", "epsilon", .. args.Split(' ')]);

        AssertRefused(run, message);
    }

    [Theory]
    [InlineData("--target-epsilon 0 --rounds 5 --delta 1e-5", "--target-epsilon 0 is invalid")]
    [InlineData("--target-epsilon -2 --rounds 5 --delta 1e-5", "--target-epsilon -2 is invalid")]
    [InlineData("--target-epsilon 1 --rounds 5 --delta 2", "--delta 2 is invalid: must be in (0, 1)")]
    [InlineData("--target-epsilon 1 --rounds 0 --delta 1e-5", "--rounds 0 is invalid: must be at least 1")]
    [InlineData("--target-epsilon 1 --rounds 5 --delta 1e-5 --sampling-rate 0", "--sampling-rate 0 is invalid: must be in (0, 1]")]
    [InlineData("--target-epsilon 1 --rounds 5 --delta 1e-5 --accountant exact --sampling-rate 0.1", "--sampling-rate 0.1 is invalid: the exact accountant")]
    [InlineData("--target-epsilon 1e-9 --rounds 100000 --delta 1e-5", "--target-epsilon 1E-09 cannot be met")]
    public async Task Calibrate_BadArgument_ExitsWithCodeTwoNamingTheOption(string args, string message)
    {
        var run = await RunAsync(["privacy", "calibrate", .. args.Split(' ')]);

        AssertRefused(run, message);
    }

    [Theory]
    [InlineData("epsilon", "--rounds", "5", "--delta", "1e-5")]
    [InlineData("epsilon", "--noise-multiplier", "1", "--delta", "1e-5")]
    [InlineData("epsilon", "--noise-multiplier", "1", "--rounds", "5")]
    [InlineData("epsilon", "--noise-multiplier", "1", "--rounds", "5", "--delta", "1e-5", "--accountant", "moments")]
    [InlineData("calibrate", "--rounds", "5", "--delta", "1e-5")]
    [InlineData("calibrate", "--target-epsilon", "1", "--rounds", "2.5", "--delta", "1e-5")]
    public void Parse_MissingOrMalformedOption_ReportsErrors(params string[] args)
    {
        var result = Program.BuildRoot().Parse(["privacy", .. args]);

        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public async Task Epsilon_DefaultInvocation_WritesJsonToConsoleOut()
    {
        // The path `securefed` itself takes: no writers passed, so output goes to Console.Out.
        var output = new StringWriter();
        var saved = Console.Out;
        int code;
        try
        {
            Console.SetOut(output);
            code = await Program.BuildRoot().Parse(["privacy", "epsilon", "--noise-multiplier", "2", "--rounds", "10", "--delta", "1e-5", "--accountant", "exact", "--json"])
                .InvokeAsync()
                .WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            Console.SetOut(saved);
        }

        Assert.Equal(0, code);
        using var json = LastJson(output.ToString());
        Assert.Equal(ExactGaussianAccountant.ComputeEpsilon([(2.0, 1.0, 10)], 1e-5), json.RootElement.GetProperty("epsilon").GetDouble());
    }

    [Fact]
    public async Task Epsilon_PldOnMnistPoint_GivesDpAccountingFigureBelowRdp()
    {
        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", "1.1", "--sampling-rate", MnistSamplingRate,
            "--rounds", "14063", "--delta", "1e-5", "--accountant", "pld", "--json");

        Assert.Equal(0, run.Code);
        using var json = LastJson(run.Output);
        var root = json.RootElement;
        Assert.Equal("pld", root.GetProperty("accountant").GetString());
        // dp_accounting's PLD accountant gives 2.381779 here (RDP: 2.5967).
        Assert.InRange(root.GetProperty("epsilon").GetDouble(), 2.381779 * 0.999, 2.381779 * 1.005);
        Assert.Equal(PldAccountant.DefaultValueDiscretizationInterval, root.GetProperty("value_discretization_interval").GetDouble());
    }

    [Fact]
    public async Task Epsilon_Unbounded_JsonSaysInfinityAndExitsWithDocumentedCode()
    {
        // Delta below the PLD's truncated tail mass: no finite epsilon.
        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", "0.5", "--sampling-rate", "0.5",
            "--rounds", "10", "--delta", "1e-30", "--accountant", "pld", "--json");

        Assert.Equal(3, run.Code);
        using var json = LastJson(run.Output);
        Assert.Equal("infinity", json.RootElement.GetProperty("epsilon").GetString());
        var error = run.Error.TrimEnd();
        Assert.StartsWith("error: epsilon is infinite with --accountant pld", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public async Task Epsilon_UnboundedTable_PrintsOneErrorLineNoTable()
    {
        var run = await RunAsync("privacy", "epsilon", "--noise-multiplier", "0.5", "--sampling-rate", "0.5",
            "--rounds", "10", "--delta", "1e-30", "--accountant", "pld");

        Assert.Equal(3, run.Code);
        Assert.Equal("", run.Output);
        Assert.Contains("exceeds delta", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Epsilon_Help_DocumentsTheUnboundedExitCodeAndJsonValue()
    {
        var epsilon = Program.BuildRoot().Subcommands.Single(c => c.Name == "privacy").Subcommands.Single(c => c.Name == "epsilon");

        Assert.Contains("3 epsilon is infinite", epsilon.Description, StringComparison.Ordinal);
        Assert.Contains("\"epsilon\": \"infinity\"", epsilon.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calibrate_Pld_RoundTripsThroughEpsilon()
    {
        // q = 1 keeps the PLD grid small, so the ~25 evaluations of the bisection stay quick.
        var run = await RunAsync("privacy", "calibrate", "--target-epsilon", "2", "--sampling-rate", "1",
            "--rounds", "10", "--delta", "1e-5", "--accountant", "pld", "--json");

        Assert.Equal(0, run.Code);
        using var json = LastJson(run.Output);
        double z = json.RootElement.GetProperty("noise_multiplier").GetDouble();
        Assert.True(PldAccountant.ComputeEpsilon([(z, 1.0, 10)], 1e-5) <= 2.0);
        Assert.True(PldAccountant.ComputeEpsilon([(z - 1e-3, 1.0, 10)], 1e-5) > 2.0);
        Assert.True(z < NoiseCalibrator.Calibrate(2.0, 1e-5, 10, 1.0, AccountantKind.Rdp), "pld needs less noise than rdp");
        Assert.True(z >= NoiseCalibrator.Calibrate(2.0, 1e-5, 10, 1.0, AccountantKind.Exact) - 1e-6, "pld never below exact");
    }

    [Fact]
    public async Task Calibrate_OutOfReachForRdp_NamesAnAccountantThatReachesIt()
    {
        // A target that RDP misses at the largest noise searched but the tighter exact curve meets (q = 1).
        (double, double, int)[] mostNoise = [(NoiseCalibrator.MaxNoiseMultiplier, 1.0, 100000)];
        double rdp = RdpAccountant.ComputeEpsilon(mostNoise, 1e-5);
        double exact = ExactGaussianAccountant.ComputeEpsilon(mostNoise, 1e-5);
        Assert.True(exact < rdp);
        double target = (rdp + exact) / 2.0;

        var run = await RunAsync("privacy", "calibrate", "--target-epsilon", Invariant(target), "--rounds", "100000",
            "--delta", "1e-5", "--accountant", "rdp");

        AssertRefused(run, "cannot be met with --accountant rdp");
        Assert.Contains("--accountant exact reaches it with --noise-multiplier ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calibrate_OutOfReachForAll_SaysNoAccountantReachesIt()
    {
        var run = await RunAsync("privacy", "calibrate", "--target-epsilon", "1e-9", "--rounds", "100000", "--delta", "1e-5");

        AssertRefused(run, "no accountant (rdp, exact, pld) reaches it");
    }

    private static void AssertRefused(Run run, string message)
    {
        Assert.Equal(2, run.Code);
        var error = run.Error.TrimEnd();
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Equal("", run.Output);
    }

    private static async Task<Run> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.BuildRoot().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return new Run(code, output.ToString(), error.ToString());
    }

    private static JsonDocument LastJson(string output)
    {
        var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
        Assert.NotNull(line);
        return JsonDocument.Parse(line);
    }

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record Run(int Code, string Output, string Error);
}
