using Xunit.Abstractions;

namespace SecureFed.Training.Tests;

/// <summary>The product's accuracy acceptance thresholds, reached with <see cref="TrainingSettings.DefaultFor"/>.</summary>
public sealed class FederatedAveragingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FedAvg_BreastCancerFiveIidSilosTwentyRounds_ReachesAtLeast93Percent(int seed)
    {
        var settings = TrainingSettings.DefaultFor(DatasetCatalog.BreastCancer, ModelSpec.LogReg);

        var outcome = FedAvgHarness.Run(DatasetCatalog.BreastCancer, ModelSpec.LogReg, PartitionSpec.Iid, silos: 5, rounds: 20, settings, seed);

        output.WriteLine($"breast-cancer logreg seed {seed}: accuracy {outcome.Held.Accuracy:F4}, loss {outcome.Held.Loss:F4}");
        Assert.True(outcome.Held.Accuracy >= 0.93, $"held-out accuracy {outcome.Held.Accuracy:F4}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FedAvg_DigitsMlpFiveIidSilosTwentyRounds_ReachesAtLeast90Percent(int seed)
    {
        var settings = TrainingSettings.DefaultFor(DatasetCatalog.Digits, ModelSpec.Mlp);

        var outcome = FedAvgHarness.Run(DatasetCatalog.Digits, ModelSpec.Mlp, PartitionSpec.Iid, silos: 5, rounds: 20, settings, seed);

        output.WriteLine($"digits mlp seed {seed}: accuracy {outcome.Held.Accuracy:F4}, loss {outcome.Held.Loss:F4}");
        Assert.True(outcome.Held.Accuracy >= 0.90, $"held-out accuracy {outcome.Held.Accuracy:F4}");
    }

    [Fact]
    public void Train_CentralizedLogisticRegressionOnBreastCancer_ReachesAbout97Percent()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        var split = DatasetSplitter.TrainTest(TestData.BreastCancer, 0.2, seed: 1);
        var standardizer = Standardizer.Fit(split.Train);
        var spec = ModelSpec.For(split.Train, ModelSpec.LogReg);

        var result = LocalTrainer.Train(
            spec, ModelFactory.InitialParameters(spec, 1), standardizer.Apply(split.Train), new TrainingSettings { Epochs = 20, LearningRate = 0.05, Seed = 1 });
        var held = Evaluator.Evaluate(spec, result.NewParameters, standardizer.Apply(split.Test));

        output.WriteLine($"centralized breast-cancer logreg: accuracy {held.Accuracy:F4}, loss {held.Loss:F4}");
        Assert.True(held.Accuracy >= 0.95, $"held-out accuracy {held.Accuracy:F4}");
    }
}
