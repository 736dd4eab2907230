using System.CommandLine;
using System.Text.Json;
using SecureFed.Audit.Reports;
using SecureFed.Cli;
using SecureFed.Identity;

namespace SecureFed.Audit.Tests;

/// <summary>The audit report: its model and report.json from a small ledger, HTML escaping, and <c>securefed audit report</c>.</summary>
public sealed class ReportTests : IDisposable
{
    private static readonly double[] Charged = [1.1, 1.05, 1.1, 0.97, 1.2];
    private readonly TestConsortium _consortium = TestConsortium.Create();
    private readonly string _ledger;

    public ReportTests()
    {
        _ledger = _consortium.PathOf("ledger.jsonl");
    }

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void Write_VerifiedLedgerWithAccuracy_ReportJsonHoldsRoundsParticipantsBudgetAndVerdict()
    {
        var entries = _consortium.WriteGoodLedger(_ledger);
        var verification = _consortium.Verify(_ledger);
        var report = AuditReport.Build(entries, new ReportContext { Verification = verification, AccuracyByRound = Accuracy() });

        var files = ReportWriter.Write(report, _consortium.PathOf("out"));

        Assert.True(File.Exists(files.HtmlPath));
        using var json = JsonDocument.Parse(File.ReadAllText(files.JsonPath));
        var root = json.RootElement;
        var expected = LedgerEpsilons.Compute(Charged, TestConsortium.Delta);
        Assert.Equal("fed-1", root.GetProperty("federation_id").GetString());
        Assert.Equal(6, root.GetProperty("entries").GetInt32());
        Assert.Equal(5, root.GetProperty("completed_rounds").GetInt32());

        var verdict = root.GetProperty("verification");
        Assert.Equal("verified", verdict.GetProperty("status").GetString());
        Assert.Equal(entries[^1].EntryHash, verdict.GetProperty("head_hash").GetString());

        var budget = root.GetProperty("budget");
        Assert.Equal("rdp", budget.GetProperty("accountant").GetString());
        Assert.Equal(8.0, budget.GetProperty("epsilon_budget").GetDouble());
        Assert.Equal(expected.Rdp, budget.GetProperty("epsilon_spent").GetDouble());
        Assert.Equal(8.0 - expected.Rdp, budget.GetProperty("epsilon_left").GetDouble());

        var parameters = Assert.Single(root.GetProperty("parameters").EnumerateArray());
        Assert.Equal("discrete-gaussian", parameters.GetProperty("mechanism").GetString());
        Assert.Equal(1, parameters.GetProperty("from_round").GetInt32());
        Assert.Equal(5, parameters.GetProperty("to_round").GetInt32());
        Assert.Equal(1, parameters.GetProperty("colluding").GetInt32());

        var participants = root.GetProperty("participants").EnumerateArray().ToList();
        Assert.Equal(["silo-1", "silo-2", "silo-3"], participants.Select(p => p.GetProperty("silo_id").GetString()));
        Assert.Equal(CertificateFingerprint.Sha256Hex(_consortium.Silos[0]), participants[0].GetProperty("certificate_sha256").GetString());
        Assert.All(participants, p => Assert.Equal(5, p.GetProperty("rounds_joined").GetInt32()));

        var rounds = root.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal(6, rounds.Count);
        var aborted = rounds[2];
        Assert.Equal("aborted", aborted.GetProperty("status").GetString());
        Assert.Equal(3, aborted.GetProperty("round").GetInt32());
        Assert.Equal(2, aborted.GetProperty("dropouts").GetInt32());
        Assert.Equal(1, aborted.GetProperty("secagg_survivors").GetProperty("u5").GetInt32());
        Assert.Equal(JsonValueKind.Null, aborted.GetProperty("effective_noise_multiplier").ValueKind);
        Assert.Equal(JsonValueKind.Null, aborted.GetProperty("accuracy").ValueKind);
        var last = rounds[^1];
        Assert.Equal(1.2, last.GetProperty("effective_noise_multiplier").GetDouble());
        Assert.Equal(expected.Exact, last.GetProperty("epsilon").GetProperty("exact").GetDouble());
        Assert.Equal(0.9, last.GetProperty("accuracy").GetDouble());
        Assert.Equal(entries[^1].TraceId, last.GetProperty("trace_id").GetString());
        Assert.Equal(entries[^1].PlanHash, last.GetProperty("plan_hash").GetString());
        Assert.Equal(entries[^1].ModelHashAfter, last.GetProperty("model_hash_after").GetString());
        Assert.Equal(5, root.GetProperty("accuracy_by_round").GetArrayLength());
    }

    [Fact]
    public void Build_NoVerification_ReportsNotVerified()
    {
        var entries = _consortium.WriteGoodLedger(_ledger);

        var report = AuditReport.Build(entries, null);

        Assert.Equal(ReportVerification.NotVerified, report.Verification.Status);
        Assert.Empty(report.AccuracyByRound);
        Assert.Equal([1, 2, 3, 4, 5], report.EpsilonByRound.Select(p => p.Round));
        Assert.Contains("Not verified", ReportWriter.ToHtml(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Build_WithoutPrivacy_HasNoBudgetAndNullEpsilons()
    {
        var entries = _consortium.WriteGoodLedger(_ledger)
            .Select(e => e with { Privacy = null, CumulativeEpsilon = null, EffectiveNoiseMultiplier = null, Aggregation = "plain" })
            .ToList();

        var report = AuditReport.Build(entries, null);
        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));

        Assert.Null(report.Budget);
        Assert.Empty(report.Parameters);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("budget").ValueKind);
        Assert.Contains("without differential privacy", ReportWriter.ToHtml(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Build_TwoFederationsWithoutChoice_Throws()
    {
        var entries = _consortium.WriteGoodLedger(_ledger).ToList();
        entries[5] = entries[5] with { FederationId = "fed-2" };

        var ex = Assert.Throws<ArgumentException>(() => AuditReport.Build(entries, null));

        Assert.Contains("fed-1, fed-2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(5, AuditReport.Build(entries, new ReportContext { FederationId = "fed-1" }).Rounds.Count);
    }

    [Fact]
    public void ToHtml_HostileFederationIdAndTraceId_AreEscapedEverywhere()
    {
        const string Hostile = "<script>alert('x')</script><img src=\"https://evil.example/x.png\">&amp;";
        var entries = _consortium.WriteGoodLedger(_ledger)
            .Select(e => e with { FederationId = Hostile, TraceId = "</td><script>alert(1)</script>" })
            .ToList();
        var participants = entries[0].Participants.ToList();
        participants[0] = participants[0] with { SiloId = "<b onmouseover=alert(1)>silo</b>" };
        entries[0] = entries[0] with { Participants = participants };

        string html = ReportWriter.ToHtml(AuditReport.Build(entries, new ReportContext { LedgerSource = "\"><script>x</script>" }));

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b ", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=&quot;https://evil.example/x.png&quot;&gt;&amp;amp;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b onmouseover=alert(1)&gt;silo&lt;/b&gt;", html, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(ReportWriter.ToJson(AuditReport.Build(entries, null)));
        Assert.Equal(Hostile, json.RootElement.GetProperty("federation_id").GetString());
    }

    [Fact]
    public void ToHtml_AnyLedger_LoadsNothingFromOutside()
    {
        var entries = _consortium.WriteGoodLedger(_ledger);

        string html = ReportWriter.ToHtml(AuditReport.Build(entries, new ReportContext { AccuracyByRound = Accuracy() }));

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" href=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_InfiniteEpsilon_WritesNullAndHtmlShowsInfinity()
    {
        var entries = _consortium.WriteGoodLedger(_ledger).ToList();
        entries[^1] = entries[^1] with { CumulativeEpsilon = new LedgerEpsilon(double.PositiveInfinity, double.PositiveInfinity) };

        var report = AuditReport.Build(entries, null);
        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));

        var budget = json.RootElement.GetProperty("budget");
        Assert.Equal(JsonValueKind.Null, budget.GetProperty("epsilon_spent").ValueKind);
        Assert.Equal(JsonValueKind.Null, budget.GetProperty("epsilon_left").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("rounds")[5].GetProperty("epsilon").GetProperty("rdp").ValueKind);
        Assert.Contains("overspent by ∞", ReportWriter.ToHtml(report), StringComparison.Ordinal);
    }

    [Fact]
    public void ToHtml_OneRoundWithoutAccuracy_PlotsOnePointAndSaysAccuracyIsMissing()
    {
        var entries = _consortium.WriteGoodLedger(_ledger).Take(1).ToList();

        string html = ReportWriter.ToHtml(AuditReport.Build(entries, null));

        Assert.Contains("No accuracy by round was given", html, StringComparison.Ordinal);
        Assert.Equal(2, html.Split("<polyline", StringSplitOptions.None).Length - 1);
    }

    [Fact]
    public void Build_EmptyLedger_Throws()
    {
        Assert.Throws<ArgumentException>(() => AuditReport.Build([], null));
    }

    [Fact]
    public async Task Report_EmptyLedgerFile_ExitsTwo()
    {
        File.WriteAllText(_ledger, "");

        var run = await RunAsync("audit", "report", _ledger, "--out", _consortium.PathOf("report"));

        Assert.Equal(2, run.Code);
        Assert.Contains("no entries", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSummaryAccuracy_SimulationSummary_TakesLastAccuracyPerRoundAndSkipsNulls()
    {
        const string Summary = """
            {"rounds": [
              {"round": 1, "accuracy": 0.5},
              {"round": 2, "accuracy": null, "completed": false},
              {"round": 2, "accuracy": 0.6},
              {"round": 3, "completed": false}
            ]}
            """;

        var accuracy = ReportContext.ParseSummaryAccuracy(Summary, "summary.json");

        Assert.Equal([1, 2], accuracy.Keys.Order());
        Assert.Equal(0.6, accuracy[2]);
    }

    [Fact]
    public void ParseSummaryAccuracy_StudySummary_SkipsTheStatisticsAndEvaluationOnlyRounds()
    {
        const string Summary = """
            {"rounds": [
              {"round": 0, "kind": "statistics", "accuracy": null},
              {"round": 1, "kind": "training", "accuracy": 0.7},
              {"round": 2, "kind": "training", "accuracy": 0.8},
              {"round": 3, "kind": "evaluation", "accuracy": 0.81}
            ]}
            """;

        var accuracy = ReportContext.ParseSummaryAccuracy(Summary, "summary.json");

        Assert.Equal([1, 2], accuracy.Keys.Order());
        Assert.Equal(0.8, accuracy[2]);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"rounds\": [{\"round\": 0, \"kind\": \"training\", \"accuracy\": 0.5}]}")]
    [InlineData("{\"rounds\": 3}")]
    [InlineData("{\"rounds\": [{\"accuracy\": 0.5}]}")]
    [InlineData("{\"rounds\": [{\"round\": 1, \"accuracy\": \"high\"}]}")]
    public void ParseSummaryAccuracy_NotASummary_ThrowsNamingTheFile(string text)
    {
        var ex = Assert.Throws<InvalidDataException>(() => ReportContext.ParseSummaryAccuracy(text, "my-summary.json"));

        Assert.Contains("my-summary.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_WithCertificatesAndSummary_ExitsZeroAndWritesVerifiedReports()
    {
        _consortium.WriteGoodLedger(_ledger);
        var (coordinatorPem, caPem) = WriteCertificates();
        string summary = _consortium.PathOf("summary.json");
        File.WriteAllText(summary, """{"rounds": [{"round": 1, "accuracy": 0.61}, {"round": 2, "accuracy": 0.72}]}""");
        string outDir = _consortium.PathOf("report");

        var run = await RunAsync("audit", "report", _ledger, "--out", outDir, "--summary", summary, "--coordinator-cert", coordinatorPem, "--ca", caPem);

        Assert.Equal(0, run.Code);
        Assert.Equal("", run.Error);
        Assert.Contains(Path.Combine(outDir, "report.json"), run.Output, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(outDir, "report.html"), run.Output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        Assert.Equal("verified", json.RootElement.GetProperty("verification").GetProperty("status").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("accuracy_by_round").GetArrayLength());
    }

    [Fact]
    public async Task Report_WithoutCertificates_ExitsZeroAndSaysNotVerified()
    {
        _consortium.WriteGoodLedger(_ledger);
        string outDir = _consortium.PathOf("report");

        var run = await RunAsync("audit", "report", _ledger, "--out", outDir);

        Assert.Equal(0, run.Code);
        Assert.Contains("not verified", run.Output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        Assert.Equal("not verified", json.RootElement.GetProperty("verification").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Report_TamperedLedger_WritesReportAndExitsOne()
    {
        var entries = _consortium.WriteGoodLedger(_ledger).ToList();
        entries[4] = entries[4] with { ModelHashAfter = TestConsortium.Hex(777) };
        TestConsortium.WriteRaw(_ledger, entries);
        var (coordinatorPem, caPem) = WriteCertificates();
        string outDir = _consortium.PathOf("report");

        var run = await RunAsync("audit", "report", _ledger, "--out", outDir, "--coordinator-cert", coordinatorPem, "--ca", caPem);

        Assert.Equal(1, run.Code);
        Assert.Contains("FAILED: entry 5:", run.Output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        Assert.Equal("failed", json.RootElement.GetProperty("verification").GetProperty("status").GetString());
        Assert.Equal(5, json.RootElement.GetProperty("verification").GetProperty("failed_entry").GetInt64());
        Assert.Contains("Verification FAILED: entry 5:", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ledger")]
    [InlineData("summary")]
    public async Task Report_MissingFile_ExitsTwoNamingIt(string missing)
    {
        _consortium.WriteGoodLedger(_ledger);
        string absent = _consortium.PathOf("absent.json");
        string[] args = missing == "ledger"
            ? ["audit", "report", absent, "--out", _consortium.PathOf("report")]
            : ["audit", "report", _ledger, "--out", _consortium.PathOf("report"), "--summary", absent];

        var run = await RunAsync(args);

        Assert.Equal(2, run.Code);
        Assert.Equal("", run.Output);
        Assert.StartsWith("error: ", run.Error, StringComparison.Ordinal);
        Assert.Contains(absent, run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_consortium.PathOf("report")));
    }

    [Fact]
    public async Task Report_MalformedSummary_ExitsTwoNamingIt()
    {
        _consortium.WriteGoodLedger(_ledger);
        string summary = _consortium.PathOf("summary.json");
        File.WriteAllText(summary, "{\"rounds\": 3}");

        var run = await RunAsync("audit", "report", _ledger, "--out", _consortium.PathOf("report"), "--summary", summary);

        Assert.Equal(2, run.Code);
        Assert.Contains(summary, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_CertificateWithoutCa_ExitsTwo()
    {
        _consortium.WriteGoodLedger(_ledger);
        var (coordinatorPem, _) = WriteCertificates();

        var run = await RunAsync("audit", "report", _ledger, "--out", _consortium.PathOf("report"), "--coordinator-cert", coordinatorPem);

        Assert.Equal(2, run.Code);
        Assert.Contains("--ca", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ReportWithoutOut_ReportsError()
    {
        var result = Program.BuildRoot().Parse(["audit", "report", "ledger.jsonl"]);

        Assert.Contains(result.Errors, e => e.Message.Contains("--out", StringComparison.Ordinal));
    }

    internal static Dictionary<int, double> Accuracy() => new() { [1] = 0.52, [2] = 0.67, [3] = 0.74, [4] = 0.81, [5] = 0.9 };

    private (string Coordinator, string Ca) WriteCertificates()
    {
        string coordinatorPem = _consortium.PathOf("coordinator.pem");
        string caPem = _consortium.PathOf("ca.pem");
        CertificateStore.WriteCertificate(coordinatorPem, _consortium.Coordinator);
        CertificateStore.WriteCertificate(caPem, _consortium.Ca.Certificate);
        return (coordinatorPem, caPem);
    }

    private static async Task<Run> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.BuildRoot().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return new Run(code, output.ToString(), error.ToString());
    }

    private sealed record Run(int Code, string Output, string Error);
}
