namespace SecureFed.Training.Tests;

/// <summary>Bundled datasets, loaded once per test run (datasets are immutable, so sharing is safe).</summary>
internal static class TestData
{
    private static readonly Lazy<string> Directory = new(DatasetCatalog.FindDataDirectory);
    private static readonly Lazy<TabularDataset> BreastCancerLazy = new(() => DatasetCatalog.Load(DatasetCatalog.BreastCancer, DataDirectory));
    private static readonly Lazy<TabularDataset> GermanCreditLazy = new(() => DatasetCatalog.Load(DatasetCatalog.GermanCredit, DataDirectory));
    private static readonly Lazy<TabularDataset> DigitsLazy = new(() => DatasetCatalog.Load(DatasetCatalog.Digits, DataDirectory));

    public static string DataDirectory => Directory.Value;

    public static TabularDataset BreastCancer => BreastCancerLazy.Value;

    public static TabularDataset GermanCredit => GermanCreditLazy.Value;

    public static TabularDataset Digits => DigitsLazy.Value;

    public static TabularDataset Get(string name) => name switch
    {
        DatasetCatalog.BreastCancer => BreastCancer,
        DatasetCatalog.GermanCredit => GermanCredit,
        DatasetCatalog.Digits => Digits,
        _ => throw new ArgumentException(name, nameof(name)),
    };
}

/// <summary>FedAvg by hand (McMahan et al. 2017): example-weighted mean of the silos' deltas added to the global model.</summary>
internal static class FedAvgHarness
{
    public sealed record Outcome(EvaluationResult Held, IReadOnlyList<double> AccuracyByRound, float[] Global);

    public static Outcome Run(string datasetName, string kind, PartitionSpec partition, int silos, int rounds, TrainingSettings settings, int seed, bool trackRounds = false)
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        var split = DatasetSplitter.TrainTest(TestData.Get(datasetName), 0.2, seed);
        var parts = Partitioner.Partition(split.Train, silos, partition, seed);
        var standardizers = parts.Select(Standardizer.Fit).ToArray();
        var siloData = parts.Select((p, i) => standardizers[i].Apply(p)).ToArray();
        var test = Standardizer.Pool(standardizers).Apply(split.Test);
        var spec = ModelSpec.For(split.Train, kind);
        var global = ModelFactory.InitialParameters(spec, seed);
        var history = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var sum = new double[global.Length];
            long weight = 0;
            for (var s = 0; s < silos; s++)
            {
                var result = LocalTrainer.Train(spec, global, siloData[s], settings with { Seed = (round * 1000) + s });
                for (var i = 0; i < sum.Length; i++)
                {
                    sum[i] += result.Delta[i] * (double)result.Examples;
                }

                weight += result.Examples;
            }

            for (var i = 0; i < global.Length; i++)
            {
                global[i] += (float)(sum[i] / weight);
            }

            if (trackRounds)
            {
                history.Add(Evaluator.Evaluate(spec, global, test).Accuracy);
            }
        }

        return new Outcome(Evaluator.Evaluate(spec, global, test), history, global);
    }
}
