using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>
/// How a bundled dataset is laid out across a demonstration consortium: a stratified held-out test set (for the
/// coordinator's evaluation) and the rest partitioned over the silos. Deterministic for a seed, so a coordinator
/// and agents started as separate processes derive the same split without sharing any data.
/// </summary>
/// <param name="Dataset">Dataset name (breast-cancer, german-credit, digits).</param>
/// <param name="Silos">Number of silos.</param>
/// <param name="Partition">Partition spec ("iid", "label-skew:ALPHA", "feature:NAME").</param>
/// <param name="Seed">Seed of the split and the partition.</param>
/// <param name="TestFraction">Fraction held out for evaluation.</param>
/// <param name="DataDirectory">Folder holding the bundled data (null: search upwards for data/).</param>
public sealed record FederatedData(string Dataset, int Silos, string Partition, int Seed, double TestFraction = 0.2, string? DataDirectory = null)
{
    /// <summary>Loads the dataset and splits it. Throws with a clear message on bad names, files or specs.</summary>
    public PreparedData Prepare()
    {
        if (Silos is < 1 or > 1000)
        {
            throw new ArgumentException($"silos = {Silos} is invalid: must be within 1..1000");
        }

        if (TestFraction is <= 0 or >= 1)
        {
            throw new ArgumentException($"test fraction = {TestFraction} is invalid: must be within (0, 1)");
        }

        var spec = PartitionSpec.Parse(Partition);
        var directory = DataDirectory ?? DatasetCatalog.FindDataDirectory();
        var all = DatasetCatalog.Load(Dataset, directory);
        var (train, test) = DatasetSplitter.TrainTest(all, TestFraction, Seed);
        var parts = Partitioner.Partition(train, Silos, spec, Seed);
        return new PreparedData(
            all.Name, all.FeatureCount, all.ClassCount,
            Standardizer.Fit(test).Apply(test),
            [.. parts.Select(p => Standardizer.Fit(p).Apply(p))]);
    }
}

/// <summary>A prepared split: the coordinator's standardized test set and each silo's standardized data.</summary>
public sealed record PreparedData(string Dataset, int FeatureCount, int ClassCount, TabularDataset Test, IReadOnlyList<TabularDataset> SiloData);
