using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureFed.Coordinator;
using SecureFed.Hosting;
using SecureFed.Studies;
using SecureFed.Training;
using Xunit.Abstractions;

namespace SecureFed.Federation.Tests;

/// <summary>
/// A study federated over three hospitals whose files hold the same table in three CSV dialects: the federation
/// against a central baseline on the same rows, the federated statistics, a coordinator without data, evaluation-only
/// runs and a file that breaks the study.
/// </summary>
public sealed class StudyFederationTests : IClassFixture<ThreeHospitalsFixture>, IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    private readonly ThreeHospitalsFixture _hospitals;
    private readonly ITestOutputHelper _output;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-study-tests", Guid.NewGuid().ToString("N"));

    public StudyFederationTests(ThreeHospitalsFixture hospitals, ITestOutputHelper output)
    {
        _hospitals = hospitals;
        _output = output;
        TorchRuntime.EnsureInitialized(threads: 1);
    }

    [Fact]
    public void Read_ThreeDialects_EveryCellMatchesTheSourceRows()
    {
        var study = Study.Load(_hospitals.Files.StudyPath);

        var tables = _hospitals.Files.SiloData.Select(f => SiloTable.Read(study, f)).ToArray();

        Assert.Equal(569, tables.Sum(t => t.RowCount));
        for (var s = 0; s < tables.Length; s++)
        {
            var source = _hospitals.Files.Rows[s];
            Assert.Equal(source.Count, tables[s].RowCount);
            Assert.Equal(_hospitals.Files.MissingCells[s], tables[s].MissingCounts.Sum());
            for (var r = 0; r < source.Count; r++)
            {
                Assert.Equal(source[r].Label, study.Label.Classes[tables[s].Labels[r]]);
                for (var f = 0; f < study.Features.Count; f++)
                {
                    var x = tables[s].NumericValue(r, f);
                    if (_hospitals.Files.IsMissing(s, r, f))
                    {
                        Assert.True(double.IsNaN(x), $"silo {s} row {r} feature {f} should be missing, read {x}");
                    }
                    else
                    {
                        Assert.Equal(double.Parse(source[r].Features[f], CultureInfo.InvariantCulture), x);
                    }
                }
            }
        }
    }

    [Fact]
    public async Task Simulate_ThreeHospitalsThreeDialects_MatchesCentralBaselineWithinThreePoints()
    {
        var result = _hospitals.Result;
        var study = Study.Load(_hospitals.Files.StudyPath);
        var tables = _hospitals.Files.SiloData.Select(f => SiloTable.Read(study, f)).ToArray();

        var (central, holdoutRows) = CentralBaseline(study, tables, epochs: 20, seed: 42);

        Assert.Equal(20, result.Outcome.RoundsCompleted);
        var last = result.Outcome.Rounds[^1];
        Assert.Equal("training", last.Kind);
        var evaluation = Assert.IsType<SecureFed.Protocol.FederatedMetrics>(last.Evaluation);
        Assert.Equal(holdoutRows, evaluation.Examples);
        Assert.Equal(3, evaluation.Contributors);
        Assert.Equal(evaluation.Accuracy, result.Outcome.FinalAccuracy, 12);
        _output.WriteLine(FormattableString.Invariant($"federated {result.Outcome.FinalAccuracy:F4}, central {central:F4}, {holdoutRows} held-out rows"));
        Assert.True(
            Math.Abs(result.Outcome.FinalAccuracy - central) <= 0.03,
            $"federated accuracy {result.Outcome.FinalAccuracy:F4} vs central {central:F4} on {holdoutRows} held-out rows");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_hospitals.OutputDirectory, "summary.json")).WaitAsync(RunTimeout));
        var root = summary.RootElement;
        Assert.Equal("federated", root.GetProperty("evaluation").GetString());
        Assert.Equal(study.Hash, root.GetProperty("study_hash").GetString());
        Assert.Equal(study.Hash, result.StudyHash);
        Assert.Equal(result.StatisticsHash, root.GetProperty("statistics_hash").GetString());
        Assert.Equal(result.Outcome.FinalAccuracy, root.GetProperty("final_accuracy").GetDouble(), 10);
        Assert.Equal(holdoutRows, root.GetProperty("rounds")[20].GetProperty("evaluation").GetProperty("examples").GetInt64());
    }

    [Fact]
    public void Statistics_ThreeHospitals_StoredSumEqualsPooledStatisticsAndNoSiloVector()
    {
        var study = Study.Load(_hospitals.Files.StudyPath);
        var tables = _hospitals.Files.SiloData.Select(f => SiloTable.Read(study, f)).ToArray();
        var locals = tables.Select(FeatureStatistics.Local).ToArray();
        var expected = Enumerable.Range(0, study.StatisticsLength).Select(i => locals.Sum(l => l[i])).ToArray();
        var store = FederationStore.Open(_hospitals.Result.StorePath, ThreeHospitalsFixture.FederationId);

        var (vector, hash, contributors) = store.Statistics() ?? throw new InvalidOperationException("no statistics stored");

        Assert.Equal(study.StatisticsLength, vector.Length);
        _output.WriteLine(FormattableString.Invariant($"largest relative error of a stored statistic: {vector.Select((v, i) => Math.Abs(v - expected[i]) / Math.Max(1e-300, Math.Abs(expected[i]))).Max():G3}"));
        for (var i = 0; i < vector.Length; i++)
        {
            // Each silo's entry is stochastically rounded to 2^-20 (three silos, SumTask.CountScaleBitsFor), so the sum is off by < 3e-6.
            var tolerance = Math.Max(1e-6 * Math.Abs(expected[i]), 1e-5);
            Assert.True(Math.Abs(vector[i] - expected[i]) <= tolerance, $"statistics entry {i}: stored {vector[i]:R}, pooled {expected[i]:R}");
        }

        Assert.Equal(_hospitals.Result.StatisticsHash, hash);
        Assert.Equal(3, contributors);
        var global = FeatureStatistics.FromSum(study, vector);
        var pooled = SiloTable.Concat(tables);
        for (var f = 0; f < study.Features.Count; f++)
        {
            var values = Enumerable.Range(0, pooled.RowCount).Select(r => pooled.NumericValue(r, f)).Where(x => !double.IsNaN(x)).ToArray();
            var mean = values.Average();
            var std = Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / values.Length);
            Assert.True(Math.Abs(global.Mean(f) - mean) <= 1e-6 * Math.Max(1, Math.Abs(mean)), $"mean of {study.Features[f].Column}: {global.Mean(f):R} vs {mean:R}");
            Assert.True(Math.Abs(global.StandardDeviation(f) - std) <= 1e-6 * Math.Max(1, std), $"std of {study.Features[f].Column}: {global.StandardDeviation(f):R} vs {std:R}");
        }

        // Only the sum reached the coordinator: no silo's own vector, nor its exact feature sums, is in its store or log.
        Assert.All(locals, local => Assert.NotEqual(local, vector));
        var storeBytes = ReadAllBytesShared(_hospitals.Result.StorePath).Concat(ReadAllBytesShared(_hospitals.Result.StorePath + "-wal")).ToArray();
        var log = File.ReadAllText(Path.Combine(_hospitals.OutputDirectory, "federation.log"));
        Assert.NotEmpty(log);
        // The search finds what is there: the released sum itself is in the store, as little-endian doubles.
        var released = new byte[sizeof(double)];
        BinaryPrimitives.WriteDoubleLittleEndian(released, vector[2]);
        Assert.True(storeBytes.AsSpan().IndexOf(released) >= 0, "the released statistics are not found in the store's bytes");
        foreach (var local in locals)
        {
            for (var f = 0; f < study.Features.Count; f++)
            {
                foreach (var x in new[] { local[1 + (3 * f) + 1], local[1 + (3 * f) + 2] })
                {
                    var bytes = new byte[sizeof(double)];
                    BinaryPrimitives.WriteDoubleLittleEndian(bytes, x);
                    Assert.True(storeBytes.AsSpan().IndexOf(bytes) < 0, $"a silo's own statistic {x:R} is in the coordinator's store");
                    Assert.DoesNotContain(x.ToString("R", CultureInfo.InvariantCulture), log, StringComparison.Ordinal);
                }
            }
        }

        var round0 = store.Rounds()[0];
        Assert.Equal(0, round0.Round);
        Assert.Equal("statistics", round0.Kind);
        Assert.Equal("completed", round0.Status);
        Assert.Equal(3, round0.Contributors);
        var report = _hospitals.Result.Outcome.Rounds[0];
        Assert.Equal("statistics", report.Kind);
        Assert.Equal(new SecureFed.Protocol.SecureAggregation.SecAggSurvivorCounts(3, 3, 3, 3, 3), report.StageCounts);
    }

    [Fact]
    public async Task Simulate_CoordinatorWithEmptyDataDirectory_CompletesWithFederatedAccuracy()
    {
        var files = HospitalFiles.Write(Path.Combine(_dir, "hospitals"));
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "no-data")).FullName;
        var options = new SimulationOptions
        {
            StudyPath = files.StudyPath,
            SiloData = files.SiloData,
            DataDirectory = empty,
            Rounds = 2,
            OutputDirectory = Path.Combine(_dir, "run"),
        };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(RunTimeout);

        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
        Assert.Equal(2, result.Outcome.RoundsCompleted);
        var evaluation = Assert.IsType<SecureFed.Protocol.FederatedMetrics>(result.Outcome.Rounds[^1].Evaluation);
        Assert.Equal(3, evaluation.Contributors);
        Assert.True(evaluation.Examples > 0);
        Assert.True(result.Outcome.FinalAccuracy > 0.8, $"federated accuracy {result.Outcome.FinalAccuracy:F4}");
    }

    [Fact]
    public async Task Simulate_EvaluateFinalModel_OneEvaluationRoundWithTheLastTrainingAccuracy()
    {
        // A copy of the trained federation, so the shared run stays as it was for the other tests.
        var copy = Path.Combine(_dir, "evaluate");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(_hospitals.OutputDirectory))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        var trained = _hospitals.Result.Outcome;
        var lastTraining = trained.Rounds.Last(r => r.Kind == "training").Evaluation!;
        var store = FederationStore.Open(Path.Combine(copy, "federation.db"), ThreeHospitalsFixture.FederationId);
        var versions = store.ModelHistory().Count;
        var options = new SimulationOptions
        {
            StudyPath = _hospitals.Files.StudyPath,
            SiloData = _hospitals.Files.SiloData,
            OutputDirectory = copy,
            EvaluateModelHash = trained.FinalModelHash,
        };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(RunTimeout);

        var round = Assert.Single(result.Outcome.Rounds);
        Assert.Equal("evaluation", round.Kind);
        Assert.True(round.Completed);
        Assert.Equal(versions, store.ModelHistory().Count);
        Assert.Equal(trained.FinalModelHash, result.Outcome.FinalModelHash);
        var evaluation = Assert.IsType<SecureFed.Protocol.FederatedMetrics>(round.Evaluation);
        Assert.Equal(lastTraining.Examples, evaluation.Examples);
        Assert.Equal(lastTraining.Accuracy, evaluation.Accuracy, 1e-9);
        Assert.Equal(lastTraining.Accuracy, result.Outcome.FinalAccuracy, 1e-9);
        // The loss sum is a float32 sum of per-row losses, so it is equal only to float precision.
        Assert.Equal(lastTraining.LossSum, evaluation.LossSum, 1e-4);
    }

    [Fact]
    public async Task Simulate_SiloFileWithUnknownLabel_ThrowsDataFormatExceptionNamingFileAndLineBeforeFederating()
    {
        var files = HospitalFiles.Write(Path.Combine(_dir, "hospitals"), badLabelRowInFirst: 4);
        var options = new SimulationOptions
        {
            StudyPath = files.StudyPath,
            SiloData = files.SiloData,
            Rounds = 1,
            OutputDirectory = Path.Combine(_dir, "run"),
        };

        var error = await Assert.ThrowsAsync<DataFormatException>(() => FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(RunTimeout));

        // Row 4 of the first file starts on line 7: the header, then rows 0..3, of which row 2 holds a quoted newline.
        Assert.Equal(7, files.BadLabelLine);
        Assert.Equal(files.BadLabelLine, error.Line);
        Assert.Equal("malignant", error.Column);
        Assert.Contains(Path.GetFileName(files.SiloData[0]), error.Message, StringComparison.Ordinal);
        Assert.Contains($"line {files.BadLabelLine}", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"2\"", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "run", "federation.db")), "a federation started although a silo's file does not fit the study");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing written
        }
    }

    /// <summary>
    /// Central logistic regression on the silos' pooled training rows, each silo's rows encoded with the pooled
    /// statistics and split exactly as the silo splits them (StudyTrainer.Prepare); accuracy on the pooled held-out rows.
    /// </summary>
    private static (double Accuracy, int HoldoutRows) CentralBaseline(Study study, IReadOnlyList<SiloTable> tables, int epochs, int seed)
    {
        var global = FeatureStatistics.FromSum(study, FeatureStatistics.Local(SiloTable.Concat(tables)));
        var encoder = new StudyEncoder(study, global);
        var width = study.InputWidth;
        var names = study.Inputs.Select(i => i.Column).ToArray();
        List<float> trainX = [], holdX = [];
        List<int> trainY = [], holdY = [];
        foreach (var table in tables)
        {
            var features = encoder.Encode(table);
            var labels = encoder.Labels(table);
            var (train, holdout) = HoldoutSplit.Split(labels, study.ClassCount, study.Holdout, study.EvaluationSeed);
            foreach (var r in train)
            {
                trainX.AddRange(features.AsSpan(r * width, width));
                trainY.Add(labels[r]);
            }

            foreach (var r in holdout)
            {
                holdX.AddRange(features.AsSpan(r * width, width));
                holdY.Add(labels[r]);
            }
        }

        var spec = new ModelSpec(study.Model.Kind, width, study.ClassCount);
        var trainData = new TabularDataset("central/train", names, [.. trainX], [.. trainY], study.ClassCount);
        var holdData = new TabularDataset("central/holdout", names, [.. holdX], [.. holdY], study.ClassCount);
        var settings = new TrainingSettings { Epochs = epochs, BatchSize = study.Training.BatchSize, LearningRate = study.Training.LearningRate, Seed = seed };
        var trained = LocalTrainer.Train(spec, ModelFactory.InitialParameters(spec, seed), trainData, settings);
        return (Evaluator.Evaluate(spec, trained.NewParameters, holdData).Accuracy, holdData.RowCount);
    }

    private static byte[] ReadAllBytesShared(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}

/// <summary>The three hospitals' 20-round federation, run once for the tests that only read its results.</summary>
public sealed class ThreeHospitalsFixture : IAsyncLifetime
{
    public const string FederationId = "sim-three-hospitals-42";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-study-tests", Guid.NewGuid().ToString("N"));

    public HospitalFiles Files { get; private set; } = null!;

    public string OutputDirectory => Path.Combine(_dir, "run");

    public SimulationResult Result { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        Files = HospitalFiles.Write(Path.Combine(_dir, "hospitals"));
        var options = new SimulationOptions
        {
            StudyPath = Files.StudyPath,
            SiloData = Files.SiloData,
            OutputDirectory = OutputDirectory,
            Rounds = 20,
            Seed = 42,
            Aggregation = "secure",
        };
        Result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing written
        }

        return Task.CompletedTask;
    }
}

/// <summary>One source row of the bundled breast-cancer table: its 30 feature cells (study order) and its label cell.</summary>
public sealed record SourceRow(IReadOnlyList<string> Features, string Label);

/// <summary>
/// The 569 breast-cancer rows split over three hospitals (row i goes to hospital i mod 3), written as the same table
/// in three dialects with a study file:
/// (a) ';', label first, a quoted free-text column holding ';', '""' and a newline, CRLF line endings;
/// (b) ',', shuffled columns, an extra id column, some numeric cells "NA";
/// (c) tab, UTF-8 BOM, some numeric cells "?", a free-text column.
/// </summary>
public sealed class HospitalFiles
{
    private readonly HashSet<(int Silo, int Row, int Feature)> _missing;

    private HospitalFiles(string studyPath, IReadOnlyList<string> siloData, IReadOnlyList<IReadOnlyList<SourceRow>> rows, HashSet<(int Silo, int Row, int Feature)> missing, int? badLabelLine)
    {
        StudyPath = studyPath;
        SiloData = siloData;
        Rows = rows;
        _missing = missing;
        BadLabelLine = badLabelLine;
        MissingCells = [.. Enumerable.Range(0, siloData.Count).Select(s => missing.Count(m => m.Silo == s))];
    }

    public string StudyPath { get; }

    public IReadOnlyList<string> SiloData { get; }

    /// <summary>Each hospital's source rows, in file order.</summary>
    public IReadOnlyList<IReadOnlyList<SourceRow>> Rows { get; }

    /// <summary>Numeric cells written as a missing token, per hospital.</summary>
    public IReadOnlyList<int> MissingCells { get; }

    /// <summary>The physical line of the row given a label outside the study, when one was asked for.</summary>
    public int? BadLabelLine { get; }

    public bool IsMissing(int silo, int row, int feature) => _missing.Contains((silo, row, feature));

    /// <summary>Writes the three files and the study into <paramref name="folder"/>; optionally gives row <paramref name="badLabelRowInFirst"/> of the first file the label "2".</summary>
    public static HospitalFiles Write(string folder, int? badLabelRowInFirst = null)
    {
        Directory.CreateDirectory(folder);
        var source = File.ReadAllLines(Path.Combine(DatasetCatalog.FindDataDirectory(), "breast_cancer", "breast_cancer.csv"));
        var header = source[0].Split(',');
        var featureNames = header[..^1];
        Assert.Equal("malignant", header[^1]);
        Assert.Equal(30, featureNames.Length);
        var all = source.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).Select(c => new SourceRow(c[..^1], c[^1])).ToArray();
        Assert.Equal(569, all.Length);
        IReadOnlyList<SourceRow>[] parts = [.. Enumerable.Range(0, 3).Select(k => (IReadOnlyList<SourceRow>)[.. all.Where((_, i) => i % 3 == k)])];
        var missing = new HashSet<(int Silo, int Row, int Feature)>();

        // (a) ';' with the label first and a quoted note; row 2's note holds a newline, so later rows start a line further.
        var a = new StringBuilder();
        a.Append("malignant;").Append(string.Join(';', featureNames)).Append(";note\r\n");
        int? badLine = null;
        for (var r = 0; r < parts[0].Count; r++)
        {
            var row = parts[0][r];
            var note = r switch
            {
                0 => "biopsy; second opinion requested",
                1 => "patient said \"no family history\"",
                2 => "first visit\r\nfollow-up in 6 months",
                _ => r % 2 == 0 ? "routine; screening" : "referred by GP",
            };
            if (r == badLabelRowInFirst)
            {
                badLine = 1 + a.ToString().Count(c => c == '\n');
            }

            a.Append(r == badLabelRowInFirst ? "2" : row.Label).Append(';').Append(string.Join(';', row.Features)).Append(';')
                .Append('"').Append(note.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\"\r\n");
        }

        // (b) ',' with shuffled columns, an id, and some cells "NA".
        string[] columns = ["id", .. header];
        new Random(7).Shuffle(columns);
        var b = new StringBuilder().Append(string.Join(',', columns)).Append('\n');
        for (var r = 0; r < parts[1].Count; r++)
        {
            var row = parts[1][r];
            var naFeature = r % 11 == 3 ? r % 30 : -1;
            if (naFeature >= 0)
            {
                missing.Add((1, r, naFeature));
            }

            b.Append(string.Join(',', columns.Select(c => c switch
            {
                "id" => string.Create(CultureInfo.InvariantCulture, $"H2-{r:D4}"),
                "malignant" => row.Label,
                _ when Array.IndexOf(featureNames, c) == naFeature => "NA",
                _ => row.Features[Array.IndexOf(featureNames, c)],
            }))).Append('\n');
        }

        // (c) tab, BOM, some cells "?", and a free-text comment after the label.
        var t = new StringBuilder().Append(string.Join('\t', header)).Append("\tcomment\n");
        for (var r = 0; r < parts[2].Count; r++)
        {
            var row = parts[2][r];
            var unknown = r % 13 == 5 ? (r * 7) % 30 : -1;
            if (unknown >= 0)
            {
                missing.Add((2, r, unknown));
            }

            var cells = row.Features.Select((v, f) => f == unknown ? "?" : v);
            t.Append(string.Join('\t', cells)).Append('\t').Append(row.Label).Append('\t')
                .Append(r % 3 == 0 ? "seen by Dr. Okafor, ward 3; no remarks" : "scan archived").Append('\n');
        }

        string[] files = [Path.Combine(folder, "hospital-a.csv"), Path.Combine(folder, "hospital-b.csv"), Path.Combine(folder, "hospital-c.tsv")];
        var noBom = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(files[0], a.ToString(), noBom);
        File.WriteAllText(files[1], b.ToString(), noBom);
        File.WriteAllText(files[2], t.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var features = string.Join(",\n", featureNames.Select(n => $$"""    { "column": "{{n}}", "type": "numeric" }"""));
        var study = $$"""
            {
              "study": "three-hospitals",
              "label": { "column": "malignant", "classes": ["0", "1"] },
              "features": [
            {{features}}
              ],
              "model": { "kind": "logreg" },
              "training": { "epochs": 1, "batch_size": 32, "learning_rate": 0.1 },
              "rounds": 20,
              "evaluation": { "holdout": 0.2 }
            }
            """;
        var studyPath = Path.Combine(folder, "study.json");
        File.WriteAllText(studyPath, study, noBom);
        return new HospitalFiles(studyPath, files, parts, missing, badLine);
    }
}
