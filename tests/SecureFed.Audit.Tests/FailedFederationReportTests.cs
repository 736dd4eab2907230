using SecureFed.Audit.Reports;

namespace SecureFed.Audit.Tests;

/// <summary>
/// The rendered report of a federation that stopped early (a real coordinator's ledger: no --summary): the text and HTML
/// forms show the banner, why it stopped, each silo's attempts, the study, the model kind and the final model hash in full.
/// </summary>
public sealed class FailedFederationReportTests : IDisposable
{
    private const string StopReason = "only 1 of 3 silos sent masked input (threshold 2): too few survivors";
    private readonly TestConsortium _consortium = TestConsortium.Create("failed-report");

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void ToText_FederationStoppedEarly_ShowsBannerReasonSiloCountsStudyModelAndFullFinalHash()
    {
        var report = AuditReport.Build(WriteStoppedLedger(), new ReportContext { Verification = _consortium.Verify(_consortium.PathOf("ledger.jsonl")) });

        string text = ReportWriter.ToText(report);

        Assert.True(report.StoppedEarly);
        Assert.Contains("ledger: verified", text, StringComparison.Ordinal);
        Assert.Contains($"STOPPED EARLY: 2 of 5 planned rounds completed; the last attempt aborted: {StopReason}", text, StringComparison.Ordinal);
        Assert.Contains($"study: hospital-readmission, hash {TestConsortium.StudyHash}", text, StringComparison.Ordinal);
        Assert.Contains("model kind: mlp", text, StringComparison.Ordinal);
        Assert.Contains("planned rounds: 5", text, StringComparison.Ordinal);
        Assert.Contains("completed rounds: 2", text, StringComparison.Ordinal);
        Assert.Contains($"final model hash: {TestConsortium.Hex(1003)}\n", text, StringComparison.Ordinal);
        // Accuracy per round from the ledger's federated evaluations, not a simulation summary.
        Assert.Contains("accuracy by round (federated evaluation in the ledger):", text, StringComparison.Ordinal);
        Assert.Contains("  round 1: accuracy 0.72", text, StringComparison.Ordinal);
        Assert.Contains("  round 2: accuracy 0.81", text, StringComparison.Ordinal);
        // Statistics, round 1 and round 2 retried: every silo contributed 3 times; silo-1 dropped twice, silo-3 refused round 3.
        Assert.Contains("  silo-1 ", text, StringComparison.Ordinal);
        Assert.Matches(@"silo-1 [0-9a-f]{64}: 3 / 0 / 0 / 2,", text);
        Assert.Matches(@"silo-3 [0-9a-f]{64}: 3 / 1 / 0 / 1, completed rounds contributed to 3; last refusal: epsilon cap reached", text);
        Assert.Contains($"aborted: round 3 attempt 1 (entry 5): {StopReason}; silo-2: stalled in masked input", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ToHtml_FederationStoppedEarly_ShowsBannerAndFullFinalHashThatWraps()
    {
        var report = AuditReport.Build(WriteStoppedLedger(), null);

        string html = ReportWriter.ToHtml(report);

        Assert.Contains("<p id=\"stopped-early\" class=\"verdict bad\">This federation stopped early: 2 of 5 planned rounds completed. The last attempt aborted: only 1 of 3 silos", html, StringComparison.Ordinal);
        Assert.Contains($"<td id=\"final-model\" class=\"hash\">{TestConsortium.Hex(1003)}</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td id=\"model-kind\">mlp</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td id=\"study-name\">hospital-readmission</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td id=\"planned-rounds\">5</td>", html, StringComparison.Ordinal);
        Assert.Contains("td.hash { font-family: ui-monospace, monospace; word-break: break-all;", html, StringComparison.Ordinal);
        // The summary (where the hash is) is not inside the scrolling rounds table.
        int summary = html.IndexOf("<section id=\"summary\">", StringComparison.Ordinal);
        int hash = html.IndexOf("id=\"final-model\"", StringComparison.Ordinal);
        Assert.InRange(hash, summary, html.IndexOf("</section>", summary, StringComparison.Ordinal));
    }

    [Fact]
    public void Ledger_ModelKindAndStudyName_RoundTripVerifyAndAreAbsentFromOlderEntries()
    {
        var entries = WriteStoppedLedger();
        var read = AuditLedger.Read(_consortium.PathOf("ledger.jsonl"));

        Assert.True(_consortium.Verify(_consortium.PathOf("ledger.jsonl")).Ok);
        Assert.All(read, e => Assert.Equal("mlp", e.ModelKind));
        Assert.All(read, e => Assert.Equal("hospital-readmission", e.StudyName));
        var older = entries[1] with { ModelKind = null, StudyName = null };
        string canonical = System.Text.Encoding.UTF8.GetString(LedgerCanonicalForm.Encode(older));
        Assert.DoesNotContain("model_kind", canonical, StringComparison.Ordinal);
        Assert.DoesNotContain("study_name", canonical, StringComparison.Ordinal);
        Assert.Contains("\"model_kind\":\"mlp\",\"study_name\":\"hospital-readmission\"",
            System.Text.Encoding.UTF8.GetString(LedgerCanonicalForm.Encode(entries[1])), StringComparison.Ordinal);
    }

    /// <summary>
    /// The study ledger (statistics, round 1, round 2 aborted then retried) planned for 5 rounds, ending in round 3's
    /// aborted attempt (too few survivors), with each silo's outcome, the model kind and the study's name.
    /// </summary>
    private IReadOnlyList<LedgerEntry> WriteStoppedLedger()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(path);
        var drafts = _consortium.StudyDrafts(ledger).Take(4).ToList();
        LedgerSiloOutcome[] all = [new("silo-1", "contributed"), new("silo-2", "contributed"), new("silo-3", "contributed")];
        LedgerSiloOutcome[] aborted2 = [new("silo-1", "dropped"), new("silo-2", "dropped"), new("silo-3", "dropped")];
        drafts[2] = drafts[2] with { Outcomes = aborted2, AbortReason = "the coordinator restarted" };
        drafts.Add(_consortium.Draft(ledger, 3, 1, RoundStatus.Aborted, null) with
        {
            Kind = LedgerEntryKinds.Training,
            StudyHash = TestConsortium.StudyHash,
            StatisticsHash = TestConsortium.StatisticsHash,
            ModelHashBefore = TestConsortium.Hex(1003),
            ModelHashAfter = TestConsortium.Hex(1003),
            AbortReason = StopReason,
            Faults = [new LedgerFault("silo-2", "stalled in masked input", false)],
            Outcomes = [new("silo-1", "dropped"), new("silo-2", "contributed"), new("silo-3", "refused", "epsilon cap reached")],
        });
        var written = new List<LedgerEntry>();
        for (int i = 0; i < drafts.Count; i++)
        {
            var d = drafts[i] with { PlannedRounds = 5, ModelKind = "mlp", StudyName = "hospital-readmission" };
            d = d.Outcomes is null && d.Status == RoundStatus.Completed ? d with { Outcomes = all } : d;
            written.Add(ledger.Append(TestConsortium.WithEpsilon(ledger, d), signer));
        }

        return written;
    }
}
