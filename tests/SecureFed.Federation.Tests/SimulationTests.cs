using System.Text.Json;
using SecureFed.Hosting;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>The whole product end to end: real data, real TorchSharp training, coordinator and agents over loopback mTLS.</summary>
public sealed class SimulationTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "securefed-sim-tests", Guid.NewGuid().ToString("N"));

    public SimulationTests()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
    }

    [Fact]
    public async Task Simulate_BreastCancerFiveSilosTwentyRounds_ReachesAccuracyAndWritesSummary()
    {
        var options = new SimulationOptions { Dataset = "breast-cancer", Silos = 5, Rounds = 20, OutputDirectory = _out };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(20, result.Outcome.RoundsCompleted);
        Assert.True(result.Outcome.FinalAccuracy >= 0.93, $"held-out accuracy {result.Outcome.FinalAccuracy:F4} < 0.93");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "summary.json")));
        var root = summary.RootElement;
        Assert.Equal(result.Outcome.FinalAccuracy, root.GetProperty("final_accuracy").GetDouble(), 10);
        Assert.Equal(20, root.GetProperty("rounds_completed").GetInt32());
        Assert.Equal(5, root.GetProperty("silos").GetInt32());
        Assert.Equal("breast-cancer", root.GetProperty("dataset").GetString());
        Assert.Equal(20, root.GetProperty("rounds").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(_out, "federation.db")));
        Assert.Empty(Directory.GetFiles(_out, "*.pem", SearchOption.AllDirectories)); // run certificates stay in memory
    }

    [Fact]
    public async Task Simulate_DigitsMlpFiveSilos_ReachesAccuracy()
    {
        var options = new SimulationOptions { Dataset = "digits", Silos = 5, Rounds = 12, Model = "mlp", OutputDirectory = _out };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(12, result.Outcome.RoundsCompleted);
        Assert.True(result.Outcome.FinalAccuracy >= 0.90, $"held-out accuracy {result.Outcome.FinalAccuracy:F4} < 0.90");
    }

    [Fact]
    public async Task Simulate_ExistingOutputFolder_RefusesToOverwrite()
    {
        Directory.CreateDirectory(_out);
        await File.WriteAllTextAsync(Path.Combine(_out, "federation.db"), "");
        var options = new SimulationOptions { Silos = 2, Rounds = 1, OutputDirectory = _out };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => FederationSimulation.RunAsync(options, null, CancellationToken.None));

        Assert.Contains("already holds a federation", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("label-skew:0.5")]
    [InlineData("feature:mean_radius")]
    public async Task Simulate_NonIidPartitions_CompleteEveryRound(string partition)
    {
        var options = new SimulationOptions { Silos = 3, Rounds = 3, Partition = partition, OutputDirectory = _out };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(3, result.Outcome.RoundsCompleted);
        Assert.All(result.Outcome.Rounds, r => Assert.Equal(3, r.Contributors));
        Assert.True(result.Outcome.FinalAccuracy > 0.6, $"accuracy {result.Outcome.FinalAccuracy:F4}");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_out, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing written
        }
    }
}
