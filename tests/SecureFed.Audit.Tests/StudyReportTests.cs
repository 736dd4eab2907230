using System.Text.Json;
using System.Text.RegularExpressions;
using SecureFed.Audit.Reports;

namespace SecureFed.Audit.Tests;

/// <summary>The audit report of a study ledger: study hash, federated statistics, federated accuracy and charged releases.</summary>
public sealed partial class StudyReportTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();
    private readonly string _ledger;

    public StudyReportTests()
    {
        _ledger = _consortium.PathOf("ledger.jsonl");
    }

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void ToJson_StudyLedgerWithoutSummary_CarriesStudyStatisticsFederatedAccuracyAndReleases()
    {
        var entries = _consortium.WriteStudyLedger(_ledger);
        var report = AuditReport.Build(entries, new ReportContext { Verification = _consortium.Verify(_ledger) });

        using var json = JsonDocument.Parse(File.ReadAllText(ReportWriter.Write(report, _consortium.PathOf("out")).JsonPath));

        var root = json.RootElement;
        Assert.Equal("verified", root.GetProperty("verification").GetProperty("status").GetString());
        Assert.Equal(TestConsortium.StudyHash, root.GetProperty("study_hash").GetString());
        Assert.Equal(5, root.GetProperty("entries").GetInt32());
        Assert.Equal(2, root.GetProperty("completed_rounds").GetInt32());

        var statistics = root.GetProperty("statistics");
        Assert.Equal(0, statistics.GetProperty("round").GetInt32());
        Assert.Equal(1, statistics.GetProperty("sequence").GetInt64());
        Assert.Equal("completed", statistics.GetProperty("status").GetString());
        Assert.Equal(TestConsortium.StatisticsHash, statistics.GetProperty("statistics_hash").GetString());
        var statisticsRelease = Assert.Single(statistics.GetProperty("releases").EnumerateArray());
        Assert.Equal("statistics", statisticsRelease.GetProperty("task").GetString());
        Assert.Equal(3.0, statisticsRelease.GetProperty("effective_noise_multiplier").GetDouble());

        var rounds = root.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal(["statistics", "training", "training", "training", "evaluation"], rounds.Select(r => r.GetProperty("kind").GetString()));
        Assert.Equal(0.72, rounds[1].GetProperty("accuracy").GetDouble());
        Assert.Equal(1000, rounds[1].GetProperty("examples_evaluated").GetInt64());
        var evaluation = rounds[1].GetProperty("evaluation");
        Assert.Equal(entries[1].ModelHashAfter, evaluation.GetProperty("model_hash").GetString());
        Assert.Equal(720, evaluation.GetProperty("correct").GetInt64());
        Assert.Equal(0.8125, evaluation.GetProperty("loss").GetDouble());
        Assert.Equal(JsonValueKind.Null, rounds[2].GetProperty("evaluation").ValueKind);
        Assert.Equal(JsonValueKind.Null, rounds[2].GetProperty("accuracy").ValueKind);
        Assert.Equal(0, rounds[2].GetProperty("releases").GetArrayLength());
        Assert.Equal(
            [("training", 1.1), ("evaluation", 4.0)],
            rounds[1].GetProperty("releases").EnumerateArray().Select(r => (r.GetProperty("task").GetString(), r.GetProperty("effective_noise_multiplier").GetDouble())));
        Assert.Equal(0.83, rounds[4].GetProperty("accuracy").GetDouble());
        Assert.Equal(TestConsortium.StatisticsHash, rounds[3].GetProperty("statistics_hash").GetString());

        var releases = root.GetProperty("releases").EnumerateArray().ToList();
        Assert.Equal(["statistics", "training", "evaluation", "training", "evaluation", "evaluation"], releases.Select(r => r.GetProperty("task").GetString()));
        Assert.Equal(TestConsortium.StudyCharges, releases.Select(r => r.GetProperty("effective_noise_multiplier").GetDouble()));
        Assert.Equal([1L, 2, 2, 4, 4, 5], releases.Select(r => r.GetProperty("sequence").GetInt64()));
        Assert.Equal(
            LedgerEpsilons.Compute(TestConsortium.StudyCharges, TestConsortium.Delta).Rdp,
            root.GetProperty("budget").GetProperty("epsilon_spent").GetDouble());

        // Round 2's model was evaluated by its training entry (0.81) and again by the evaluation-only entry (0.83):
        // the series holds one point per model, the later evaluation.
        Assert.Equal("ledger", root.GetProperty("accuracy_source").GetString());
        var accuracy = root.GetProperty("accuracy_by_round").EnumerateArray().ToList();
        Assert.Equal([1, 2], accuracy.Select(a => a.GetProperty("round").GetInt32()));
        Assert.Equal([0.72, 0.83], accuracy.Select(a => a.GetProperty("accuracy").GetDouble()));
        Assert.Equal([1000L, 1200], accuracy.Select(a => a.GetProperty("examples").GetInt64()));
        Assert.Equal(0.8125, accuracy[0].GetProperty("loss").GetDouble());
    }

    [Fact]
    public void Build_StudyLedgerAndSummary_LedgerEvaluationsWinOverTheSummary()
    {
        var entries = _consortium.WriteStudyLedger(_ledger);

        var report = AuditReport.Build(entries, new ReportContext { AccuracyByRound = ReportTests.Accuracy() });

        Assert.Equal(AuditReport.LedgerAccuracy, report.AccuracySource);
        Assert.Equal([new(1, 0.72), new KeyValuePair<int, double>(2, 0.83)], report.AccuracyByRound);
        Assert.Equal([null, 0.72, null, 0.81, 0.83], report.Rounds.Select(r => r.Accuracy));
    }

    [Fact]
    public void Build_LedgerWithoutEvaluations_FallsBackToTheSummary()
    {
        var entries = _consortium.WriteGoodLedger(_ledger);

        var withSummary = AuditReport.Build(entries, new ReportContext { AccuracyByRound = ReportTests.Accuracy() });
        var without = AuditReport.Build(entries, null);
        using var json = JsonDocument.Parse(ReportWriter.ToJson(without));

        Assert.Equal(AuditReport.SummaryAccuracy, withSummary.AccuracySource);
        Assert.Equal(5, withSummary.AccuracyByRound.Count);
        Assert.Equal(AuditReport.NoAccuracy, without.AccuracySource);
        Assert.Null(without.StudyHash);
        Assert.Null(without.Statistics);
        var root = json.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("study_hash").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("statistics").ValueKind);
        Assert.All(root.GetProperty("rounds").EnumerateArray(), r => Assert.Equal("training", r.GetProperty("kind").GetString()));
        Assert.Equal(TestConsortium.Plan.Where(p => p.Z is not null).Select(p => p.Z!.Value), without.Releases.Select(r => r.EffectiveNoiseMultiplier));
        Assert.All(without.Releases, r => Assert.Equal("training", r.Task));
    }

    [Fact]
    public void ToHtml_StudyLedger_ShowsStudyHashStatisticsEvaluationsAndEveryChargedRelease()
    {
        var entries = _consortium.WriteStudyLedger(_ledger);

        string html = ReportWriter.ToHtml(AuditReport.Build(entries, null));

        Assert.Contains($"id=\"study-hash\" class=\"hash\">{TestConsortium.StudyHash}</td>", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Federated statistics (round 0)</h2>", html, StringComparison.Ordinal);
        Assert.Contains($"id=\"statistics-hash\" class=\"hash\">{TestConsortium.StatisticsHash}</td>", html, StringComparison.Ordinal);
        Assert.Equal(1, Count(html, "<tr class=\"kind-statistics\">"));
        Assert.Equal(3, Count(html, "<tr class=\"kind-training\">"));
        Assert.Equal(1, Count(html, "<tr class=\"kind-evaluation\">"));
        Assert.Contains("<td>federated statistics ", html, StringComparison.Ordinal);
        Assert.Contains("<td>evaluation only</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>1200</td>", html, StringComparison.Ordinal); // examples evaluated by the evaluation-only entry

        var releases = Regex.Match(html, "<section id=\"releases\">(.*?)</section>", RegexOptions.Singleline);
        Assert.True(releases.Success, "the report has no releases section");
        Assert.Equal(1, Count(releases.Value, "<tr class=\"task-statistics\">"));
        Assert.Equal(2, Count(releases.Value, "<tr class=\"task-training\">"));
        Assert.Equal(3, Count(releases.Value, "<tr class=\"task-evaluation\">"));

        var plot = Regex.Match(html, "<svg[^>]*\\bid=\"accuracy-plot\"[^>]*>(.*?)</svg>", RegexOptions.Singleline);
        var points = PolylinePoints().Match(plot.Groups[1].Value);
        Assert.True(points.Success, "the accuracy plot has no line");
        Assert.Equal(2, points.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("federated evaluation recorded in the ledger", html, StringComparison.Ordinal);
    }

    private static int Count(string text, string part) => text.Split(part, StringSplitOptions.None).Length - 1;

    [GeneratedRegex("<polyline[^>]*\\bpoints=\"([^\"]*)\"")]
    private static partial Regex PolylinePoints();
}
