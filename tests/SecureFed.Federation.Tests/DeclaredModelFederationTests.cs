using System.Globalization;
using System.Text;
using SecureFed.Hosting;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>
/// A study that declares a cnn and a server optimizer, federated over three silos' CSV exports of small images:
/// the plan carries the study's layout, every silo trains it, and the coordinator steps with FedAdam.
/// </summary>
public sealed class DeclaredModelFederationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-declared-model", Guid.NewGuid().ToString("N"));

    public DeclaredModelFederationTests()
    {
        Directory.CreateDirectory(_dir);
        TorchRuntime.EnsureInitialized(threads: 1);
    }

    [Fact]
    public async Task Simulate_CnnStudyWithFedAdam_LearnsTheImages()
    {
        var (studyPath, silos) = WriteImageStudy(_dir, """{"optimizer": "fedadam", "learning_rate": 0.05}""");

        var result = await FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = studyPath, SiloData = silos, OutputDirectory = Path.Combine(_dir, "run"), Seed = 5, Rounds = 0 }, null, CancellationToken.None);

        Assert.Equal(4, result.Outcome.RoundsCompleted);
        Assert.Equal("cnn", result.Model);
        Assert.True(result.Outcome.FinalAccuracy > 0.9, $"federated accuracy {result.Outcome.FinalAccuracy}");
        var study = Study.Load(studyPath);
        var final = Coordinator.FederationStore.Open(result.StorePath, "sim-stripes-5").LatestModel()!;
        Assert.Equal(result.Outcome.FinalModelHash, final.Hash);
        Assert.Equal(ModelMapping.SpecOf(study).ParameterCount, final.Parameters.Length);
    }

    [Fact]
    public async Task Simulate_ServerOptimizer_IsPartOfTheStudy()
    {
        var (adamPath, silos) = WriteImageStudy(Path.Combine(_dir, "adam"), """{"optimizer": "fedadam", "learning_rate": 0.05}""");
        var (avgPath, _) = WriteImageStudy(Path.Combine(_dir, "avg"), """{"optimizer": "fedavg"}""");

        Assert.NotEqual(Study.Load(adamPath).Hash, Study.Load(avgPath).Hash);
        var adam = await FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = adamPath, SiloData = silos, OutputDirectory = Path.Combine(_dir, "run-adam"), Seed = 5, Rounds = 1 }, null, CancellationToken.None);
        var avg = await FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = avgPath, SiloData = silos, OutputDirectory = Path.Combine(_dir, "run-avg"), Seed = 5, Rounds = 1 }, null, CancellationToken.None);

        // Same silos, seed and local training: only the server's step differs.
        Assert.NotEqual(adam.Outcome.FinalModelHash, avg.Outcome.FinalModelHash);
    }

    [Fact]
    public async Task Simulate_ModelOverrideOnAStudyFile_IsRefusedWithTheFix()
    {
        var (studyPath, silos) = WriteImageStudy(_dir, """{"optimizer": "fedavg"}""");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = studyPath, SiloData = silos, OutputDirectory = Path.Combine(_dir, "run"), Model = "mlp" }, null, CancellationToken.None));

        Assert.Contains("\"model\" section", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckPlan_DescriptorThatIsNotTheStudysModel_IsRefused()
    {
        var (studyPath, silos) = WriteImageStudy(_dir, """{"optimizer": "fedavg"}""");
        var study = Study.Load(studyPath);
        var spec = ModelMapping.SpecOf(study);
        var trainer = new StudyTrainer(silos[0]);

        // A coordinator that claims a smaller model than the (hash-bound) study declares.
        var ex = Assert.Throws<Protocol.PolicyRefusedException>(() => trainer.CheckPlan(TrainingPlan(study, spec.ParameterCount - 1)));
        var optimizer = Assert.Throws<Protocol.PolicyRefusedException>(() => trainer.CheckPlan(
            TrainingPlan(study, spec.ParameterCount) with { Training = new Protocol.TrainingParameters(1, 8, 0.1, 1, "lion") }));

        Assert.Contains("its study declares cnn 1x6x6", ex.Message, StringComparison.Ordinal);
        Assert.Contains("lion", optimizer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_BoundsKindsParametersAndEpochs()
    {
        var (studyPath, _) = WriteImageStudy(_dir, """{"optimizer": "fedavg"}""");
        var study = Study.Load(studyPath);
        var plan = TrainingPlan(study, ModelMapping.SpecOf(study).ParameterCount);

        new Agent.LocalPolicy().Check(plan, string.Empty);
        var kind = Assert.Throws<Protocol.PolicyRefusedException>(() => new Agent.LocalPolicy { AllowedModels = ["logreg", "mlp"] }.Check(plan, string.Empty));
        var size = Assert.Throws<Protocol.PolicyRefusedException>(() => new Agent.LocalPolicy { MaxParameters = 100 }.Check(plan, string.Empty));
        var epochs = Assert.Throws<Protocol.PolicyRefusedException>(() => new Agent.LocalPolicy { MaxEpochs = 1 }.Check(plan, string.Empty));

        Assert.Contains("model 'cnn' is not allowed", kind.Message, StringComparison.Ordinal);
        Assert.Contains("exceeds this silo's maximum of 100", size.Message, StringComparison.Ordinal);
        Assert.Contains("2 epochs exceed", epochs.Message, StringComparison.Ordinal);
    }

    private static Protocol.RoundPlan TrainingPlan(Study study, int parameters) => new(
        "fed", 1, study.Name, ModelMapping.Describe(ModelMapping.SpecOf(study)), ModelMapping.TrainingOf(study, 1), new string('0', 64), parameters,
        ["silo-1", "silo-2"], DateTimeOffset.UnixEpoch, null, null, study.Hash, Protocol.RoundKinds.Training,
        [Protocol.SumTask.ForTraining(parameters, null, null)], null, "", study.CanonicalJson);

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

    /// <summary>A 6x6 image study (class = which third of the image is bright) and three silo CSVs in different column orders.</summary>
    internal static (string StudyPath, IReadOnlyList<string> Silos) WriteImageStudy(string dir, string server)
    {
        Directory.CreateDirectory(dir);
        var studyPath = Path.Combine(dir, "study.json");
        File.WriteAllText(studyPath, $$"""
            {
              "study": "stripes",
              "label": {"column": "label", "classes": ["top", "middle", "bottom"]},
              "features": [{"column_prefix": "px", "count": 36, "type": "numeric"}],
              "model": {"kind": "cnn", "input_shape": [1, 6, 6], "conv": [{"channels": 4, "kernel": 3, "padding": 1, "pool": 2}], "dense": [12]},
              "training": {"epochs": 2, "batch_size": 16, "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "server": {{server}}},
              "rounds": 4,
              "evaluation": {"holdout": 0.25}
            }
            """);
        var random = new Random(11);
        var silos = new List<string>();
        for (var s = 0; s < 3; s++)
        {
            var columns = Enumerable.Range(1, 36).Select(i => $"px{i}").Append("label").ToList();
            if (s == 1)
            {
                columns.Reverse();
            }

            var sb = new StringBuilder(string.Join(s == 2 ? ';' : ',', columns)).Append('\n');
            for (var r = 0; r < 160; r++)
            {
                var c = random.Next(3);
                var cells = new Dictionary<string, string> { ["label"] = new[] { "top", "middle", "bottom" }[c] };
                for (var i = 0; i < 36; i++)
                {
                    var row = i / 6;
                    var value = (row / 2 == c ? 200 : 20) + random.Next(-15, 16);
                    cells[$"px{i + 1}"] = value.ToString(CultureInfo.InvariantCulture);
                }

                sb.Append(string.Join(s == 2 ? ';' : ',', columns.Select(col => cells[col]))).Append('\n');
            }

            var path = Path.Combine(dir, $"silo-{s + 1}.csv");
            File.WriteAllText(path, sb.ToString());
            silos.Add(path);
        }

        return (studyPath, silos);
    }
}
