using System.Text.Json;
using SecureFed.Agent;
using SecureFed.Hosting;
using SecureFed.Privacy;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>
/// A study that declares record-level privacy: each silo runs DP-SGD on its own rows, calibrates its noise to the
/// study's epsilon from its own row count, keeps every step in its own ledger, and the summary reports what each spent.
/// </summary>
public sealed class RecordPrivacyFederationTests : IDisposable
{
    private static readonly string[] Files = ["hospital-a.csv", "hospital-b.csv", "hospital-c.tsv"];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-record-dp", Guid.NewGuid().ToString("N"));

    public RecordPrivacyFederationTests()
    {
        Directory.CreateDirectory(_dir);
        TorchRuntime.EnsureInitialized(threads: 1);
    }

    private static string Hospitals(string file) => Path.Combine(DatasetCatalog.FindDataDirectory(), "hospitals", file);

    private string RecordStudy(string privacy)
    {
        var json = File.ReadAllText(Hospitals("study.json"));
        var path = Path.Combine(_dir, "study.json");
        File.WriteAllText(path, json.TrimEnd().TrimEnd('}') + $", \"privacy\": {privacy} }}");
        return path;
    }

    [Fact]
    public async Task Simulate_RecordLevelStudy_EverySiloSpendsAtMostTheTargetAndSaysSo()
    {
        var study = RecordStudy("""{"unit": "record", "epsilon": 3, "delta": 1e-5, "clip": 1.0, "expected_batch": 16}""");

        var result = await FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = study, SiloData = [.. Files.Select(Hospitals)], Rounds = 0, Seed = 3, OutputDirectory = Path.Combine(_dir, "run") },
            null, CancellationToken.None);

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "run", "summary.json")));
        var spent = summary.RootElement.GetProperty("record_epsilon").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(["silo-1", "silo-2", "silo-3"], spent.Keys.Order());
        Assert.All(spent.Values, e => Assert.InRange(e, 2.5, 3.0)); // calibrated to the target over the study's 10 rounds
        Assert.True(result.Outcome.FinalAccuracy > 0.8, $"accuracy {result.Outcome.FinalAccuracy} under record-level DP");

        // Every training round is one ledger entry per silo, with the steps an auditor recomputes epsilon from.
        var ledger = new SiloPrivacyLedger(Path.Combine(_dir, "run", "silos", "silo-1.ledger.jsonl"));
        var record = ledger.Entries.Where(e => e.Task == SiloPrivacyLedger.RecordTask).ToList();
        Assert.Equal(10, record.Count);
        var q = record[0].SamplingRate;
        Assert.All(record, e => Assert.Equal((long)Math.Round(1 / q, MidpointRounding.AwayFromZero), e.Steps));
        var recomputed = RdpAccountant.ComputeEpsilon([.. record.Select(e => (e.NoiseMultiplier, e.SamplingRate, (int)e.Steps))], 1e-5);
        Assert.Equal(spent["silo-1"], recomputed, 9);

        // The signed ledger logs each silo's q, sigma and steps per training entry, and the report recomputes the same epsilons.
        var entries = Audit.AuditLedger.Read(Path.Combine(_dir, "run", "federation.ledger.jsonl"));
        var training = entries.Where(e => e.Kind == "training").ToList();
        Assert.All(training, e => Assert.Equal(["silo-1", "silo-2", "silo-3"], e.RecordPrivacy!.Select(r => r.SiloId)));
        Assert.Equal(record.Select(r => (r.NoiseMultiplier, r.SamplingRate, r.Steps)), training.Select(e => e.RecordPrivacy![0]).Select(r => (r.NoiseMultiplier, r.SamplingRate, r.Steps)));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "run", "report.json")));
        var reported = report.RootElement.GetProperty("record_epsilon").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(spent.Keys.Order(), reported.Keys.Order());
        Assert.All(spent, kv => Assert.Equal(kv.Value, reported[kv.Key], 9));
        Assert.Equal("verified", report.RootElement.GetProperty("verification").GetProperty("status").GetString());
    }

    [Fact]
    public void Policy_RecordCap_RefusesTheRoundThatWouldPassIt()
    {
        var ledger = new SiloPrivacyLedger();
        var spend = new RecordSpend(2.0, 0.05, 20, 1e-5, "rdp");
        var policy = new LocalPolicy { RecordEpsilonCap = 2.0 };
        var rounds = 0;
        while (true)
        {
            try
            {
                policy.CheckRecordPrivacy(spend, ledger);
            }
            catch (Protocol.PolicyRefusedException ex)
            {
                Assert.Contains("above its cap of 2.0000", ex.Message, StringComparison.Ordinal);
                break;
            }

            ledger.RecordTraining("fed", ++rounds, spend);
            Assert.True(rounds < 1000);
        }

        Assert.True(rounds > 0);
        Assert.True(ledger.RecordEpsilon("rdp", 1e-5) <= 2.0);
        Assert.True(ledger.RecordEpsilon("rdp", 1e-5, spend) > 2.0);
        Assert.Equal(0, ledger.Epsilon(AccountantKind.Rdp, 1e-5)); // record-level steps are not client-level releases
    }

    [Fact]
    public async Task Simulate_MoreRoundsThanTheStudyPlanned_SilosStopAtTheirTarget()
    {
        // Calibrated to the study's 10 rounds; a coordinator asking for 12 gets refusals once the target is spent.
        var study = RecordStudy("""{"unit": "record", "epsilon": 1, "expected_batch": 16}""");

        // Every silo refuses round 11, so the federation stops at once, after one attempt, saying who refused and why.
        var result = await FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = study, SiloData = [.. Files.Select(Hospitals)], Rounds = 12, Seed = 3, OutputDirectory = Path.Combine(_dir, "run") },
            null, CancellationToken.None);

        Assert.Equal(10, result.Outcome.RoundsCompleted);
        Assert.Contains("round 11 cannot release: at most 0 of the", result.Outcome.StopReason, StringComparison.Ordinal);
        Assert.Contains("silo-2 refused the plan of round 11 (", result.Outcome.StopReason, StringComparison.Ordinal);
        Assert.Single(result.Outcome.Rounds, r => r.Round == 11);
        foreach (var silo in new[] { "silo-1", "silo-2", "silo-3" })
        {
            var ledger = new SiloPrivacyLedger(Path.Combine(_dir, "run", "silos", $"{silo}.ledger.jsonl"));
            Assert.Equal(10, ledger.Entries.Count(e => e.Task == SiloPrivacyLedger.RecordTask));
            Assert.InRange(ledger.RecordEpsilon("rdp", 1e-5), 0.9, 1.0 + 1e-9);
        }

        Assert.Contains("past the study's target", File.ReadAllText(Path.Combine(_dir, "run", "federation.log")), StringComparison.Ordinal);
    }

    [Fact]
    public void Study_PrivacySection_IsPartOfTheHashAndChecked()
    {
        var plain = Study.Load(Hospitals("study.json"));
        var record = Study.Load(RecordStudy("""{"unit": "record", "noise_multiplier": 1.1}"""));

        Assert.NotEqual(plain.Hash, record.Hash);
        Assert.Equal(new StudyPrivacy("record", null, 1.1, 1e-5, 1.0, 64, "rdp"), record.Privacy);
        var both = Assert.Throws<StudyFormatException>(() => Study.Load(RecordStudy("""{"unit": "record", "epsilon": 3, "noise_multiplier": 1.1}""")));
        Assert.Equal("privacy.epsilon", both.KeyPath);
        var silo = Assert.Throws<StudyFormatException>(() => Study.Load(RecordStudy("""{"unit": "silo", "clip": 1}""")));
        Assert.Equal("privacy.clip", silo.KeyPath);
    }

    [Fact]
    public async Task Simulate_SiloUnitWithoutClientNoise_IsRefusedWithTheFix()
    {
        var study = RecordStudy("""{"unit": "both", "epsilon": 3}""");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => FederationSimulation.RunAsync(
            new SimulationOptions { StudyPath = study, SiloData = [.. Files.Select(Hospitals)], OutputDirectory = Path.Combine(_dir, "run") }, null, CancellationToken.None));

        Assert.Contains("set --noise-multiplier", error.Message, StringComparison.Ordinal);
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
}
