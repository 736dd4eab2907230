using Parquet;
using Parquet.Schema;

namespace SecureFed.Studies.Tests;

public sealed class SiloTableTests : IDisposable
{
    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Expected content of the three dialect files: age, ward level, label per row.</summary>
    private static readonly (double Age, int Ward, int Label)[] Expected =
    [
        (34.5, 0, 0),
        (double.NaN, 1, 1),
        (71, -1, 1),
        (-2e3, 2, 0),
    ];

    [Fact]
    public void Read_SemicolonLabelFirstQuotedNotesCrlf_ReadsValues()
    {
        var path = _files.Write("a.csv",
            "readmitted;notes;age;ward\r\n" +
            "no;\"plain\";34.5;north\r\n" +
            "yes;\"has ; and \"\"quotes\"\"\r\nand a newline\";;south\r\n" +
            "yes;;71;\r\n" +
            "no;x;-2e3;east\r\n");

        AssertExpected(SiloTable.Read(TestFiles.Example, path), path);
    }

    [Fact]
    public void Read_CommaShuffledWithIdAndNaLf_ReadsValues()
    {
        var path = _files.Write("b.csv",
            "ward,id,readmitted,age\n" +
            "north,1,no,34.5\n" +
            "south,2,yes,NA\n" +
            "NA,3,yes,71\n" +
            " east ,4, no ,-2000\n");

        AssertExpected(SiloTable.Read(TestFiles.Example, path), path);
    }

    [Fact]
    public void Read_TabBomQuestionMarkFreeText_ReadsValues()
    {
        var path = _files.Write("c.tsv",
            "age\tward\tcomment\treadmitted\n" +
            "34.5\tnorth\tfine, thanks\tno\n" +
            "?\tsouth\t\"tab\tinside\"\tyes\n" +
            "71\t?\t\tyes\n" +
            "-2000.0\teast\tx\tno\n",
            bom: true);

        AssertExpected(SiloTable.Read(TestFiles.Example, path), path);
    }

    [Fact]
    public void Read_ExplicitSeparator_OverridesDetection()
    {
        // The header alone is ambiguous (three ',' and three ';'), so the separator must be given.
        var path = _files.Write("d.csv", "readmitted;age;ward;a,b,c,d\nno;1;north;x,y,z,w\n");

        Assert.Throws<DataFormatException>(() => SiloTable.Read(TestFiles.Example, path));
        var table = SiloTable.Read(TestFiles.Example, path, new DataReadOptions { Separator = ';' });
        Assert.Equal(1, table.RowCount);
    }

    [Fact]
    public void Read_ExtraMissingTokens_AreMissing()
    {
        var study = Study.Parse(TestFiles.ExampleStudy.Replace("\"rounds\": 30", "\"rounds\": 30, \"missing\": [\"-\", \"n/a\"]", StringComparison.Ordinal), "m.json");
        var path = _files.Write("m.csv", "readmitted,age,ward\nno,-,n/a\nyes,N/A,north\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(study, path));
        Assert.Equal(3, error.Line);

        var ok = _files.Write("m2.csv", "readmitted,age,ward\nno,-,n/a\nyes,5,north\n");
        var table = SiloTable.Read(study, ok);
        Assert.True(double.IsNaN(table.NumericValue(0, 0)));
        Assert.Equal(-1, table.CategoryIndex(0, 1));
        Assert.Equal([1, 1], table.MissingCounts);
    }

    [Fact]
    public async Task Read_Parquet_NumericStringAndNullCells()
    {
        var path = Path.Combine(_files.Directory, "t.parquet");
        var schema = new ParquetSchema(
            new DataField<int?>("age"),
            new DataField<string>("ward"),
            new DataField<string>("readmitted"),
            new DataField<long>("id"));
        using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>(schema.DataFields[0], new int?[] { 34, null, 71, -2000 });
            await group.WriteAsync(schema.DataFields[1], new string?[] { "north", "south", null, "east" });
            await group.WriteAsync(schema.DataFields[2], new string?[] { "no", "yes", "yes", "no" });
            await group.WriteAsync<long>(schema.DataFields[3], new long[] { 1, 2, 3, 4 });
        }

        var table = SiloTable.Read(TestFiles.Example, path);

        Assert.Equal(4, table.RowCount);
        Assert.Equal(34, table.NumericValue(0, 0));
        Assert.True(double.IsNaN(table.NumericValue(1, 0)));
        Assert.Equal([0, 1, -1, 2], Enumerable.Range(0, 4).Select(r => table.CategoryIndex(r, 1)));
        Assert.Equal([0, 1, 1, 0], table.Labels);
    }

    [Fact]
    public async Task Read_ParquetNumericLabelAndBadClass_NamesRow()
    {
        var study = Study.Parse("""{"study":"p","label":{"column":"y","classes":["0","1"]},"features":[{"column":"x","type":"numeric"}]}""", "p.json");
        var path = Path.Combine(_files.Directory, "n.parquet");
        var schema = new ParquetSchema(new DataField<double>("x"), new DataField<int>("y"));
        using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<double>(schema.DataFields[0], new double[] { 0.5, 1.5, 2.5 });
            await group.WriteAsync<int>(schema.DataFields[1], new int[] { 0, 1, 2 });
        }

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(study, path));

        Assert.Equal(3, error.Line);
        Assert.True(error.IsRowNumber);
        Assert.Equal("y", error.Column);
        Assert.Equal("2", error.Value);
        Assert.Contains("row 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Subset_PicksRowsInOrder()
    {
        var path = _files.Write("b.csv", "readmitted,age,ward\nno,1,north\nyes,2,south\nno,3,east\n");
        var table = SiloTable.Read(TestFiles.Example, path);

        var subset = table.Subset([2, 0]);

        Assert.Equal(2, subset.RowCount);
        Assert.Equal(3, subset.NumericValue(0, 0));
        Assert.Equal(1, subset.NumericValue(1, 0));
        Assert.Equal([0, 0], subset.Labels);
        Assert.Equal([2, 0], subset.LabelCounts);
        Assert.Same(table.Study, subset.Study);
    }

    private static void AssertExpected(SiloTable table, string path)
    {
        Assert.Equal(path, table.Source);
        Assert.Equal(Expected.Length, table.RowCount);
        for (var r = 0; r < Expected.Length; r++)
        {
            Assert.Equal(Expected[r].Age, table.NumericValue(r, 0));
            Assert.Equal(Expected[r].Ward, table.CategoryIndex(r, 1));
            Assert.Equal(Expected[r].Label, table.Labels[r]);
        }

        Assert.Equal([1, 1], table.MissingCounts);
        Assert.Equal([2, 2], table.LabelCounts);
    }
}
