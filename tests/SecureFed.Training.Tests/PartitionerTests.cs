namespace SecureFed.Training.Tests;

public sealed class PartitionerTests
{
    public static TheoryData<string> Specs => new() { "iid", "label-skew:0.5", "label-skew:0.1", "feature:x" };

    /// <summary>600 rows, feature "id" = row index (to trace rows), "x" a shuffled value, 3 imbalanced classes.</summary>
    private static TabularDataset Synthetic()
    {
        const int Rows = 600;
        var random = new Random(7);
        var features = new float[Rows * 2];
        var labels = new int[Rows];
        for (var i = 0; i < Rows; i++)
        {
            features[2 * i] = i;
            features[(2 * i) + 1] = random.Next(100);
            labels[i] = i % 6 switch { 0 or 1 or 2 => 0, 3 or 4 => 1, _ => 2 };
        }

        return new TabularDataset("synthetic", ["id", "x"], features, labels, classCount: 3);
    }

    private static int[] Ids(TabularDataset part) =>
        Enumerable.Range(0, part.RowCount).Select(r => (int)part.GetRow(r)[0]).ToArray();

    [Theory]
    [MemberData(nameof(Specs))]
    public void Partition_AnySpec_IsDisjointAndCovering(string spec)
    {
        var data = Synthetic();

        var parts = Partitioner.Partition(data, 7, PartitionSpec.Parse(spec), seed: 3);

        Assert.Equal(7, parts.Count);
        var all = parts.SelectMany(Ids).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, data.RowCount), all);
        foreach (var part in parts)
        {
            // labels travel with their rows
            Assert.All(Enumerable.Range(0, part.RowCount), r => Assert.Equal(data.Labels[(int)part.GetRow(r)[0]], part.Labels[r]));
        }
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Partition_SameSeed_IsIdentical(string spec)
    {
        var data = Synthetic();

        var a = Partitioner.Partition(data, 5, PartitionSpec.Parse(spec), seed: 11);
        var b = Partitioner.Partition(data, 5, PartitionSpec.Parse(spec), seed: 11);

        Assert.Equal(a.Select(Ids), b.Select(Ids));
    }

    [Theory]
    [InlineData("iid")]
    [InlineData("label-skew:0.5")]
    public void Partition_DifferentSeed_Differs(string spec)
    {
        var data = Synthetic();

        var a = Partitioner.Partition(data, 5, PartitionSpec.Parse(spec), seed: 1);
        var b = Partitioner.Partition(data, 5, PartitionSpec.Parse(spec), seed: 2);

        Assert.NotEqual(a.Select(Ids), b.Select(Ids));
    }

    [Fact]
    public void Partition_Iid_SizesDifferByAtMostOne()
    {
        var parts = Partitioner.Partition(TestData.BreastCancer, 5, PartitionSpec.Iid, seed: 1);

        Assert.Equal([114, 114, 114, 114, 113], parts.Select(p => p.RowCount));
        Assert.Equal("breast-cancer/silo-1", parts[0].Name);
    }

    [Fact]
    public void Partition_LabelSkew_LabelDistributionsDivergeFarMoreThanIid()
    {
        var data = TestData.Digits;

        var skewed = MeanTotalVariation(data, Partitioner.Partition(data, 5, PartitionSpec.LabelSkew(0.3), seed: 5));
        var iid = MeanTotalVariation(data, Partitioner.Partition(data, 5, PartitionSpec.Iid, seed: 5));

        Assert.True(iid < 0.1, $"IID silos should look like the whole dataset (TV {iid:F3})");
        Assert.True(skewed > 0.3, $"label-skew:0.3 silos should differ strongly from the whole dataset (TV {skewed:F3})");
    }

    [Fact]
    public void Partition_LabelSkewExtreme_EverySiloGetsTheMinimumRows()
    {
        var data = TestData.BreastCancer;

        var parts = Partitioner.Partition(data, 10, PartitionSpec.LabelSkew(0.01), seed: 4);

        Assert.All(parts, p => Assert.True(p.RowCount >= PartitionSpec.DefaultMinRowsPerSilo, $"{p.Name} has {p.RowCount} rows"));
        Assert.Equal(data.RowCount, parts.Sum(p => p.RowCount));
    }

    [Fact]
    public void Partition_FeatureMeanRadius_SilosHoldOrderedContiguousRanges()
    {
        var data = TestData.BreastCancer;
        var column = data.FeatureIndex("mean_radius");

        var parts = Partitioner.Partition(data, 4, PartitionSpec.Parse("feature:mean_radius"), seed: 0);

        var ranges = parts.Select(p => Enumerable.Range(0, p.RowCount).Select(r => p.GetRow(r)[column]).ToArray())
            .Select(v => (Min: v.Min(), Max: v.Max())).ToArray();
        for (var i = 0; i + 1 < ranges.Length; i++)
        {
            Assert.True(ranges[i].Max <= ranges[i + 1].Min, $"silo {i + 1} max {ranges[i].Max} > silo {i + 2} min {ranges[i + 1].Min}");
        }

        Assert.True(ranges[0].Max < ranges[^1].Min);
        Assert.Equal([143, 142, 142, 142], parts.Select(p => p.RowCount));
    }

    [Fact]
    public void Partition_UnknownFeature_ThrowsListingFeatures()
    {
        var ex = Assert.Throws<ArgumentException>(() => Partitioner.Partition(TestData.BreastCancer, 3, PartitionSpec.Feature("radius"), seed: 0));

        Assert.Contains("'radius'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("mean_radius", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Partition_MoreSilosThanMinimumRowsAllow_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.Partition(TestData.BreastCancer, 57, PartitionSpec.LabelSkew(1), seed: 0));

        Assert.Contains("569", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioner.Partition(TestData.BreastCancer, 0, PartitionSpec.Iid, seed: 0));
    }

    [Theory]
    [InlineData("iid", PartitionKind.Iid, 0, null)]
    [InlineData(" IID ", PartitionKind.Iid, 0, null)]
    [InlineData("label-skew:0.5", PartitionKind.LabelSkew, 0.5, null)]
    [InlineData("label-skew:2", PartitionKind.LabelSkew, 2, null)]
    [InlineData("feature:mean_radius", PartitionKind.Feature, 0, "mean_radius")]
    public void Parse_ValidText_GivesSpecThatRoundTrips(string text, PartitionKind kind, double alpha, string? feature)
    {
        var spec = PartitionSpec.Parse(text);

        Assert.Equal(kind, spec.Kind);
        Assert.Equal(alpha, spec.Alpha);
        Assert.Equal(feature, spec.FeatureName);
        Assert.Equal(spec, PartitionSpec.Parse(spec.ToString()));
    }

    [Theory]
    [InlineData("", "Unknown partition")]
    [InlineData("dirichlet:0.5", "Unknown partition")]
    [InlineData("iid:3", "no argument")]
    [InlineData("label-skew", "needs an alpha")]
    [InlineData("label-skew:abc", "'abc'")]
    [InlineData("label-skew:-1", "'-1'")]
    [InlineData("label-skew:0", "'0'")]
    [InlineData("label-skew:NaN", "'NaN'")]
    [InlineData("feature:", "needs a feature name")]
    public void Parse_InvalidText_ThrowsFormatExceptionExplainingForms(string text, string fragment)
    {
        var ex = Assert.Throws<FormatException>(() => PartitionSpec.Parse(text));

        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    private static double MeanTotalVariation(TabularDataset whole, IReadOnlyList<TabularDataset> parts)
    {
        var global = Distribution(whole);
        return parts.Average(p => 0.5 * Distribution(p).Zip(global, (a, b) => Math.Abs(a - b)).Sum());
    }

    private static double[] Distribution(TabularDataset data) =>
        data.CountByClass().Select(c => (double)c / data.RowCount).ToArray();
}
