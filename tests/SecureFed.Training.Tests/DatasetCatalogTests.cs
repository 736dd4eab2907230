namespace SecureFed.Training.Tests;

public sealed class DatasetCatalogTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("securefed-training-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Load_BreastCancer_Has569RowsOf30FeaturesAnd212Malignant()
    {
        var data = TestData.BreastCancer;

        Assert.Equal(569, data.RowCount);
        Assert.Equal(30, data.FeatureCount);
        Assert.Equal(2, data.ClassCount);
        Assert.Equal([357, 212], data.CountByClass());
        Assert.Equal("mean_radius", data.FeatureNames[0]);
        Assert.Equal(17.99f, data.GetRow(0)[0]);
        Assert.Equal(1, data.Labels[0]);
        Assert.Equal(DatasetCatalog.BreastCancer, data.Name);
    }

    [Fact]
    public void Load_GermanCredit_Has1000RowsOf63Features()
    {
        var data = TestData.GermanCredit;

        Assert.Equal(1000, data.RowCount);
        Assert.Equal(63, data.FeatureCount);
        Assert.Equal([700, 300], data.CountByClass());
    }

    [Fact]
    public void Load_Digits_Has1797RowsOf64FeaturesScaledToUnitInterval()
    {
        var data = TestData.Digits;

        Assert.Equal(1797, data.RowCount);
        Assert.Equal(64, data.FeatureCount);
        Assert.Equal(10, data.ClassCount);
        var features = data.Features.ToArray();
        Assert.Equal(0f, features.Min());
        Assert.Equal(1f, features.Max());
        Assert.Equal(5f / 16f, data.GetRow(0)[2]);
    }

    [Fact]
    public void Load_UnknownName_ThrowsListingKnownNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("mnist", TestData.DataDirectory));

        Assert.Contains("mnist", ex.Message, StringComparison.Ordinal);
        foreach (var known in DatasetCatalog.KnownNames)
        {
            Assert.Contains(known, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_MissingFile_ThrowsSayingWhereItLooked()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Load(DatasetCatalog.Digits, _temp));

        Assert.Contains(Path.Combine(_temp, "digits", "digits.csv"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BundledNameWithWrongFeatureCount_ThrowsOnHeaderLine()
    {
        Directory.CreateDirectory(Path.Combine(_temp, "breast_cancer"));
        File.WriteAllText(Path.Combine(_temp, "breast_cancer", "breast_cancer.csv"), "a,b,malignant\n1,2,0\n");

        var ex = Assert.Throws<DatasetFormatException>(() => DatasetCatalog.Load(DatasetCatalog.BreastCancer, _temp));

        Assert.Equal(1, ex.LineNumber);
        Assert.Contains("30", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a,b,label\n1,2,0\n1,x,1\n", 3, 2, "'x'")]
    [InlineData("a,b,label\n1,2,0\n1,2\n", 3, null, "2 values")]
    [InlineData("a,b,label\n1,2,0\n1,2,1,4\n", 3, 4, "too many")]
    [InlineData("a,b,label\n1,2,0\n1,2,7\n", 3, 3, "label 7")]
    [InlineData("a,b,label\n1,2,0\n1,2,0.5\n", 3, 3, "not an integer")]
    [InlineData("a,b,label\n1,NaN,0\n", 2, 2, "not a finite number")]
    [InlineData("a,b,label\n1,,0\n", 2, 2, "column 'b'")]
    [InlineData("a,b,label\n1,2,0\n\n1,2,1\n", 3, null, "blank line")]
    [InlineData("a,a,label\n1,2,0\n", 1, 2, "duplicate")]
    [InlineData("a,b,label\n", 1, null, "no data rows")]
    [InlineData("", 1, null, "empty")]
    public void LoadCsv_MalformedFile_ThrowsWithFileLineAndColumn(string content, int line, int? column, string fragment)
    {
        var path = Path.Combine(_temp, "bad.csv");
        File.WriteAllText(path, content);

        var ex = Assert.Throws<DatasetFormatException>(() => DatasetCatalog.LoadCsv(path, "bad", classCount: 2));

        Assert.Equal(path, ex.FilePath);
        Assert.Equal(line, ex.LineNumber);
        Assert.Equal(column, ex.Column);
        Assert.StartsWith($"{path}: line {line}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCsv_WellFormedWithTrailingNewlineAndCrLf_LoadsScaled()
    {
        var path = Path.Combine(_temp, "ok.csv");
        File.WriteAllText(path, "a,b,label\r\n1,2,0\r\n3,4,1\r\n\r\n");

        var data = DatasetCatalog.LoadCsv(path, "ok", classCount: 2, featureScale: 0.5f);

        Assert.Equal(2, data.RowCount);
        Assert.Equal([0.5f, 1f, 1.5f, 2f], data.Features.ToArray());
        Assert.Equal([0, 1], data.Labels);
    }

    [Fact]
    public void FindDataDirectory_FromTestOutput_FindsRepositoryDataFolder()
    {
        var dir = DatasetCatalog.FindDataDirectory();

        Assert.Equal("data", Path.GetFileName(dir));
        Assert.True(File.Exists(Path.Combine(dir, "digits", "digits.csv")));
    }

    [Fact]
    public void Constructor_LabelOutOfRange_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TabularDataset("t", ["a"], [1f, 2f], [0, 2], classCount: 2));

        Assert.Contains("row 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_InputArraysChangedAfterwards_DatasetUnchanged()
    {
        float[] features = [1f, 2f];
        int[] labels = [0, 1];
        var data = new TabularDataset("t", ["a"], features, labels, classCount: 2);

        features[0] = 99f;
        labels[0] = 1;

        Assert.Equal(1f, data.GetRow(0)[0]);
        Assert.Equal(0, data.Labels[0]);
    }
}
