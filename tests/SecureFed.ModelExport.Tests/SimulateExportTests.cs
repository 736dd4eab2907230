using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using SecureFed.Cli;

namespace SecureFed.ModelExport.Tests;

/// <summary>`securefed simulate` exports its final model into the run folder, and the summary and the audit report name it.</summary>
[Collection(FederationCollection.Name)]
public sealed class SimulateExportTests(FederationRuns runs)
{
    [Theory]
    [InlineData("logreg")]
    [InlineData("cnn")]
    public async Task Simulate_RunFolder_HoldsTheVerifiedExportAndNamesIt(string kind)
    {
        var run = await runs.GetAsync(kind);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Folder, "summary.json")));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Folder, "report.json")));
        var card = ModelCard.Load(Path.Combine(run.Folder, FederationExporter.CardFileName));
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(run.Folder, FederationExporter.OnnxFileName))));

        var final = summary.RootElement.GetProperty("final_model_hash").GetString();
        var exported = summary.RootElement.GetProperty("exported_model");
        Assert.Equal(final, card.ModelHash);
        Assert.Equal(sha, card.Onnx.Sha256);
        Assert.Equal(sha, exported.GetProperty("sha256").GetString());
        Assert.Equal(final, exported.GetProperty("model_hash").GetString());
        Assert.Equal(JsonValueKind.Null, exported.GetProperty("error").ValueKind);
        var named = report.RootElement.GetProperty("exported_model");
        Assert.Equal(sha, named.GetProperty("sha256").GetString());
        Assert.True(named.GetProperty("matches_final_model").GetBoolean());
        Assert.Equal(final, report.RootElement.GetProperty("final_model_hash").GetString());
    }

    [Fact]
    public async Task AuditReport_ModelCard_NamesTheModel_AndRefusesAnOnnxFileThatIsNotTheCards()
    {
        var run = await runs.GetAsync("logreg");
        var folder = runs.Copy(run);
        var ledger = Path.Combine(folder, "federation.ledger.jsonl");
        var card = Path.Combine(folder, FederationExporter.CardFileName);

        var ok = await RunAsync("audit", "report", ledger, "--out", Path.Combine(folder, "report"), "--model-card", card,
            "--coordinator-cert", Path.Combine(folder, "coordinator.pem"), "--ca", Path.Combine(folder, "ca.pem"));
        var html = File.ReadAllText(Path.Combine(folder, "report", "report.html"));
        File.AppendAllText(Path.Combine(folder, FederationExporter.OnnxFileName), "x");
        var tampered = await RunAsync("audit", "report", ledger, "--out", Path.Combine(folder, "report2"), "--model-card", card);

        Assert.Equal(0, ok.Code);
        Assert.Contains("the ledger&#39;s final model", html, StringComparison.Ordinal);
        Assert.Equal(2, tampered.Code);
        Assert.Contains("is not the model its card", tampered.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", tampered.Error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.BuildRoot().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return (code, output.ToString(), error.ToString());
    }
}
