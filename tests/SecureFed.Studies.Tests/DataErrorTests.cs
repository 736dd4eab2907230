namespace SecureFed.Studies.Tests;

public sealed class DataErrorTests : IDisposable
{
    private const string Header = "readmitted,age,ward\n";

    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("no,1,5,north\n", 2, null, null, "fields")]
    [InlineData("no,\"1,5\",north\n", 2, "age", "1,5", "decimal point")]
    [InlineData("no,\"1,000\",north\n", 2, "age", "1,000", "digit grouping")]
    [InlineData("no,NaN,north\n", 2, "age", "NaN", "finite")]
    [InlineData("no,Infinity,north\n", 2, "age", "Infinity", "finite")]
    [InlineData("no,1e999,north\n", 2, "age", "1e999", "finite")]
    [InlineData("no,abc,north\n", 2, "age", "abc", "not a number")]
    [InlineData("maybe,1,north\n", 2, "readmitted", "maybe", "[\"no\", \"yes\"]")]
    [InlineData("No,1,north\n", 2, "readmitted", "No", "label classes")]
    [InlineData(",1,north\n", 2, "readmitted", "", "missing")]
    [InlineData("no,1,west\n", 2, "ward", "west", "[\"north\", \"south\", \"east\"]")]
    [InlineData("no,1,north\nyes,2,south\nyes,x\u0001y,south\n", 4, "age", "x?y", "not a number")]
    public void Read_BadRow_NamesFileLineColumnValue(string rows, int line, string? column, string? value, string hint)
    {
        var path = _files.Write("bad.csv", Header + rows);

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(path, error.File);
        Assert.Equal(line, error.Line);
        Assert.Equal(column, error.Column);
        Assert.Equal(value, error.Value);
        Assert.StartsWith($"{path}: line {line}", error.Message, StringComparison.Ordinal);
        if (column is not null)
        {
            Assert.Contains($"column \"{column}\"", error.Message, StringComparison.Ordinal);
        }

        if (value is not null)
        {
            Assert.Contains($"value \"{value}\"", error.Message, StringComparison.Ordinal);
        }

        Assert.Contains(hint, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Read_BadRowAfterQuotedFieldSpanningTwoLines_NamesPhysicalLine()
    {
        var path = _files.Write("q.csv",
            "readmitted,note,age,ward\n" +
            "no,\"first line\nsecond line\",1,north\n" +
            "yes,ok,1;5,south\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(4, error.Line);
        Assert.Equal("age", error.Column);
        Assert.Equal("1;5", error.Value);
    }

    [Fact]
    public void Read_BadRowAfterMultilineFieldWithCrlf_NamesPhysicalLine()
    {
        var path = _files.Write("q.csv",
            "readmitted;note;age;ward\r\n" +
            "no;\"a\r\nb\r\nc\";1;north\r\n" +
            "yes;ok;1;mid\r\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(5, error.Line);
        Assert.Equal("ward", error.Column);
    }

    [Fact]
    public void Read_LabelColumnMissing_ListsHeaderNames()
    {
        var path = _files.Write("h.csv", "outcome,age,ward\nno,1,north\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(1, error.Line);
        Assert.Equal("readmitted", error.Column);
        Assert.Contains("[\"outcome\", \"age\", \"ward\"]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_FeatureColumnMissing_NamesIt()
    {
        var path = _files.Write("h.csv", "readmitted,age,wards\nno,1,north\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(1, error.Line);
        Assert.Equal("ward", error.Column);
        Assert.Contains("line 1, column \"ward\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DuplicateUsedHeader_IsRefusedButUnusedDuplicateIsNot()
    {
        var bad = _files.Write("d.csv", "readmitted,age,ward,age\nno,1,north,2\n");
        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, bad));
        Assert.Equal(1, error.Line);
        Assert.Equal("age", error.Column);
        Assert.Contains("fields 2, 4", error.Message, StringComparison.Ordinal);

        var ok = _files.Write("ok.csv", "readmitted,x,age,ward,x\nno,a,1,north,b\n");
        Assert.Equal(1, SiloTable.Read(TestFiles.Example, ok).RowCount);
    }

    [Fact]
    public void Read_EmptyFile_IsRefused()
    {
        var path = _files.Write("e.csv", string.Empty);

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(1, error.Line);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_HeaderOnly_IsRefused()
    {
        var path = _files.Write("h.csv", Header);

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Contains("no data rows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AmbiguousSeparator_AsksForIt()
    {
        var path = _files.Write("s.csv", "readmitted\nno\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Contains("--separator", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingFile_ThrowsFileNotFound()
    {
        var path = Path.Combine(_files.Directory, "nope.csv");

        var error = Assert.Throws<FileNotFoundException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_LongValue_IsCutTo40Characters()
    {
        var path = _files.Write("l.csv", Header + "no," + new string('x', 100) + ",north\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Equal(40, error.Value!.Length);
    }

    [Fact]
    public void Read_NotParquet_IsRefused()
    {
        var path = _files.Write("x.parquet", "readmitted,age,ward\nno,1,north\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));

        Assert.Contains("Parquet", error.Message, StringComparison.Ordinal);
    }
}
