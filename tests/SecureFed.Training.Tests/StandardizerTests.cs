namespace SecureFed.Training.Tests;

public sealed class StandardizerTests
{
    [Fact]
    public void Apply_OnFittedData_GivesMeanZeroAndStdOnePerFeature()
    {
        var data = TestData.GermanCredit;

        var standardized = Standardizer.Fit(data).Apply(data);

        for (var c = 0; c < data.FeatureCount; c++)
        {
            var column = Enumerable.Range(0, data.RowCount).Select(r => (double)standardized.GetRow(r)[c]).ToArray();
            var mean = column.Average();
            var std = Math.Sqrt(column.Average(v => (v - mean) * (v - mean)));
            Assert.InRange(mean, -1e-4, 1e-4);
            var constant = Enumerable.Range(1, data.RowCount - 1).All(r => data.GetRow(r)[c] == data.GetRow(0)[c]);
            Assert.InRange(std, constant ? 0 : 1 - 1e-3, constant ? 0 : 1 + 1e-3);
        }

        Assert.Equal(data.Labels, standardized.Labels);
    }

    [Fact]
    public void Fit_ConstantFeature_DividesByOne()
    {
        var data = new TabularDataset("c", ["k", "v"], [5f, 1f, 5f, 3f], [0, 1], classCount: 2);

        var standardizer = Standardizer.Fit(data);
        var applied = standardizer.Apply(data);

        Assert.Equal(1f, standardizer.StandardDeviations[0]);
        Assert.Equal([0f, -1f, 0f, 1f], applied.Features.ToArray());
    }

    [Fact]
    public void Pool_OfSiloStatistics_EqualsFitOnAllRows()
    {
        var data = TestData.BreastCancer;
        var parts = Partitioner.Partition(data, 4, PartitionSpec.LabelSkew(0.5), seed: 3);

        var pooled = Standardizer.Pool(parts.Select(Standardizer.Fit).ToArray());
        var whole = Standardizer.Fit(data);

        Assert.Equal(whole.Count, pooled.Count);
        for (var c = 0; c < data.FeatureCount; c++)
        {
            Assert.Equal(whole.Means[c], pooled.Means[c], whole.StandardDeviations[c] * 1e-5f);
            Assert.Equal(whole.StandardDeviations[c], pooled.StandardDeviations[c], whole.StandardDeviations[c] * 1e-5f);
        }
    }

    [Fact]
    public void Apply_WrongFeatureCount_Throws()
    {
        var standardizer = Standardizer.Fit(TestData.BreastCancer);

        Assert.Throws<ArgumentException>(() => standardizer.Apply(TestData.GermanCredit));
    }
}
