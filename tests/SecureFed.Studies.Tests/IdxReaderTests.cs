using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace SecureFed.Studies.Tests;

public sealed class IdxReaderTests : IDisposable
{
    private static readonly string[] FashionClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private readonly TestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string BundledImages => Path.Combine(TestFiles.RepoRoot, "data", "fashion_mnist", "t10k-images-idx3-ubyte.gz");

    private static string BundledLabels => Path.Combine(TestFiles.RepoRoot, "data", "fashion_mnist", "t10k-labels-idx1-ubyte.gz");

    [Fact]
    public void Read_BundledTestSplit_EveryPixelAndLabelAsInTheRawBytes()
    {
        var study = PixelStudy(784, FashionClasses);

        var table = SiloTable.Read(study, BundledImages);

        // The expected values come from the decompressed bytes at the offsets the IDX layout gives, not from the reader.
        var images = Decompress(BundledImages);
        var labels = Decompress(BundledLabels);
        Assert.Equal(10_000, table.RowCount);
        Assert.Equal(16 + (10_000 * 784), images.Length);
        Assert.Equal(Enumerable.Repeat(1000, 10), table.LabelCounts);
        Assert.All(table.MissingCounts, m => Assert.Equal(0, m));
        for (var r = 0; r < table.RowCount; r++)
        {
            Assert.Equal(labels[8 + r], table.Labels[r]);
            for (var p = 0; p < 784; p++)
            {
                if (table.NumericValue(r, p) != images[16 + (r * 784) + p])
                {
                    Assert.Fail($"image {r + 1}, pixel {p}: read {table.NumericValue(r, p)}, file holds {images[16 + (r * 784) + p]}");
                }
            }
        }
    }

    [Fact]
    public void ReadFeatures_ImagesWithoutTheirLabelsFile_ReadsThePixelsToPredict()
    {
        var study = Study.Load(Path.Combine(TestFiles.RepoRoot, "data", "fashion_mnist", "study.json"));
        var dir = Directory.CreateTempSubdirectory("securefed-idx-predict-");
        try
        {
            // Images alone, as a hospital would send them for prediction: no labels file beside them.
            var images = Path.Combine(dir.FullName, "scans-images-idx3-ubyte.gz");
            File.Copy(BundledImages, images);

            var toPredict = SiloTable.ReadFeatures(study, images);
            var labelled = SiloTable.Read(study, BundledImages);

            Assert.False(toPredict.HasLabels);
            Assert.Equal(labelled.RowCount, toPredict.RowCount);
            foreach (var (row, feature) in new[] { (0, 0), (17, 400), (9_999, 783) })
            {
                Assert.Equal(labelled.NumericValue(row, feature), toPredict.NumericValue(row, feature));
            }

            Assert.Throws<DataFormatException>(() => SiloTable.Read(study, images));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Read_BundledStudyFile_ReadsTheBundledImagesUnderIt()
    {
        var study = Study.Load(Path.Combine(TestFiles.RepoRoot, "data", "fashion_mnist", "study.json"));

        var table = SiloTable.Read(study, BundledImages);

        Assert.Equal(784, study.Features.Count);
        Assert.Equal("pixel1", study.Features[0].Column);
        Assert.Equal("pixel784", study.Features[^1].Column);
        Assert.Equal(FashionClasses, study.Label.Classes);
        Assert.Equal(10_000, table.RowCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_GeneratedPair_PixelsRowMajorInFeatureOrder(bool gzip)
    {
        var pixels = Enumerable.Range(0, 3 * 2 * 3).Select(i => (byte)(i * 13)).ToArray();
        var images = WriteImages("x-images-idx3-ubyte" + (gzip ? ".gz" : ""), 3, 2, 3, pixels, gzip);
        WriteLabels("x-labels-idx1-ubyte" + (gzip ? ".gz" : ""), [2, 0, 1], gzip);

        var table = SiloTable.Read(PixelStudy(6, ["a", "b", "c"]), images);

        Assert.Equal(3, table.RowCount);
        Assert.Equal([2, 0, 1], table.Labels);
        for (var r = 0; r < 3; r++)
        {
            for (var p = 0; p < 6; p++)
            {
                Assert.Equal(pixels[(r * 6) + p], table.NumericValue(r, p));
            }
        }
    }

    [Fact]
    public void Read_ExplicitFormatAndLabelsPath_ReadsFilesOfAnyName()
    {
        var images = WriteImages("images.bin", 2, 1, 2, [1, 2, 3, 4], gzip: true);
        var labels = WriteLabels("answers.bin", [1, 1], gzip: false);

        var table = SiloTable.Read(PixelStudy(2, ["a", "b"]), images, new DataReadOptions { Format = DataFormat.Idx, LabelsPath = labels });

        Assert.Equal([1, 1], table.Labels);
        Assert.Equal(4, table.NumericValue(1, 1));
    }

    [Fact]
    public void Read_ExplicitLabelsPathMissing_NamesTheLabelsFile()
    {
        var images = WriteImages("f-images-idx3-ubyte", 1, 1, 1, [7], gzip: false);
        var labels = Path.Combine(_files.Directory, "nowhere-labels-idx1-ubyte");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(PixelStudy(1, ["a", "b"]), images, new DataReadOptions { LabelsPath = labels }));

        Assert.Equal(labels, error.File);
        Assert.Contains($"the labels file of {images} does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_GzippedImagesRawLabels_FindsTheRawTwin()
    {
        var images = WriteImages("t-images-idx3-ubyte.gz", 1, 1, 1, [7], gzip: true);
        WriteLabels("t-labels-idx1-ubyte", [0], gzip: false);

        var table = SiloTable.Read(PixelStudy(1, ["a", "b"]), images);

        Assert.Equal(7, table.NumericValue(0, 0));
    }

    [Fact]
    public void Read_IdxNameWithoutOption_IsNotReadAsCsv()
    {
        // Auto detection goes by name: a CSV reader would fail on binary data with a different message.
        var images = WriteImages("y-images-idx3-ubyte", 1, 1, 1, [7], gzip: false);

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(PixelStudy(1, ["a", "b"]), images));

        Assert.Contains("y-labels-idx1-ubyte does not exist", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, int, string> BrokenFiles => new()
    {
        // case, file the error names (images/labels), row, text in the message
        { "images-header-truncated", "images", 1, "is truncated: an IDX images header needs 16 bytes but the file has 10" },
        { "images-empty", "images", 1, "header needs 16 bytes but the file has 0" },
        { "images-data-truncated", "images", 3, "ends after 2 whole images" },
        { "images-wrong-magic", "images", 1, "wrong magic number 2052" },
        { "images-is-labels", "images", 1, "this is the IDX labels file, not the images file" },
        { "images-trailing-bytes", "images", 3, "has data after the 3 images" },
        { "images-zero", "images", 1, "declares 0 images" },
        { "images-corrupt-gzip", "images", 1, "is not valid gzip data" },
        { "labels-wrong-magic", "labels", 1, "wrong magic number 1" },
        { "labels-is-images", "labels", 1, "this is the IDX images file, not the labels file" },
        { "labels-count-mismatch", "labels", 1, "count mismatch: the labels file declares 2 labels but" },
        { "labels-truncated", "labels", 3, "declares 3 labels but the data ends after 2" },
        { "labels-header-truncated", "labels", 1, "an IDX labels header needs 8 bytes but the file has 5" },
        { "labels-trailing-bytes", "labels", 3, "has data after the 3 labels" },
        { "labels-class-out-of-range", "labels", 2, "label byte 3 is not a class index" },
        { "pixels-not-features", "images", 1, "holds 2x2 = 4 pixels per image but study idx-test has 6 numeric features" },
        { "labels-missing", "images", 1, "has no labels file" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void Read_BrokenPair_OneLineNamingFileRowProblemAndFix(string broken, string named, int row, string problem)
    {
        var pixels = Enumerable.Range(0, 3 * 6).Select(i => (byte)i).ToArray();
        var imagesName = "b-images-idx3-ubyte.gz";
        var labelsName = "b-labels-idx1-ubyte.gz";
        var labels = WriteLabels(labelsName, [0, 2, 1], gzip: true);
        var images = WriteImages(imagesName, 3, 2, 3, pixels, gzip: true);
        var study = PixelStudy(6, ["a", "b", "c"]);
        switch (broken)
        {
            case "images-header-truncated":
                WriteRaw(imagesName, Header(2051, 3, 2, 3)[..10], gzip: true);
                break;
            case "images-empty":
                WriteRaw(imagesName, [], gzip: false);
                break;
            case "images-data-truncated":
                WriteRaw(imagesName, [.. Header(2051, 3, 2, 3), .. pixels[..15]], gzip: true);
                break;
            case "images-wrong-magic":
                WriteRaw(imagesName, [.. Header(2052, 3, 2, 3), .. pixels], gzip: true);
                break;
            case "images-is-labels":
                File.Copy(labels, images, overwrite: true);
                break;
            case "images-trailing-bytes":
                WriteRaw(imagesName, [.. Header(2051, 3, 2, 3), .. pixels, 0], gzip: true);
                break;
            case "images-zero":
                WriteRaw(imagesName, Header(2051, 0, 2, 3), gzip: true);
                break;
            case "images-corrupt-gzip":
                var bytes = File.ReadAllBytes(images);
                bytes[12] ^= 0xff;
                bytes[13] ^= 0xff;
                File.WriteAllBytes(images, bytes);
                break;
            case "labels-wrong-magic":
                WriteRaw(labelsName, [.. Header(1, 3), 0, 2, 1], gzip: true);
                break;
            case "labels-is-images":
                File.Copy(images, labels, overwrite: true);
                break;
            case "labels-count-mismatch":
                WriteLabels(labelsName, [0, 2], gzip: true);
                break;
            case "labels-truncated":
                WriteRaw(labelsName, [.. Header(2049, 3), 0, 2], gzip: true);
                break;
            case "labels-header-truncated":
                WriteRaw(labelsName, Header(2049, 3)[..5], gzip: true);
                break;
            case "labels-trailing-bytes":
                WriteRaw(labelsName, [.. Header(2049, 3), 0, 2, 1, 1], gzip: true);
                break;
            case "labels-class-out-of-range":
                WriteLabels(labelsName, [0, 3, 1], gzip: true);
                break;
            case "pixels-not-features":
                WriteImages(imagesName, 3, 2, 2, pixels[..12], gzip: true);
                break;
            case "labels-missing":
                File.Delete(labels);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(broken), broken, "unknown case");
        }

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(study, images));

        var file = named == "images" ? images : labels;
        Assert.Equal(file, error.File);
        Assert.Equal(row, error.Line);
        Assert.True(error.IsRowNumber);
        Assert.StartsWith(string.Create(CultureInfo.InvariantCulture, $"{file}: row {row}"), error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains(';', error.Message); // "...; <the fix>"
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Read_LabelOutOfRange_NamesLabelColumnAndByte()
    {
        var images = WriteImages("c-images-idx3-ubyte", 2, 1, 1, [0, 0], gzip: false);
        WriteLabels("c-labels-idx1-ubyte", [1, 9], gzip: false);

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(PixelStudy(1, ["a", "b"]), images));

        Assert.Equal("label", error.Column);
        Assert.Equal("9", error.Value);
        Assert.Equal(2, error.Line);
        Assert.Contains("declares 2 classes (0..1)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_CnnOfAnotherShape_RefusedNamingInputShape()
    {
        // 2x3 images under a cnn declared 3x2: the same 6 pixels, in another layout.
        var images = WriteImages("e-images-idx3-ubyte", 1, 2, 3, [0, 0, 0, 0, 0, 0], gzip: false);
        WriteLabels("e-labels-idx1-ubyte", [0], gzip: false);
        var study = Study.Parse("""
            {"study": "shape", "label": {"column": "label", "classes": ["a", "b"]},
             "features": [{"column_prefix": "pixel", "count": 6, "type": "numeric"}],
             "model": {"kind": "cnn", "input_shape": [1, 3, 2], "conv": [{"channels": 2, "kernel": 1}]}}
            """, "shape.json");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(study, images));

        Assert.Contains("holds 1x2x3 images but the study's model.input_shape is [1, 3, 2]; set input_shape to [1, 2, 3]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_CategoricalFeature_RefusedBeforeReading()
    {
        var images = WriteImages("d-images-idx3-ubyte", 1, 1, 2, [0, 0], gzip: false);
        WriteLabels("d-labels-idx1-ubyte", [0], gzip: false);
        var study = Study.Parse("""
            {"study": "mixed", "label": {"column": "label", "classes": ["a", "b"]},
             "features": [{"column": "pixel1", "type": "numeric"}, {"column": "kind", "type": "categorical", "categories": ["x"]}]}
            """, "mixed.json");

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(study, images));

        Assert.Equal("kind", error.Column);
        Assert.Contains("declare every study feature numeric", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_KaggleCsvWithClassNames_SameValuesAsIdx()
    {
        // The Kaggle dialect: label first, then pixel1..pixel784 by name. Four images of the bundled split written out.
        var study = PixelStudy(784, FashionClasses);
        var idx = SiloTable.Read(study, BundledImages).Subset([0, 1, 2, 3]);
        var csv = new StringBuilder("label," + string.Join(',', Enumerable.Range(1, 784).Select(i => $"pixel{i}")) + "\n");
        for (var r = 0; r < idx.RowCount; r++)
        {
            csv.Append(FashionClasses[idx.Labels[r]]);
            for (var p = 0; p < 784; p++)
            {
                csv.Append(',').Append(idx.NumericValue(r, p).ToString(CultureInfo.InvariantCulture));
            }

            csv.Append('\n');
        }

        var table = SiloTable.Read(study, _files.Write("fashion-mnist_test.csv", csv.ToString()));

        Assert.Equal(idx.Labels, table.Labels);
        for (var r = 0; r < idx.RowCount; r++)
        {
            for (var p = 0; p < 784; p++)
            {
                Assert.Equal(idx.NumericValue(r, p), table.NumericValue(r, p));
            }
        }
    }

    [Fact]
    public void Read_KaggleCsvWithClassIndices_RefusedNamingTheClasses()
    {
        // Kaggle's file writes the class index (0..9); the study's classes are names, matched exactly.
        var csv = "label," + string.Join(',', Enumerable.Range(1, 784).Select(i => $"pixel{i}")) + "\n"
            + "9," + string.Join(',', Enumerable.Repeat("0", 784)) + "\n";

        var error = Assert.Throws<DataFormatException>(() => SiloTable.Read(PixelStudy(784, FashionClasses), _files.Write("kaggle.csv", csv)));

        Assert.Equal(2, error.Line);
        Assert.Equal("label", error.Column);
        Assert.Equal("9", error.Value);
        Assert.Contains("\"T-shirt/top\"", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A study of <paramref name="pixels"/> numeric features pixel1.. and the given classes, each column named.</summary>
    private static Study PixelStudy(int pixels, string[] classes)
    {
        var features = string.Join(",", Enumerable.Range(1, pixels).Select(i => $$"""{"column": "pixel{{i}}", "type": "numeric"}"""));
        var names = string.Join(",", classes.Select(c => $"\"{c}\""));
        return Study.Parse($$"""{"study": "idx-test", "label": {"column": "label", "classes": [{{names}}]}, "features": [{{features}}]}""", "idx-test.json");
    }

    private static byte[] Header(params int[] fields)
    {
        var bytes = new byte[fields.Length * 4];
        for (var i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(i * 4), fields[i]);
        }

        return bytes;
    }

    private string WriteImages(string name, int count, int rows, int cols, byte[] pixels, bool gzip) =>
        WriteRaw(name, [.. Header(2051, count, rows, cols), .. pixels], gzip);

    private string WriteLabels(string name, byte[] labels, bool gzip) =>
        WriteRaw(name, [.. Header(2049, labels.Length), .. labels], gzip);

    private string WriteRaw(string name, byte[] content, bool gzip)
    {
        var path = Path.Combine(_files.Directory, name);
        using var file = File.Create(path);
        if (gzip)
        {
            using var zip = new GZipStream(file, CompressionLevel.Fastest);
            zip.Write(content);
        }
        else
        {
            file.Write(content);
        }

        return path;
    }

    private static byte[] Decompress(string path)
    {
        using var zip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        zip.CopyTo(memory);
        return memory.ToArray();
    }
}
