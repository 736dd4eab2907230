using System.Text;
using Parquet;
using Parquet.Schema;
using SecureFed.Studies;

namespace SecureFed.ModelExport.Tests;

/// <summary><see cref="SiloTable.ReadFeatures"/>: rows to predict, with or without a label column, in every dialect the studies read.</summary>
public sealed class FeatureReadingTests : IDisposable
{
    private readonly TempFolder _files = new();
    private readonly Study _study = Study.Parse(TestData.ClinicStudy(TestData.LogRegModel), "clinic.json");

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ReadFeatures_NoLabelColumn_ReadsRowsWithoutLabels()
    {
        var path = _files.Write("rows.csv", "age,ward,dose\n34,north,1.5\nNA,,2\n");

        var table = SiloTable.ReadFeatures(_study, path);

        Assert.False(table.HasLabels);
        Assert.Empty(table.Labels);
        Assert.Equal(2, table.RowCount);
        Assert.Equal(34, table.NumericValue(0, 0));
        Assert.True(double.IsNaN(table.NumericValue(1, 0)));
        Assert.Equal([0, -1], [table.CategoryIndex(0, 1), table.CategoryIndex(1, 1)]);
        Assert.Equal([1, 1, 0], table.MissingCounts);
    }

    [Fact]
    public void ReadFeatures_LabelColumnWithUnknownClass_IgnoresIt()
    {
        var path = _files.Write("rows.csv", "outcome,age,ward,dose\nnot-a-class,34,north,1.5\n");

        var table = SiloTable.ReadFeatures(_study, path);

        Assert.Equal(1, table.RowCount);
        Assert.False(table.HasLabels);
    }

    [Fact]
    public void ReadFeatures_OtherDialectAndOrder_ReadsTheSameCells()
    {
        var plain = SiloTable.ReadFeatures(_study, _files.Write("plain.csv", "age,ward,dose\n34,north,1.5\nNA,south,2\n71,,0.25\n"));
        var other = SiloTable.ReadFeatures(_study, _files.Write(
            "other.csv", "\"dose\";note;\"ward\";age\r\n1.5;\"a;b\";\"north\";34\r\n\"2\";x;south;\r\n0.25;;;\"71\"\r\n", new UTF8Encoding(true)));

        Assert.Equal(plain.RowCount, other.RowCount);
        for (var r = 0; r < plain.RowCount; r++)
        {
            Assert.Equal(plain.NumericValue(r, 0), other.NumericValue(r, 0));
            Assert.Equal(plain.CategoryIndex(r, 1), other.CategoryIndex(r, 1));
            Assert.Equal(plain.NumericValue(r, 2), other.NumericValue(r, 2));
        }
    }

    [Fact]
    public void ReadFeatures_UnknownCategory_NamesFileLineColumnAndValue()
    {
        var path = _files.Write("rows.csv", "age,ward,dose\n34,north,1.5\n40,West,2\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.ReadFeatures(_study, path));

        Assert.Equal(3, error.Line);
        Assert.Equal("ward", error.Column);
        Assert.Equal("West", error.Value);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("is not one of the categories", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFeatures_MissingFeatureColumn_NamesIt()
    {
        var path = _files.Write("rows.csv", "age,dose\n34,1.5\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.ReadFeatures(_study, path));

        Assert.Equal("ward", error.Column);
    }

    [Fact]
    public async Task ReadFeatures_ParquetWithoutLabel_ReadsRows()
    {
        var path = _files.PathOf("rows.parquet");
        var schema = new ParquetSchema(new DataField<double?>("dose"), new DataField<string>("ward"), new DataField<int?>("age"));
        using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<double>(schema.DataFields[0], new double?[] { 1.5, null });
            await group.WriteAsync(schema.DataFields[1], new string?[] { "east", null });
            await group.WriteAsync<int>(schema.DataFields[2], new int?[] { 34, 50 });
        }

        var table = SiloTable.ReadFeatures(_study, path);

        Assert.Equal(2, table.RowCount);
        Assert.Equal([2, -1], [table.CategoryIndex(0, 1), table.CategoryIndex(1, 1)]);
        Assert.True(double.IsNaN(table.NumericValue(1, 2)));
    }

    [Fact]
    public void Read_StillRequiresTheLabel()
    {
        var path = _files.Write("rows.csv", "age,ward,dose\n34,north,1.5\n");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(_study, path));

        Assert.Equal("outcome", error.Column);
    }

    [Fact]
    public void Subset_FeaturesOnlyTable_KeepsNoLabels()
    {
        var table = SiloTable.ReadFeatures(_study, _files.Write("rows.csv", "age,ward,dose\n34,north,1.5\n35,south,2\n"));

        var subset = table.Subset([1, 1, 0]);

        Assert.Equal(3, subset.RowCount);
        Assert.False(subset.HasLabels);
        Assert.Equal([35.0, 35, 34], Enumerable.Range(0, 3).Select(r => subset.NumericValue(r, 0)));
        Assert.Throws<ArgumentException>(() => SiloTable.Concat([subset, table]));
    }
}
