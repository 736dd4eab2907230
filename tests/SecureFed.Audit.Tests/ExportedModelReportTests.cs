using System.Text.Json;
using SecureFed.Audit.Reports;

namespace SecureFed.Audit.Tests;

/// <summary>The report names the final model and the exported model, and says whether the export is that model of this ledger.</summary>
public sealed class ExportedModelReportTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void Report_ExportOfTheFinalModel_IsNamedAndMatches()
    {
        var ledger = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteStudyLedger(ledger);
        var final = entries.Last(e => e.Status == RoundStatus.Completed && e.EffectiveKind == LedgerEntryKinds.Training);
        var exported = new ReportExportedModel("model.onnx", new string('c', 64), final.ModelHashAfter, entries[^1].EntryHash, "cnn 1x28x28 (1,000 parameters)");

        var report = AuditReport.Build(entries, new ReportContext { Verification = _consortium.Verify(ledger), ExportedModel = exported });
        var files = ReportWriter.Write(report, _consortium.PathOf("out"));

        using var json = JsonDocument.Parse(File.ReadAllText(files.JsonPath));
        Assert.Equal(final.ModelHashAfter, json.RootElement.GetProperty("final_model_hash").GetString());
        var model = json.RootElement.GetProperty("exported_model");
        Assert.Equal("model.onnx", model.GetProperty("file").GetString());
        Assert.True(model.GetProperty("matches_final_model").GetBoolean());
        var html = File.ReadAllText(files.HtmlPath);
        Assert.Contains($"model hash {final.ModelHashAfter}: the ledger&#39;s final model", html, StringComparison.Ordinal);
        Assert.Contains(final.ModelHashAfter, html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Report_ExportOfAnotherModelOrLedger_IsFlagged(bool otherModel, bool otherHead)
    {
        var ledger = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteStudyLedger(ledger);
        var final = entries.Last(e => e.Status == RoundStatus.Completed && e.EffectiveKind == LedgerEntryKinds.Training);
        var exported = new ReportExportedModel(
            "model.onnx", new string('c', 64), otherModel ? entries[1].ModelHashBefore : final.ModelHashAfter, otherHead ? new string('e', 64) : entries[^1].EntryHash, "logreg");

        var report = AuditReport.Build(entries, new ReportContext { ExportedModel = exported });

        Assert.False(report.ExportedModelMatches);
        Assert.Contains("NOT the ledger", ReportWriter.ToHtml(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_WithoutExport_SaysNull()
    {
        var ledger = _consortium.PathOf("ledger.jsonl");
        var report = AuditReport.Build(_consortium.WriteStudyLedger(ledger), null);

        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("exported_model").ValueKind);
    }
}

/// <summary>The report says precisely what the epsilon proves: client-level, zero-out neighbours.</summary>
public sealed class GuaranteeReportTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void Report_WithPrivacy_NamesZeroOutAdjacency()
    {
        var report = AuditReport.Build(_consortium.WriteStudyLedger(_consortium.PathOf("ledger.jsonl")), null);

        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));
        var budget = json.RootElement.GetProperty("budget");
        Assert.Equal("zero-out", budget.GetProperty("adjacency").GetString());
        Assert.Contains("zero-out neighbours", ReportWriter.ToHtml(report), StringComparison.Ordinal);
        Assert.DoesNotContain("add/remove", ReportWriter.ToHtml(report), StringComparison.Ordinal);
    }
}
