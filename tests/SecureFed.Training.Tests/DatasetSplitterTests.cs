namespace SecureFed.Training.Tests;

public sealed class DatasetSplitterTests
{
    [Fact]
    public void TrainTest_BreastCancer_DisjointCoveringAndStratified()
    {
        var data = TestData.BreastCancer;

        var split = DatasetSplitter.TrainTest(data, 0.2, seed: 42);

        Assert.Equal(data.RowCount, split.Train.RowCount + split.Test.RowCount);
        Assert.Equal([71, 42], split.Test.CountByClass()); // round(357 * 0.2), round(212 * 0.2)
        var rows = RowKeys(split.Train).Concat(RowKeys(split.Test)).Order(StringComparer.Ordinal);
        Assert.Equal(RowKeys(data).Order(StringComparer.Ordinal), rows);
    }

    [Fact]
    public void TrainTest_SameSeed_SameSplitAndOtherSeedDiffers()
    {
        var data = TestData.Digits;

        var a = DatasetSplitter.TrainTest(data, 0.25, seed: 1);
        var b = DatasetSplitter.TrainTest(data, 0.25, seed: 1);
        var c = DatasetSplitter.TrainTest(data, 0.25, seed: 2);

        Assert.Equal(a.Test.Features.ToArray(), b.Test.Features.ToArray());
        Assert.NotEqual(a.Test.Features.ToArray(), c.Test.Features.ToArray());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void TrainTest_FractionOutsideOpenUnitInterval_Throws(double fraction)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetSplitter.TrainTest(TestData.BreastCancer, fraction, seed: 0));
    }

    /// <summary>Rows as strings: breast-cancer and digits rows are (almost) unique, so the multiset identifies the rows.</summary>
    private static IEnumerable<string> RowKeys(TabularDataset data) =>
        Enumerable.Range(0, data.RowCount).Select(r => string.Join(',', data.GetRow(r).ToArray()) + ":" + data.Labels[r]);
}
