using System.Text;
using System.Text.Json;
using SecureFed.Coordinator;
using SecureFed.Hosting;
using SecureFed.Protocol;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>
/// The three-hospital case: one table exported by three hospitals in three dialects (data/hospitals: `;` with the
/// label first and a quoted note column; `,` with shuffled columns, an id and NA; tab with a BOM, `?` and a comment
/// column) trains together, with statistics and evaluation only ever summed securely.
/// </summary>
public sealed class ThreeHospitalsTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Files = ["hospital-a.csv", "hospital-b.csv", "hospital-c.tsv"];
    private readonly string _out = Path.Combine(Path.GetTempPath(), "securefed-hospitals-" + Guid.NewGuid().ToString("N"));


    private static string Hospitals(string file) => Path.Combine(DatasetCatalog.FindDataDirectory(), "hospitals", file);

    [Fact]
    public void HospitalFiles_AreTheDialectsTheyClaim()
    {
        var a = File.ReadAllText(Hospitals(Files[0]));
        Assert.StartsWith("malignant;note;", a, StringComparison.Ordinal);
        Assert.Contains("\r\n", a, StringComparison.Ordinal);
        Assert.Contains("\"follow-up; see \"\"clinic B\"\"\"", a, StringComparison.Ordinal);
        Assert.Contains("\"second opinion\r\nrequested\"", a.Replace("\n", "\r\n", StringComparison.Ordinal).Replace("\r\r", "\r", StringComparison.Ordinal), StringComparison.Ordinal);
        var b = File.ReadAllText(Hospitals(Files[1]));
        Assert.StartsWith("id,", b, StringComparison.Ordinal);
        Assert.Contains(",NA,", b, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", b, StringComparison.Ordinal);
        var c = File.ReadAllBytes(Hospitals(Files[2]));
        Assert.Equal([0xEF, 0xBB, 0xBF], c[..3]);
        var text = Encoding.UTF8.GetString(c);
        Assert.Contains("\n?\t", text, StringComparison.Ordinal);
        Assert.Contains("comment", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_ThreeDialects_MatchesCentralTrainingAndSumsStatisticsExactly()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        var studyPath = Hospitals("study.json");
        var study = Study.Load(studyPath);
        var options = new SimulationOptions
        {
            StudyPath = studyPath, SiloData = [.. Files.Select(Hospitals)], Rounds = 20, Seed = 42, OutputDirectory = _out,
        };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(20, result.Outcome.RoundsCompleted);
        var tables = Files.Select(f => SiloTable.Read(study, Hospitals(f))).ToList();

        // Federated statistics = the sum of every silo's own vector (each silo's stays at the silo), up to the
        // fixed-point rounding of the plan's scale (below 2^-f per silo).
        var store = FederationStore.Open(result.StorePath, $"sim-{study.Name}-42");
        var stored = store.Statistics()!.Value;
        Assert.Equal((study.Hash, study.CanonicalJson), store.Study()); // the encoding can be rebuilt from the store alone
        var locals = tables.Select(FeatureStatistics.Local).ToList();
        for (var i = 0; i < stored.Vector.Length; i++)
        {
            var expected = locals.Sum(l => l[i]);
            Assert.True(Math.Abs(stored.Vector[i] - expected) <= 3 * Math.ScaleB(1, -SumTask.CountScaleBitsFor(3)), $"entry {i}: {stored.Vector[i]} vs {expected}");
        }

        Assert.All(locals, l => Assert.NotEqual(l, stored.Vector));
        var pooled = SiloTable.Concat(tables);
        var global = FeatureStatistics.FromSum(study, stored.Vector);
        for (var f = 0; f < study.Features.Count; f++)
        {
            var values = Enumerable.Range(0, pooled.RowCount).Select(r => pooled.NumericValue(r, f)).Where(double.IsFinite).ToArray();
            var mean = values.Average();
            var std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            Assert.True(Math.Abs(global.Mean(f) - mean) <= 1e-6 * Math.Max(1, Math.Abs(mean)), $"{study.Features[f].Column} mean {global.Mean(f)} vs {mean}");
            Assert.True(Math.Abs(global.StandardDeviation(f) - std) <= 1e-6 * Math.Max(1, std), $"{study.Features[f].Column} std {global.StandardDeviation(f)} vs {std}");
        }

        // Round 0 went through secure aggregation with all three silos at every stage.
        var statisticsRound = Assert.Single(result.Outcome.Rounds, r => r.Kind == RoundKinds.Statistics);
        Assert.Equal(3, statisticsRound.Contributors);
        Assert.Equal(3, statisticsRound.StageCounts!.Unmask);

        // A central model on the same rows, encoded and held out exactly as the silos did.
        var encoder = new StudyEncoder(study, global);
        var spec = new ModelSpec("logreg", study.InputWidth, study.ClassCount);
        var names = Enumerable.Range(0, study.InputWidth).Select(i => $"x{i}").ToArray();
        var train = new List<TabularDataset>();
        var holdout = new List<TabularDataset>();
        foreach (var table in tables)
        {
            var labels = encoder.Labels(table);
            var data = new TabularDataset("silo", names, encoder.Encode(table), labels, study.ClassCount);
            var (t, h) = HoldoutSplit.Split(labels, study.ClassCount, study.Holdout, study.EvaluationSeed);
            train.Add(data.Subset(t));
            holdout.Add(data.Subset(h));
        }

        var central = LocalTrainer.Train(spec, ModelFactory.InitialParameters(spec, 42), Concat(train), new TrainingSettings { Epochs = 20, BatchSize = 32, LearningRate = 0.1, Seed = 42 });
        var centralAccuracy = Evaluator.Evaluate(spec, central.NewParameters, Concat(holdout)).Accuracy;
        var last = result.Outcome.Rounds.Last(r => r.Kind == RoundKinds.Training);
        Assert.Equal(holdout.Sum(h => h.RowCount), last.Evaluation!.Examples);
        output.WriteLine($"federated {result.Outcome.FinalAccuracy:F4} on {last.Evaluation.Examples} held-out rows, central {centralAccuracy:F4} (seed 42, 20 rounds / 20 epochs)");
        Assert.True(Math.Abs(result.Outcome.FinalAccuracy - centralAccuracy) <= 0.03, $"federated {result.Outcome.FinalAccuracy:F4}, central {centralAccuracy:F4}");

        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "summary.json")));
        Assert.Equal("federated", summary.RootElement.GetProperty("evaluation").GetString());
        Assert.Equal(study.Hash, summary.RootElement.GetProperty("study_hash").GetString());
        Assert.Equal(stored.Hash, summary.RootElement.GetProperty("statistics_hash").GetString());
    }

    [Fact]
    public async Task Simulate_EvaluateOnly_EvaluatesTheStoredModelWithoutTraining()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        var options = new SimulationOptions { StudyPath = Hospitals("study.json"), SiloData = [.. Files.Select(Hospitals)], Rounds = 2, OutputDirectory = _out };
        var trained = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));
        var last = trained.Outcome.Rounds.Last(r => r.Kind == RoundKinds.Training);

        var evaluated = await FederationSimulation.RunAsync(options with { EvaluateModelHash = trained.Outcome.FinalModelHash }, null, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(3));

        var round = Assert.Single(evaluated.Outcome.Rounds);
        Assert.Equal(RoundKinds.Evaluation, round.Kind);
        Assert.Equal(last.Evaluation!.Examples, round.Evaluation!.Examples);
        Assert.Equal(last.Evaluation.Correct, round.Evaluation.Correct); // the same model on the same held-out rows
        Assert.Equal(last.Evaluation.LossSum, round.Evaluation.LossSum, 3);
        var store = FederationStore.Open(trained.StorePath, "sim-hospitals-breast-cancer-42");
        Assert.Equal(3, store.ModelHistory().Count); // the initial model and two rounds: nothing new
        var ledger = Audit.AuditLedger.Read(Path.Combine(_out, "federation.ledger.jsonl"));
        var entry = ledger[^1];
        Assert.Equal("evaluation", entry.Kind);
        Assert.Equal(trained.Outcome.FinalModelHash, entry.Evaluation!.ModelHash);
        Assert.Equal(entry.ModelHashBefore, entry.ModelHashAfter);
    }

    [Fact]
    public async Task SimulateCli_SiloFileBreaksTheStudy_OneLineNamingFileLineAndColumn()
    {
        Directory.CreateDirectory(_out);
        var bad = Path.Combine(_out, "hospital-d.csv");
        var lines = File.ReadAllLines(Hospitals("hospital-b.csv"));
        lines[5] = lines[5].Replace(",1,", ",2,", StringComparison.Ordinal).Replace(",0,", ",2,", StringComparison.Ordinal); // a label outside the classes
        File.WriteAllLines(bad, lines);
        var error = new StringWriter();
        var stderr = Console.Error;
        int code;
        try
        {
            Console.SetError(error);
            code = await SecureFed.Cli.Program.BuildRoot()
                .Parse(["simulate", "--study", Hospitals("study.json"), "--silo-data", Hospitals(Files[0]), "--silo-data", bad, "--out", Path.Combine(_out, "run")])
                .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = error });
        }
        finally
        {
            Console.SetError(stderr);
        }

        var text = error.ToString();
        Assert.Equal(2, code);
        Assert.Contains("hospital-d.csv", text, StringComparison.Ordinal);
        Assert.Contains("line 6", text, StringComparison.Ordinal);
        Assert.Contains("malignant", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_out, "run", "federation.db"))); // refused before any federation started
    }

    private static TabularDataset Concat(IReadOnlyList<TabularDataset> parts)
    {
        var features = parts.SelectMany(p => p.Features.ToArray()).ToArray();
        var labels = parts.SelectMany(p => p.Labels).ToArray();
        return new TabularDataset("pooled", parts[0].FeatureNames, features, labels, parts[0].ClassCount);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_out, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing written
        }
    }
}
