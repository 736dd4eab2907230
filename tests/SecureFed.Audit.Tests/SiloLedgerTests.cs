using System.Text.Json.Nodes;
using SecureFed.Agent;
using SecureFed.Audit.Reports;

namespace SecureFed.Audit.Tests;

/// <summary>
/// A silo's own ledger (<see cref="SiloPrivacyLedger"/>): each entry states the epsilon after it and is hash-chained;
/// <see cref="SiloLedgerVerifier"/> verifies a file the silo hands over and compares it with the coordinator's ledger.
/// </summary>
public sealed class SiloLedgerTests : IDisposable
{
    private static readonly SiloLedgerStamp Stamp = new("silo-1", "rdp", 1e-5, 6.0);
    private readonly TestConsortium _consortium = TestConsortium.Create("silo-ledger");

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void Record_WithStamp_StatesTheSilosEpsilonAfterEachReleaseAndVerifies()
    {
        string path = WriteSiloLedger();

        var entries = SiloLedgerVerifier.Read(path);
        var verdict = SiloLedgerVerifier.Verify(entries);

        Assert.True(verdict.Ok, verdict.Reason);
        Assert.Equal(0, verdict.UnchainedEntries);
        Assert.Equal(3, entries.Count);
        Assert.All(entries, e => Assert.Equal("silo-1", e.SiloId));
        Assert.All(entries, e => Assert.Equal(6.0, e.EpsilonCap));
        var reopened = new SiloPrivacyLedger(path);
        Assert.Equal(reopened.Epsilon(Privacy.AccountantKind.Rdp, 1e-5), entries[^1].Epsilon!.Value, 12);
        Assert.True(entries[0].Epsilon < entries[1].Epsilon && entries[1].Epsilon < entries[2].Epsilon);
        Assert.Equal(LedgerEntry.GenesisHash, entries[0].PreviousHash);
        Assert.Equal(entries[0].Hash, entries[1].PreviousHash);
    }

    [Fact]
    public void Record_WritesEachLineWithTheFilesPropertiesInTheirOrder()
    {
        string path = _consortium.PathOf("silo-format.jsonl");
        var ledger = new SiloPrivacyLedger(path);
        ledger.Record("fed-1", 1, 0.9, planHash: "aa", stamp: Stamp);
        ledger.RecordTraining("fed-1", 1, new RecordSpend(1.1, 0.01, 30, 1e-5, "rdp"), "silo-1", 8.0, "aa");

        var lines = File.ReadAllLines(path);

        Assert.Equal(2, lines.Length);
        string[] names =
        [
            "FederationId", "Round", "NoiseMultiplier", "SamplingRate", "At", "Task", "Steps", "PlanHash", "SiloId",
            "Epsilon", "Delta", "Accountant", "EpsilonCap", "PreviousHash", "Hash",
        ];
        Assert.All(lines, line => Assert.Equal(names, JsonNode.Parse(line)!.AsObject().Select(p => p.Key)));
        Assert.StartsWith("""{"FederationId":"fed-1","Round":1,"NoiseMultiplier":0.9,"SamplingRate":1,"At":""", lines[0], StringComparison.Ordinal);
        Assert.Contains(""","Task":null,"Steps":1,"PlanHash":"aa","SiloId":"silo-1",""", lines[0], StringComparison.Ordinal);
        Assert.Contains(""","Task":"record","Steps":30,"PlanHash":"aa","SiloId":"silo-1",""", lines[1], StringComparison.Ordinal);
        Assert.Contains(""","Delta":1E-05,"Accountant":"rdp","EpsilonCap":8,""", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_NoiseMultiplierEdited_FailsNamingTheEntry()
    {
        string path = WriteSiloLedger();
        Edit(path, 1, e => e["NoiseMultiplier"] = 5.0);

        var verdict = SiloLedgerVerifier.Verify(SiloLedgerVerifier.Read(path));

        Assert.False(verdict.Ok);
        Assert.Equal(2, verdict.FailedEntry);
        Assert.StartsWith("entry 2: its hash ", verdict.Reason, StringComparison.Ordinal);
        Assert.EndsWith("the entry was changed", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_EpsilonEditedAndEntryRehashed_FailsOnTheRecomputedEpsilon()
    {
        string path = WriteSiloLedger();
        var entries = SiloLedgerVerifier.Read(path).ToList();
        entries[2] = entries[2] with { Epsilon = 0.5 };
        // The forger recomputes the hash (the file is not signed): the epsilon still gives it away.
        entries[2] = entries[2] with { Hash = SiloLedgerCanonicalForm.Hash(entries[2], 3, entries[1].Hash!) };

        var verdict = SiloLedgerVerifier.Verify(entries);

        Assert.False(verdict.Ok);
        Assert.Equal(3, verdict.FailedEntry);
        Assert.Contains("it states epsilon 0.5, but its releases up to it give ", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_FileWrittenBeforeTheChain_StaysReadableAndTheChainCoversItsEntries()
    {
        string path = _consortium.PathOf("old-silo.jsonl");
        File.WriteAllLines(path,
        [
            """{"FederationId":"fed-1","Round":1,"NoiseMultiplier":1.0,"SamplingRate":1,"At":"2026-11-27T08:11:00+00:00","Task":null,"Steps":1,"PlanHash":"aa"}""",
            """{"FederationId":"fed-1","Round":2,"NoiseMultiplier":1.0,"SamplingRate":1,"At":"2026-11-27T08:21:00+00:00","Task":null,"Steps":1,"PlanHash":"bb"}""",
        ]);
        Assert.Contains("no entry carries a hash", SiloLedgerVerifier.Verify(SiloLedgerVerifier.Read(path)).Reason, StringComparison.Ordinal);

        var ledger = new SiloPrivacyLedger(path);
        ledger.Record("fed-1", 3, 1.0, planHash: "cc", stamp: Stamp);
        var verdict = SiloLedgerVerifier.Verify(SiloLedgerVerifier.Read(path));
        Assert.True(verdict.Ok, verdict.Reason);
        Assert.Equal(2, verdict.UnchainedEntries);
        Assert.Equal(ledger.Epsilon(Privacy.AccountantKind.Rdp, 1e-5), SiloLedgerVerifier.Read(path)[2].Epsilon!.Value, 12);

        Edit(path, 0, e => e["NoiseMultiplier"] = 9.0);
        var tampered = SiloLedgerVerifier.Verify(SiloLedgerVerifier.Read(path));
        Assert.False(tampered.Ok);
        Assert.Equal(3, tampered.FailedEntry);
    }

    [Fact]
    public void Compare_WithCoordinatorLedger_AgreesForItsAttemptsAndNamesAPlanTheCoordinatorNeverRan()
    {
        var coordinator = _consortium.WriteGoodLedger(_consortium.PathOf("ledger.jsonl"));
        string path = WriteSiloLedger();
        new SiloPrivacyLedger(path).Record("fed-1", 4, 1.0, planHash: TestConsortium.Hex(999), stamp: Stamp);

        var agreements = SiloLedgerVerifier.Compare(SiloLedgerVerifier.Read(path), coordinator, "fed-1");

        Assert.Equal(
            [SiloLedgerAgreement.Agrees, SiloLedgerAgreement.Agrees, SiloLedgerAgreement.Agrees, SiloLedgerAgreement.Disagrees],
            agreements.Select(a => a.Verdict));
        Assert.Equal($"the coordinator's ledger has no attempt with plan hash {TestConsortium.Hex(999)} (round 4)", agreements[3].Detail);
    }

    [Fact]
    public void Compare_SiloPricedMoreNoiseThanTheCoordinatorCharged_Disagrees()
    {
        var coordinator = _consortium.WriteGoodLedger(_consortium.PathOf("ledger.jsonl"));
        string path = _consortium.PathOf("silo.jsonl");
        // Round 4 was charged at z 0.97; a silo claiming 1.0 under-counts its epsilon.
        new SiloPrivacyLedger(path).Record("fed-1", 4, 1.0, planHash: TestConsortium.Hex(4 * 7 + 1), stamp: Stamp);

        var agreement = Assert.Single(SiloLedgerVerifier.Compare(SiloLedgerVerifier.Read(path), coordinator, "fed-1"));

        Assert.Equal(SiloLedgerAgreement.Disagrees, agreement.Verdict);
        Assert.Contains("more noise than coordinator entry 5 charged (z 0.97)", agreement.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_GoodAndTamperedSiloLedgers_ShowsOneVerifiedAndOneFailedNamingFileAndEntry()
    {
        var coordinator = _consortium.WriteGoodLedger(_consortium.PathOf("ledger.jsonl"));
        string good = WriteSiloLedger();
        string bad = _consortium.PathOf("silo-2.jsonl");
        File.Copy(good, bad);
        Edit(bad, 2, e => e["Epsilon"] = 0.01);

        var report = AuditReport.Build(coordinator, new ReportContext
        {
            SiloLedgers = [new SiloLedgerFile("silo-1.jsonl", SiloLedgerVerifier.Read(good)), new SiloLedgerFile("silo-2.jsonl", SiloLedgerVerifier.Read(bad))],
        });

        Assert.Equal([ReportVerification.Verified, ReportVerification.Failed], report.SiloLedgers.Select(l => l.Status));
        Assert.Null(report.SiloLedgers[0].Problem);
        Assert.StartsWith("silo ledger silo-2.jsonl: verification FAILED at entry 3: its hash ", report.SiloLedgers[1].Problem, StringComparison.Ordinal);
        string text = ReportWriter.ToText(report);
        Assert.Contains("silo ledger silo-1.jsonl: verified, 3 releases of this federation agree with the coordinator's ledger", text, StringComparison.Ordinal);
        Assert.Contains("(cap 6) rdp at delta 1E-05, agrees", text, StringComparison.Ordinal);
        string html = ReportWriter.ToHtml(report);
        Assert.Contains("<section id=\"silo-ledgers\">", html, StringComparison.Ordinal);
        Assert.Contains("data-status=\"failed\"", html, StringComparison.Ordinal);
        string json = ReportWriter.ToJson(report);
        Assert.Contains("\"silo_ledgers\": [", json, StringComparison.Ordinal);
    }

    /// <summary>Three training releases of silo-1 in fed-1, rounds 1, 2 and 4 of <see cref="TestConsortium.WriteGoodLedger"/>, priced at the plan's z 0.9.</summary>
    private string WriteSiloLedger()
    {
        string path = _consortium.PathOf("silo.jsonl");
        var ledger = new SiloPrivacyLedger(path);
        foreach (int round in new[] { 1, 2, 4 })
        {
            ledger.Record("fed-1", round, 0.9, planHash: TestConsortium.Hex(round * 7 + 1), stamp: Stamp);
        }

        return path;
    }

    private static void Edit(string path, int index, Action<JsonObject> edit)
    {
        var lines = File.ReadAllLines(path);
        var node = JsonNode.Parse(lines[index])!.AsObject();
        edit(node);
        lines[index] = node.ToJsonString();
        File.WriteAllLines(path, lines);
    }
}
