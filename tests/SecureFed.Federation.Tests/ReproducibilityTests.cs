using SecureFed.Hosting;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>
/// What <c>--seed</c> reproduces (README, "Reproducibility"): with plain aggregation the split, the initial model,
/// local training and the aggregate are functions of the seed, so two runs end on the same model hash; secure
/// aggregation's stochastic rounding draws from a cryptographic generator on purpose, so its runs differ.
/// </summary>
public sealed class ReproducibilityTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "securefed-repro-tests", Guid.NewGuid().ToString("N"));

    public ReproducibilityTests()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
    }

    [Fact]
    public async Task Simulate_PlainAggregationSameSeedTwice_SameFinalModel_AnotherSeedAnother()
    {
        var first = await RunAsync("plain", 7, "a");
        var second = await RunAsync("plain", 7, "b");
        var otherSeed = await RunAsync("plain", 8, "c");

        Assert.Equal(first.Outcome.FinalModelHash, second.Outcome.FinalModelHash);
        Assert.Equal(first.Outcome.FinalAccuracy, second.Outcome.FinalAccuracy);
        Assert.NotEqual(first.Outcome.FinalModelHash, otherSeed.Outcome.FinalModelHash);
    }

    [Fact]
    public async Task Simulate_SecureAggregationSameSeedTwice_ModelsDifferByStochasticRounding()
    {
        var first = await RunAsync("secure", 7, "a");
        var second = await RunAsync("secure", 7, "b");

        Assert.Equal(2, first.Outcome.RoundsCompleted);
        Assert.NotEqual(first.Outcome.FinalModelHash, second.Outcome.FinalModelHash);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_out, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // never created
        }
    }

    private Task<SimulationResult> RunAsync(string aggregation, int seed, string name) =>
        FederationSimulation.RunAsync(
            new SimulationOptions { Dataset = "breast-cancer", Silos = 3, Rounds = 2, Seed = seed, Aggregation = aggregation, OutputDirectory = Path.Combine(_out, name) },
            null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));
}
