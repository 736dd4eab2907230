namespace SecureFed.Studies.Tests;

public sealed class StatisticsTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private (SiloTable A, SiloTable B, SiloTable Pooled) Tables()
    {
        var a = _files.Write("a.csv", "readmitted,age,ward\nno,30,north\nyes,,south\nyes,50.5,\n");
        var b = _files.Write("b.csv", "ward,age,readmitted\neast,20,no\nnorth,NA,no\nsouth,81.25,yes\nnorth,40,yes\n");
        var pooled = _files.Write("p.csv", "readmitted,age,ward\nno,30,north\nyes,,south\nyes,50.5,\nno,20,east\nno,NA,north\nyes,81.25,south\nyes,40,north\n");
        var study = TestFiles.Example;
        return (SiloTable.Read(study, a), SiloTable.Read(study, b), SiloTable.Read(study, pooled));
    }

    [Fact]
    public void Local_SumOverSilos_EqualsLocalOverPooledRows()
    {
        var (a, b, pooled) = Tables();

        var sum = FeatureStatistics.Local(a).Zip(FeatureStatistics.Local(b), (x, y) => x + y).ToArray();

        Assert.Equal(FeatureStatistics.Local(pooled), sum);
        Assert.Equal(FeatureStatistics.Local(SiloTable.Concat([a, b])), sum);
        Assert.Equal(a.Study.StatisticsLength, sum.Length);
        // [rows, age count, sum, sumsq, north, south, east, missing ward, no, yes]
        Assert.Equal([7, 5, 221.75, (30 * 30) + (50.5 * 50.5) + (20 * 20) + (81.25 * 81.25) + (40 * 40), 3, 2, 1, 1, 3, 4], sum);
    }

    [Fact]
    public void FromSum_MeanAndStd_MatchDirectComputationOnPooledRows()
    {
        var (a, b, pooled) = Tables();
        var sum = FeatureStatistics.Local(a).Zip(FeatureStatistics.Local(b), (x, y) => x + y).ToArray();

        var stats = FeatureStatistics.FromSum(a.Study, sum);

        var ages = Enumerable.Range(0, pooled.RowCount).Select(r => pooled.NumericValue(r, 0)).Where(x => !double.IsNaN(x)).ToArray();
        var mean = ages.Average();
        var std = Math.Sqrt(ages.Select(x => (x - mean) * (x - mean)).Average());
        Assert.Equal(7, stats.Rows);
        Assert.Equal(mean, stats.Mean(0), 1e-9);
        Assert.Equal(std, stats.StandardDeviation(0), 1e-9);
        Assert.Equal(2, stats.MissingCount(0));
        Assert.Equal([3, 2, 1], stats.LevelCounts(1));
        Assert.Equal(1, stats.MissingCount(1));
        Assert.Equal([3, 4], stats.LabelCounts);
        Assert.Equal(sum, stats.Vector);
        Assert.Matches("^[0-9a-f]{64}$", stats.Hash);
        Assert.Equal(FeatureStatistics.HashVector(sum), stats.Hash);
        Assert.Equal(FeatureStatistics.MaxAbsEntry(sum), sum.Max());
    }

    [Fact]
    public void FromSum_ConstantOrEmptyFeature_GetsUnitScale()
    {
        var study = TestFiles.Example;
        var constant = new double[] { 2, 2, 10, 50, 1, 1, 0, 0, 1, 1 };
        var empty = new double[] { 2, 0, 0, 0, 1, 1, 0, 0, 1, 1 };

        Assert.Equal(1.0, FeatureStatistics.FromSum(study, constant).StandardDeviation(0));
        Assert.Equal(5.0, FeatureStatistics.FromSum(study, constant).Mean(0));
        Assert.Equal(0.0, FeatureStatistics.FromSum(study, empty).Mean(0));
        Assert.Equal(1.0, FeatureStatistics.FromSum(study, empty).StandardDeviation(0));
    }

    [Theory]
    [InlineData(new double[] { 1, 2, 3 }, "entries")]
    [InlineData(new double[] { 2, 2, double.NaN, 50, 1, 1, 0, 0, 1, 1 }, "finite")]
    [InlineData(new double[] { 2, 2, 10, 50, -1, 1, 0, 0, 1, 1 }, "negative")]
    [InlineData(new double[] { 2, 2, 10, -50, 1, 1, 0, 0, 1, 1 }, "negative")]
    [InlineData(new double[] { 2, 2, 10, 50, 1, 1, 0, 0, 1, -1 }, "negative")]
    public void FromSum_BadVector_Throws(double[] vector, string problem)
    {
        var error = Assert.Throws<ArgumentException>(() => FeatureStatistics.FromSum(TestFiles.Example, vector));

        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_ImputesMissingNumericsToZeroAndOneHotsWithMissingLevel()
    {
        var (a, b, pooled) = Tables();
        var stats = FeatureStatistics.FromSum(pooled.Study, FeatureStatistics.Local(pooled));
        var encoder = new StudyEncoder(pooled.Study, stats);

        var x = encoder.Encode(a);

        Assert.Equal(a.RowCount * 5, x.Length);
        Assert.Equal((float)((30 - stats.Mean(0)) / stats.StandardDeviation(0)), x[0]);
        Assert.Equal([1f, 0f, 0f, 0f], x[1..5]);
        Assert.Equal(0f, x[5]);
        Assert.Equal([0f, 1f, 0f, 0f], x[6..10]);
        Assert.Equal([0f, 0f, 0f, 1f], x[11..15]);
        Assert.Equal([stats.Mean(0)], encoder.Means);
        Assert.Equal([stats.StandardDeviation(0)], encoder.Scales);
        Assert.Equal(1, encoder.InputOffset(1));
        Assert.Equal([0, 1, 1], encoder.Labels(a));
        var all = encoder.Encode(b);
        for (var r = 0; r < b.RowCount; r++)
        {
            Assert.Equal(1f, all.AsSpan((r * 5) + 1, 4).ToArray().Sum());
        }
    }
}
