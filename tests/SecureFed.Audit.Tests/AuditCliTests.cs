using System.CommandLine;
using System.Text.Json;
using SecureFed.Cli;
using SecureFed.Identity;

namespace SecureFed.Audit.Tests;

/// <summary><c>securefed audit verify</c>: exit codes 0/1/2 and what it prints, through the invocation's own writers.</summary>
public sealed class AuditCliTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();
    private readonly string _ledger;
    private readonly string _coordinatorPem;
    private readonly string _caPem;

    public AuditCliTests()
    {
        _ledger = _consortium.PathOf("ledger.jsonl");
        _coordinatorPem = _consortium.PathOf("coordinator.pem");
        _caPem = _consortium.PathOf("ca.pem");
        CertificateStore.WriteCertificate(_coordinatorPem, _consortium.Coordinator);
        CertificateStore.WriteCertificate(_caPem, _consortium.Ca.Certificate);
    }

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public async Task Verify_GoodLedger_ExitsZeroWithOneLineSummary()
    {
        var entries = _consortium.WriteGoodLedger(_ledger);

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", _caPem);

        Assert.Equal(0, run.Code);
        Assert.Equal("", run.Error);
        string line = Assert.Single(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("OK: 6 entries, 5 completed rounds, epsilon ", line, StringComparison.Ordinal);
        Assert.Contains("(rdp)", line, StringComparison.Ordinal);
        Assert.Contains("(exact)", line, StringComparison.Ordinal);
        Assert.EndsWith($"head {entries[^1].EntryHash}", line.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_GoodLedgerAsJson_PrintsVerdictWithFinalEpsilon()
    {
        _consortium.WriteGoodLedger(_ledger);
        var expected = LedgerEpsilons.Compute([1.1, 1.05, 1.1, 0.97, 1.2], TestConsortium.Delta);

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", _caPem, "--json");

        Assert.Equal(0, run.Code);
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("failed_entry").ValueKind);
        Assert.Equal(6, root.GetProperty("entries").GetInt32());
        Assert.Equal(expected.Rdp, root.GetProperty("epsilon").GetProperty("rdp").GetDouble());
        Assert.Equal(expected.Exact, root.GetProperty("epsilon").GetProperty("exact").GetDouble());
        Assert.Equal(TestConsortium.Delta, root.GetProperty("delta").GetDouble());
    }

    [Fact]
    public async Task Verify_TamperedLedger_ExitsOneNamingTheEntry()
    {
        var entries = _consortium.WriteGoodLedger(_ledger).ToList();
        entries[4] = entries[4] with { ModelHashAfter = TestConsortium.Hex(777) };
        TestConsortium.WriteRaw(_ledger, entries);

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", _caPem);

        Assert.Equal(1, run.Code);
        Assert.Equal("FAILED: entry 5: entry hash does not match its contents (the entry was modified after signing)", run.Output.TrimEnd());
    }

    [Fact]
    public async Task Verify_TamperedLedgerAsJson_NamesFailedEntry()
    {
        var entries = _consortium.WriteGoodLedger(_ledger).ToList();
        entries.RemoveAt(1);
        TestConsortium.WriteRaw(_ledger, entries);

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", _caPem, "--json");

        Assert.Equal(1, run.Code);
        using var json = JsonDocument.Parse(run.Output);
        Assert.False(json.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(3, json.RootElement.GetProperty("failed_entry").GetInt64());
        Assert.Equal("entry 2 missing: sequence jumps from 1 to 3", json.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Verify_ForeignCa_ExitsOne()
    {
        using var foreign = TestConsortium.Create("foreign");
        string foreignCa = _consortium.PathOf("foreign-ca.pem");
        CertificateStore.WriteCertificate(foreignCa, foreign.Ca.Certificate);
        _consortium.WriteGoodLedger(_ledger);

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", foreignCa);

        Assert.Equal(1, run.Code);
        Assert.StartsWith("FAILED: the coordinator certificate is not accepted", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ledger")]
    [InlineData("coordinator")]
    [InlineData("ca")]
    public async Task Verify_MissingFile_ExitsTwoNamingIt(string missing)
    {
        _consortium.WriteGoodLedger(_ledger);
        string absent = _consortium.PathOf("absent.pem");
        string ledger = missing == "ledger" ? absent : _ledger;
        string coordinator = missing == "coordinator" ? absent : _coordinatorPem;
        string ca = missing == "ca" ? absent : _caPem;

        var run = await RunAsync("audit", "verify", ledger, "--coordinator-cert", coordinator, "--ca", ca);

        Assert.Equal(2, run.Code);
        Assert.Equal("", run.Output);
        Assert.StartsWith("error: ", run.Error, StringComparison.Ordinal);
        Assert.Contains(absent, run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Verify_MalformedLedger_ExitsTwoNamingTheLine()
    {
        _consortium.WriteGoodLedger(_ledger);
        var lines = File.ReadAllLines(_ledger);
        lines[3] = "{not json";
        File.WriteAllLines(_ledger, lines);

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", _caPem);

        Assert.Equal(2, run.Code);
        Assert.Contains("line 4", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_CertificateFileNotPem_ExitsTwo()
    {
        _consortium.WriteGoodLedger(_ledger);
        File.WriteAllText(_caPem, "not a certificate\n");

        var run = await RunAsync("audit", "verify", _ledger, "--coordinator-cert", _coordinatorPem, "--ca", _caPem);

        Assert.Equal(2, run.Code);
        Assert.Contains(_caPem, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VerifyWithoutCertificates_ReportsErrors()
    {
        var result = Program.BuildRoot().Parse(["audit", "verify", "ledger.jsonl"]);

        Assert.Contains(result.Errors, e => e.Message.Contains("--coordinator-cert", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("--ca", StringComparison.Ordinal));
    }

    [Fact]
    public void Audit_EveryCommandOptionAndArgument_HasHelpText()
    {
        var audit = Assert.Single(Program.BuildRoot().Subcommands, c => c.Name == "audit");
        var commands = new[] { audit }.Concat(audit.Subcommands).ToList();

        Assert.Contains(commands, c => c.Name == "verify");
        Assert.All(commands, c => Assert.False(string.IsNullOrWhiteSpace(c.Description), $"command {c.Name} has no description"));
        Assert.All(commands.SelectMany(c => c.Options), o => Assert.False(string.IsNullOrWhiteSpace(o.Description), $"option {o.Name} has no description"));
        Assert.All(commands.SelectMany(c => c.Arguments), a => Assert.False(string.IsNullOrWhiteSpace(a.Description), $"argument {a.Name} has no description"));
    }

    [Fact]
    public async Task Report_GoodAndTamperedSiloLedger_WritesBothExitsOneAndNamesTheTamperedFileAndEntry()
    {
        _consortium.WriteGoodLedger(_ledger);
        string good = _consortium.PathOf("silo-1.jsonl");
        var silo = new SecureFed.Agent.SiloPrivacyLedger(good);
        foreach (int round in new[] { 1, 2, 4 })
        {
            silo.Record("fed-1", round, 0.9, planHash: TestConsortium.Hex(round * 7 + 1), stamp: new SecureFed.Agent.SiloLedgerStamp("silo-1", "rdp", 1e-5, 0));
        }

        string bad = _consortium.PathOf("silo-1-tampered.jsonl");
        var lines = File.ReadAllLines(good);
        lines[1] = lines[1].Replace("\"NoiseMultiplier\":0.9", "\"NoiseMultiplier\":0.5", StringComparison.Ordinal);
        File.WriteAllLines(bad, lines);
        string outDir = _consortium.PathOf("report");

        var both = await RunAsync("audit", "report", _ledger, "--out", outDir, "--coordinator-cert", _coordinatorPem, "--ca", _caPem, "--silo-ledger", good, "--silo-ledger", bad);
        using var bothJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        var goodOnly = await RunAsync("audit", "report", _ledger, "--out", outDir, "--coordinator-cert", _coordinatorPem, "--ca", _caPem, "--silo-ledger", good);
        var missing = await RunAsync("audit", "report", _ledger, "--out", outDir, "--silo-ledger", _consortium.PathOf("nope.jsonl"));

        Assert.Equal(1, both.Code);
        string error = Assert.Single(both.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: silo ledger {bad}: verification FAILED at entry 2: its hash ", error, StringComparison.Ordinal);
        Assert.Contains($"silo ledger {good}: verified", both.Output, StringComparison.Ordinal);
        Assert.Contains("ledger verified", both.Output, StringComparison.Ordinal);
        Assert.Equal(["verified", "failed"], bothJson.RootElement.GetProperty("silo_ledgers").EnumerateArray().Select(l => l.GetProperty("status").GetString()));
        Assert.Equal(2, bothJson.RootElement.GetProperty("silo_ledgers")[1].GetProperty("failed_entry").GetInt64());
        Assert.Equal(0, goodOnly.Code);
        Assert.Equal("", goodOnly.Error);
        Assert.Contains($"final model hash: {TestConsortium.Hex(1006)}", goodOnly.Output, StringComparison.Ordinal);
        Assert.Equal(goodOnly.Output[goodOnly.Output.IndexOf("SecureFed audit report", StringComparison.Ordinal)..], File.ReadAllText(Path.Combine(outDir, "report.txt")));
        Assert.Equal(2, missing.Code);
        Assert.Equal($"error: The silo ledger file '{_consortium.PathOf("nope.jsonl")}' does not exist.", missing.Error.TrimEnd());
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
