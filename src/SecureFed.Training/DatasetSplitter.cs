using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>A train/test pair produced by <see cref="DatasetSplitter.TrainTest"/>.</summary>
/// <param name="Train">The training rows.</param>
/// <param name="Test">The held-out rows.</param>
public sealed record TrainTestSplit(TabularDataset Train, TabularDataset Test);

/// <summary>Stratified held-out splits. Deterministic for a seed. Thread-safe (stateless).</summary>
public static class DatasetSplitter
{
    /// <summary>
    /// Splits <paramref name="dataset"/> into disjoint train and test sets that together hold every row once. Within
    /// each class, round(<paramref name="testFraction"/> x class size) rows, chosen by a seeded shuffle, go to the test
    /// set, so both sets keep the class proportions. Rows keep their original order within each part.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="testFraction"/> is not in (0, 1).</exception>
    /// <exception cref="ArgumentException">One side would be empty.</exception>
    public static TrainTestSplit TrainTest(TabularDataset dataset, double testFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(testFraction > 0 && testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must lie strictly between 0 and 1.");
        }

        var random = new Random(seed);
        var isTest = new bool[dataset.RowCount];
        var labels = dataset.RawLabels;
        for (var c = 0; c < dataset.ClassCount; c++)
        {
            var members = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToArray();
            Sampling.Shuffle(members.AsSpan(), random);
            var take = (int)Math.Round(members.Length * testFraction, MidpointRounding.AwayFromZero);
            foreach (var i in members.AsSpan(0, take))
            {
                isTest[i] = true;
            }
        }

        var test = Enumerable.Range(0, labels.Length).Where(i => isTest[i]).ToArray();
        var train = Enumerable.Range(0, labels.Length).Where(i => !isTest[i]).ToArray();
        if (test.Length == 0 || train.Length == 0)
        {
            throw new ArgumentException(
                $"A test fraction of {testFraction} on {dataset.RowCount} rows leaves {train.Length} training and {test.Length} test rows; both must be non-empty.",
                nameof(testFraction));
        }

        return new TrainTestSplit(dataset.Subset(train, dataset.Name + "/train"), dataset.Subset(test, dataset.Name + "/test"));
    }
}
