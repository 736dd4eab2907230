using System.Text.Json;
using SecureFed.Agent;
using SecureFed.Audit;
using SecureFed.Hosting;
using SecureFed.Protocol;
using SecureFed.Studies;

namespace SecureFed.Federation.Tests;

/// <summary>A silo under a study: what it accepts and refuses, and a study's federation with privacy and plain aggregation.</summary>
public sealed class StudySiloTests : IDisposable
{
    private const string StudyJson = """
        {
          "study": "ward-study",
          "label": { "column": "outcome", "classes": ["no", "yes"] },
          "features": [
            { "column": "age", "type": "numeric" },
            { "column": "ward", "type": "categorical", "categories": ["north", "south"] }
          ],
          "rounds": 2,
          "evaluation": { "holdout": 0.25 }
        }
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-studysilo-" + Guid.NewGuid().ToString("N"));

    public StudySiloTests()
    {
        Directory.CreateDirectory(_dir);
    }

    private static RoundPlan PlanFor(Study study, string kind = RoundKinds.Statistics) => new(
        "fed", kind == RoundKinds.Statistics ? 0 : 1, study.Name, new ModelDescriptor("logreg", study.InputWidth, study.ClassCount, 32),
        new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), (study.InputWidth + 1) * study.ClassCount, ["silo-1", "silo-2"],
        DateTimeOffset.UnixEpoch, null, null, study.Hash, kind, [SumTask.ForStatistics(study.StatisticsLength)], null, "", study.CanonicalJson);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void CheckPlan_FileFitsTheStudyThePlanCarries_AcceptsAndComputesItsStatistics()
    {
        var study = Study.Parse(StudyJson, "study.json");
        var data = Write("silo.csv", "id;ward;age;outcome\r\n1;north;40;no\r\n2;;NA;yes\r\n3;south;60;no\r\n");
        var trainer = new StudyTrainer(data);
        var plan = PlanFor(study);

        trainer.CheckPlan(plan);
        var stats = trainer.ComputeStatistics(plan);

        // rows; age: count, sum, sum of squares; ward: north, south, missing; labels no, yes
        Assert.Equal([3, 2, 100, 40 * 40 + 60 * 60, 1, 1, 1, 2, 1], stats);
    }

    [Fact]
    public void StatisticsHash_StudiesAndPlanHashTheVectorAlike()
    {
        // Studies references nothing, so the hash is written twice; the plan's and the silo's must agree.
        double[] vector = [569, 0.1, -2.5e10, 1e-300, 3];

        Assert.Equal(RoundPlan.HashStatistics(vector), FeatureStatistics.HashVector(vector));
    }

    [Fact]
    public void CheckPlan_FileBreaksTheStudy_RefusesNamingLineAndColumnButNoValue()
    {
        var study = Study.Parse(StudyJson, "study.json");
        var data = Write("silo.csv", "ward,age,outcome\nnorth,40,no\nwest-wing-secret,50,yes\n");
        var trainer = new StudyTrainer(data);

        var ex = Assert.Throws<PolicyRefusedException>(() => trainer.CheckPlan(PlanFor(study)));

        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'ward'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("west-wing-secret", ex.Message, StringComparison.Ordinal); // the value stays in the silo's own log
    }

    [Fact]
    public void CheckPlan_StudyDocumentDoesNotMatchItsHash_Refuses()
    {
        var study = Study.Parse(StudyJson, "study.json");
        var trainer = new StudyTrainer(Write("silo.csv", "ward,age,outcome\nnorth,40,no\n"));
        var forged = PlanFor(study) with { StudyDocument = study.CanonicalJson.Replace("south", "east", StringComparison.Ordinal) };

        var ex = Assert.Throws<PolicyRefusedException>(() => trainer.CheckPlan(forged));

        Assert.Contains("does not match its study hash", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_PolicyPinsOtherStudyHashes_RefusesThePlan()
    {
        var study = Study.Parse(StudyJson, "study.json");
        var policy = new LocalPolicy { AllowedStudies = [new string('a', 64)] };

        var ex = Assert.Throws<PolicyRefusedException>(() => policy.Check(PlanFor(study), string.Empty));
        policy = policy with { AllowedStudies = [study.Hash] };
        policy.Check(PlanFor(study), string.Empty);

        Assert.Contains("not pinned", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Simulate_StudyWithPrivacy_ChargesStatisticsAndEvaluationReleasesInTheLedger()
    {
        var options = new SimulationOptions { Dataset = "breast-cancer", Silos = 4, Rounds = 2, NoiseMultiplier = 2, OutputDirectory = Path.Combine(_dir, "dp") };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        var ledger = AuditLedger.Read(Path.Combine(options.OutputDirectory, "federation.ledger.jsonl"));
        var statistics = Assert.Single(ledger, e => e.Kind == "statistics");
        Assert.Equal(0, statistics.Round);
        Assert.Equal("statistics", Assert.Single(statistics.Releases!).Task);
        var training = ledger.Where(e => e.Kind == "training").ToList();
        Assert.Equal(2, training.Count);
        Assert.All(training, e => Assert.Equal("evaluation", Assert.Single(e.Releases!).Task));
        // Five charged releases (statistics, and per round the update and its evaluation), not two.
        var charges = ledger.SelectMany(e => e.Charges()).ToList();
        Assert.Equal(5, charges.Count);
        Assert.Equal(LedgerEpsilons.Compute(charges, 1e-5).Rdp, ledger[^1].CumulativeEpsilon!.Rdp, 9);
        Assert.True(ledger[^1].CumulativeEpsilon!.Rdp > LedgerEpsilons.Compute(training.Select(e => e.EffectiveNoiseMultiplier!.Value), 1e-5).Rdp);
        Assert.True(double.IsFinite(result.Outcome.Epsilon));
        // Each silo's own ledger recorded the releases it took part in, not only its updates.
        var silo = File.ReadAllLines(Path.Combine(options.OutputDirectory, "silos", "silo-1.ledger.jsonl"));
        Assert.Contains(silo, l => l.Contains("\"Task\":\"statistics\"", StringComparison.Ordinal));
        Assert.Contains(silo, l => l.Contains("\"Task\":\"evaluation\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Simulate_StudyUnderPlainAggregation_UsesTheSameTasks()
    {
        var options = new SimulationOptions { Dataset = "german-credit", Silos = 3, Rounds = 3, Aggregation = "plain", OutputDirectory = Path.Combine(_dir, "plain") };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(3, result.Outcome.RoundsCompleted);
        var training = result.Outcome.Rounds.Where(r => r.Kind == RoundKinds.Training).ToList();
        Assert.All(training, r => Assert.Equal(3, r.Evaluation!.Contributors));
        Assert.All(training, r => Assert.Equal(training[0].Evaluation!.Examples, r.Evaluation!.Examples));
        Assert.True(result.Outcome.FinalAccuracy > 0.6, $"accuracy {result.Outcome.FinalAccuracy:F4}");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(options.OutputDirectory, "summary.json")));
        Assert.Equal("statistics", summary.RootElement.GetProperty("rounds")[0].GetProperty("kind").GetString());
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
}
