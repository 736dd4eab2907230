using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;
using SecureFed.Coordinator;
using SecureFed.Hosting;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>
/// The Fashion-MNIST study through the federation and the benchmark, on a few hundred images of the bundled test split
/// (the 60,000 training images of the Debian package are never needed by a test).
/// </summary>
public sealed class FashionMnistTests : IDisposable
{
    private const int Images = 300;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-fmnist-tests", Guid.NewGuid().ToString("N"));

    public FashionMnistTests()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string BundledFolder => Path.Combine(DatasetCatalog.FindDataDirectory(), "fashion_mnist");

    [Fact]
    public void AgentConfig_IdxFormatAndLabels_ReadFilesWithAnyName()
    {
        // A silo's own copy under names the IDX auto-detection does not know.
        var images = Path.Combine(_dir, "scans.bin");
        var labels = Path.Combine(_dir, "diagnoses.bin");
        File.Copy(Path.Combine(BundledFolder, "t10k-images-idx3-ubyte.gz"), images);
        File.Copy(Path.Combine(BundledFolder, "t10k-labels-idx1-ubyte.gz"), labels);
        var study = Study.Load(Path.Combine(BundledFolder, "study.json"));

        var table = SiloTable.Read(study, images, new DataConfig { Path = images, Format = "idx", Labels = labels }.ToReadOptions());
        var bad = Assert.Throws<ArgumentException>(() => new DataConfig { Path = images, Format = "png" }.ToReadOptions());

        Assert.Equal(10_000, table.RowCount);
        Assert.Contains("csv, parquet or idx", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_FashionMnist_IsTheBundledTestSplitUnderItsStudy()
    {
        var (studyPath, dataPath) = BundledStudies.Locate("fashion-mnist");

        Assert.Equal(Path.Combine(BundledFolder, "study.json"), studyPath);
        Assert.Equal(Path.Combine(BundledFolder, "t10k-images-idx3-ubyte.gz"), dataPath);
        Assert.Contains("fashion-mnist", BundledStudies.Names);
    }

    [Fact]
    public async Task Simulate_FashionMnistSubsetThreeSilos_FederatedPixelMeansAreTheDataMeans()
    {
        var (images, labels, pixels) = WriteSubset(_dir, "sub-images-idx3-ubyte", gzip: false);
        var options = new SimulationOptions { Dataset = "fashion-mnist", DataFile = images, Silos = 3, Rounds = 1, OutputDirectory = Path.Combine(_dir, "run") };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(1, result.Outcome.RoundsCompleted);
        Assert.Equal("cnn", result.Model);
        var study = Study.Load(Path.Combine(BundledFolder, "study.json"));
        var store = FederationStore.Open(result.StorePath, $"sim-{study.Name}-42");
        var global = FeatureStatistics.FromSum(study, store.Statistics()!.Value.Vector);
        Assert.Equal(Images, global.Rows, 3);
        for (var p = 0; p < 784; p++)
        {
            // The mean of pixel p over the subset, from the raw IDX bytes; the federation got it as a secure sum of
            // fixed-point shares (2^-16 resolution), so it agrees to far better than one grey level.
            var expected = Enumerable.Range(0, Images).Average(i => (double)pixels[(i * 784) + p]);
            Assert.True(Math.Abs(global.Mean(p) - expected) < 1e-3, $"pixel {p + 1}: federated mean {global.Mean(p)}, data mean {expected}");
        }

        for (var c = 0; c < 10; c++)
        {
            Assert.Equal(labels.Count(l => l == c), global.LabelCounts[c], 3);
        }

        // Every silo evaluated all of its held-out rows: round(0.1 x rows of each class) per silo.
        var silos = BundledStudies.Split(SiloTable.Read(study, images), 3, "iid", 42);
        var holdout = silos.Sum(s => s.LabelCounts.Sum(n => (long)Math.Round(study.Holdout * n, MidpointRounding.AwayFromZero)));
        var evaluation = result.Outcome.Rounds[^1].Evaluation!;
        Assert.Equal(holdout, evaluation.Examples);
        Assert.InRange(evaluation.Accuracy, 0, 1);
    }

    [Fact]
    public async Task Bench_SmallTrainFolder_ReportsRoundsMemoryParametersAndTheTenThousandImageTest()
    {
        var train = Path.Combine(_dir, "train");
        Directory.CreateDirectory(train);
        WriteSubset(train, "train-images-idx3-ubyte.gz", gzip: true);
        var output = Path.Combine(_dir, "bench");

        var json = await FashionMnistBenchmark.RunAsync(
            new FashionMnistBenchmarkOptions { Silos = 3, Rounds = 1, TrainDirectory = train, OutputDirectory = output },
            TextWriter.Null,
            CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        foreach (var field in new[] { "rounds", "total_s", "federation_s", "mean_round_s", "peak_working_set_mb", "parameters", "test_accuracy", "test_loss", "statistics_round_s", "rounds_to_target" })
        {
            Assert.True(json.ContainsKey(field), $"missing {field}");
        }

        // conv 1->16 3x3: 16*9+16 = 160; conv 16->32 3x3: 32*16*9+32 = 4640; two 2x2 pools leave 32x7x7 = 1568 inputs
        // to dense 128: 1568*128+128 = 200832; output 128*10+10 = 1290. Total 206922.
        Assert.Equal(206_922, (int)json["parameters"]!);
        Assert.Equal(Images, (long)json["train_images"]!);
        Assert.Equal(10_000, (int)json["test_images"]!);
        Assert.InRange((double)json["test_accuracy"]!, 0, 1);
        Assert.Equal("secure", (string)json["aggregation"]!);
        var rounds = json["rounds"]!.AsArray();
        var round = Assert.Single(rounds);
        Assert.True((bool)round!["completed"]!);
        Assert.InRange((double)round["accuracy"]!, 0, 1);
        Assert.True((double)round["seconds"]! > 0);
        Assert.True((double)round["elapsed_s"]! >= (double)round["seconds"]!, "a round ends after it lasted");
        Assert.True((double)json["peak_working_set_mb"]! > 0);
        var written = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "bench.json")))!;
        Assert.Equal((string)json["final_model_hash"]!, (string)written["final_model_hash"]!);
    }

    [Fact]
    public async Task Bench_RecordEpsilon_TrainsAVariantStudyWithinTheTargetByBothAccountants()
    {
        var train = Path.Combine(_dir, "train");
        Directory.CreateDirectory(train);
        WriteSubset(train, "train-images-idx3-ubyte.gz", gzip: true);
        var output = Path.Combine(_dir, "bench-dp");
        var bundled = Study.Load(Path.Combine(BundledFolder, "study.json"));

        var json = await FashionMnistBenchmark.RunAsync(
            new FashionMnistBenchmarkOptions { Silos = 3, Rounds = 2, TrainDirectory = train, OutputDirectory = output, RecordEpsilon = 8, ExpectedBatch = 16, LearningRate = 0.1, Activation = "tanh" },
            TextWriter.Null,
            CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal("record", (string)json["privacy"]!);
        Assert.Equal(2, (int)json["rounds_completed"]!);
        var variant = Study.Load(Path.Combine(output, "study", "fashion_mnist", "study.json"));
        Assert.Equal((string)json["study_hash"]!, variant.Hash);
        Assert.NotEqual(bundled.Hash, variant.Hash);
        Assert.Equal(bundled.Hash, Study.Load(Path.Combine(BundledFolder, "study.json")).Hash);
        Assert.Equal(2, variant.Rounds); // the silos calibrate to the rounds the bench runs
        Assert.Equal(0.1, variant.Training.LearningRate);
        Assert.Equal("tanh", variant.Model.Activation);
        Assert.Equal("tanh", (string)json["local_training"]!["activation"]!);
        Assert.Equal(8, (double)json["record_privacy"]!["epsilon_target"]!);
        var spent = json["record_epsilon"]!.AsObject();
        var ledgers = json["record_ledgers"]!.AsObject();
        Assert.Equal(3, spent.Count);
        foreach (var silo in new[] { "silo-1", "silo-2", "silo-3" })
        {
            var ledger = ledgers[silo]!;
            var rdp = (double)ledger["epsilon_rdp"]!;
            var pld = (double)ledger["epsilon_pld"]!;

            // Two rounds of one epoch each, at q = 16 over the silo's training rows; the planned spend is the target.
            Assert.Equal(2, (int)ledger["entries"]!);
            Assert.Equal((double)spent[silo]!, rdp, 4);
            Assert.InRange(rdp, 7.9, 8 + 1e-6);
            Assert.InRange(pld, 0.5 * rdp, rdp + 1e-6);
            Assert.True((double)ledger["noise_multiplier"]! > 0);
        }
    }

    [Fact]
    public void BenchOptions_DpSettingWithoutRecordEpsilon_NamesTheOptions()
    {
        var options = new FashionMnistBenchmarkOptions { ExpectedBatch = 128, TrainDirectory = BundledFolder, OutputDirectory = _dir };

        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.Contains("--expected-batch", error.Message, StringComparison.Ordinal);
        Assert.Contains("--record-epsilon", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchOptions_UnknownActivation_NamesTheOptionAndTheChoices()
    {
        var options = new FashionMnistBenchmarkOptions { Activation = "gelu", TrainDirectory = BundledFolder, OutputDirectory = _dir };

        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.StartsWith("--activation gelu", error.Message, StringComparison.Ordinal);
        Assert.Contains("relu, tanh, sigmoid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchOptions_NoTrainingImages_NamesThePackageAndTheOption()
    {
        var options = new FashionMnistBenchmarkOptions { TrainDirectory = Path.Combine(_dir, "absent"), OutputDirectory = _dir };

        var error = Assert.Throws<FileNotFoundException>(() => options.Validate());

        Assert.Contains("apt-get install -y dataset-fashion-mnist", error.Message, StringComparison.Ordinal);
        Assert.Contains("--train-dir", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "iid", "--silos 1")]
    [InlineData(10, "feature:pixel1", "--partition feature:pixel1")]
    public void BenchOptions_BadValue_NamesTheOption(int silos, string partition, string named)
    {
        var options = new FashionMnistBenchmarkOptions { Silos = silos, Partition = partition, TrainDirectory = BundledFolder, OutputDirectory = _dir };

        var error = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.StartsWith(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchCommand_NoTrainingImages_ExitsWithUsageError()
    {
        var code = await SecureFed.Cli.Program.BuildRoot()
            .Parse(["bench", "fashion-mnist", "--train-dir", Path.Combine(_dir, "absent"), "--out", Path.Combine(_dir, "out")])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() })
            .WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, code);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")), "nothing is started without the data");
    }

    /// <summary>The first <see cref="Images"/> images of the bundled test split as an IDX pair in <paramref name="folder"/>.</summary>
    private static (string Images, byte[] Labels, byte[] Pixels) WriteSubset(string folder, string imagesName, bool gzip)
    {
        var images = Decompress(Path.Combine(BundledFolder, "t10k-images-idx3-ubyte.gz"));
        var labels = Decompress(Path.Combine(BundledFolder, "t10k-labels-idx1-ubyte.gz"));
        var pixels = images.AsSpan(16, Images * 784).ToArray();
        var subsetLabels = labels.AsSpan(8, Images).ToArray();
        var imagesPath = Path.Combine(folder, imagesName);
        Write(imagesPath, [.. Header(2051, Images, 28, 28), .. pixels], gzip);
        Write(Path.Combine(folder, imagesName.Replace("images-idx3", "labels-idx1", StringComparison.Ordinal)), [.. Header(2049, Images), .. subsetLabels], gzip);
        return (imagesPath, subsetLabels, pixels);
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

    private static void Write(string path, byte[] content, bool gzip)
    {
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
    }

    private static byte[] Decompress(string path)
    {
        using var zip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        zip.CopyTo(memory);
        return memory.ToArray();
    }
}
