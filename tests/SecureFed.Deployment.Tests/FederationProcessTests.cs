using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// `securefed coordinator` and three `securefed agent`s as real processes on loopback, configured the way the containers
/// are (JSON files, absolute paths); one agent process is killed mid-round and the federation must still finish with a
/// consistent store.
/// </summary>
public sealed class FederationProcessTests(ITestOutputHelper output) : IDisposable
{
    private const int Rounds = 3;
    private static readonly TimeSpan StepTimeout = ProcessConsortium.StepTimeout;

    private readonly ProcessConsortium _consortium = new();

    [Fact]
    public async Task Coordinator_and_three_agent_processes_finish_three_rounds_after_one_agent_is_killed()
    {
        try
        {
            await _consortium.LaunchAsync(RepoPaths.File("data", "hospitals", "study.json"), Rounds, new JsonObject { ["MinCohort"] = 2 });
            var (coordinator, agents, store, certs) = (_consortium.Coordinator!, _consortium.Agents, _consortium.Store, _consortium.Certs);

            // Round 1 with all three silos, then kill silo 3's process as soon as round 2 has started.
            Assert.True(await coordinator.WaitForOutputAsync("Round 1 completed", TimeSpan.FromSeconds(90)), Transcripts());
            Assert.True(coordinator.Stdout.Contains("Round 1 started with 3 silos", StringComparison.Ordinal), Transcripts());
            Assert.True(await coordinator.WaitForOutputAsync("Round 2 started", StepTimeout), Transcripts());
            var victim = agents[2];
            victim.Kill();
            Assert.True(victim.HasExited);
            output.WriteLine($"killed {victim.Name} after: {LastLine(coordinator.Stdout)}");

            Assert.True(await coordinator.WaitForExitAsync(TimeSpan.FromSeconds(120)), Transcripts());
            Assert.True(coordinator.ExitCode == 0, Transcripts());
            Assert.Contains($"federation complete: {Rounds} rounds", coordinator.Stdout, StringComparison.Ordinal);
            foreach (var survivor in agents.Take(2))
            {
                Assert.True(await survivor.WaitForExitAsync(StepTimeout), Transcripts());
                Assert.True(survivor.ExitCode == 0, Transcripts());
                Assert.Contains("federation complete after 3 rounds", survivor.Stdout, StringComparison.Ordinal);
            }

            AssertStoreIntact(store);

            // The audit ledger beside the store verifies against the consortium CA: chain, signatures, epsilons.
            var entries = SecureFed.Audit.AuditLedger.Read(Path.ChangeExtension(store, ".ledger.jsonl"));
            using var coordinatorCertificate = SecureFed.Identity.CertificateStore.LoadCertificate(Path.Combine(certs, "coordinator.pem"));
            using var root = SecureFed.Identity.CertificateStore.LoadCertificate(Path.Combine(certs, "ca.pem"));
            var verdict = SecureFed.Audit.LedgerVerifier.Verify(entries, coordinatorCertificate, root, TimeProvider.System);
            Assert.True(verdict.Ok, verdict.Reason);
            Assert.Equal(Rounds, verdict.CompletedRounds);
            output.WriteLine(Transcripts());
        }
        finally
        {
            _consortium.KillAll();
        }
    }

    [Fact]
    public async Task A_record_level_study_runs_across_processes_and_each_silo_shows_its_epsilon_against_its_cap()
    {
        const int rounds = 2;
        try
        {
            // data/hospitals/study-record-dp.json: DP-SGD in every silo, calibrated to record-level epsilon 3 over its
            // planned rounds; each silo's own policy caps it at 4.
            await _consortium.LaunchAsync(
                RepoPaths.File("data", "hospitals", "study-record-dp.json"), rounds, new JsonObject { ["MinCohort"] = 2, ["RecordEpsilonCap"] = 4.0 });
            var (coordinator, agents, store, certs) = (_consortium.Coordinator!, _consortium.Agents, _consortium.Store, _consortium.Certs);

            // A fourth agent configured with another federation id gives up at once, with one line and exit code 3.
            var misconfigured = _consortium.StartAgent("agent-wrong-federation", 1, "another-federation", new JsonObject());
            Assert.True(await misconfigured.WaitForExitAsync(StepTimeout), misconfigured.Transcript());
            Assert.True(misconfigured.ExitCode == 3, misconfigured.Transcript());
            Assert.Contains("giving up: wrong federation", misconfigured.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", misconfigured.Stderr, StringComparison.Ordinal); // no stack trace

            Assert.True(await coordinator.WaitForExitAsync(TimeSpan.FromSeconds(180)), Transcripts());
            Assert.True(coordinator.ExitCode == 0, Transcripts());
            foreach (var agent in agents)
            {
                Assert.True(await agent.WaitForExitAsync(StepTimeout), Transcripts());
                Assert.True(agent.ExitCode == 0, Transcripts());
                for (var round = 1; round <= rounds; round++)
                {
                    Assert.Contains($"Round {round}: this silo's record-level epsilon is ", agent.Stdout, StringComparison.Ordinal);
                }

                Assert.Contains("(cap 4;", agent.Stdout, StringComparison.Ordinal);
            }

            // The coordinator's ledger logs each silo's DP-SGD per round; the verifier recomputes each silo's epsilon
            // from it, and that is what the silo's own privacy ledger says it spent.
            var ledger = Path.ChangeExtension(store, ".ledger.jsonl");
            var entries = SecureFed.Audit.AuditLedger.Read(ledger);
            using var coordinatorCertificate = SecureFed.Identity.CertificateStore.LoadCertificate(Path.Combine(certs, "coordinator.pem"));
            using var root = SecureFed.Identity.CertificateStore.LoadCertificate(Path.Combine(certs, "ca.pem"));
            var verdict = SecureFed.Audit.LedgerVerifier.Verify(entries, coordinatorCertificate, root, TimeProvider.System);
            Assert.True(verdict.Ok, verdict.Reason);
            var training = entries.Where(e => e.Kind is null or "training" && e.Status == SecureFed.Audit.RoundStatus.Completed).ToList();
            Assert.Equal(rounds, training.Count);
            Assert.All(training, e => Assert.Equal(["silo-1", "silo-2", "silo-3"], e.RecordPrivacy!.Select(r => r.SiloId)));
            Assert.Equal(["silo-1", "silo-2", "silo-3"], verdict.RecordEpsilon.Keys);
            for (var i = 1; i <= 3; i++)
            {
                var spent = verdict.RecordEpsilon[$"silo-{i}"];
                Assert.InRange(spent, 0.01, 3.0);
                Assert.Equal(new SecureFed.Agent.SiloPrivacyLedger(SiloLedger(i)).RecordEpsilon("rdp", 1e-5), spent, 9);
            }

            // What an auditor runs: the CLI states each silo's record-level epsilon next to the verdict.
            using var verify = Start("verify", null, "audit", "verify", ledger, "--coordinator-cert", Path.Combine(certs, "coordinator.pem"), "--ca", Path.Combine(certs, "ca.pem"));
            Assert.True(await verify.WaitForExitAsync(StepTimeout), verify.Transcript());
            Assert.True(verify.ExitCode == 0, verify.Transcript());
            Assert.Contains("record-level epsilon silo-1 ", verify.Stdout, StringComparison.Ordinal);

            // The report of this real coordinator's ledger (no --summary), with the silos' own ledgers handed over:
            // silo-1's as it is, silo-2's with one DP-SGD run's noise multiplier edited.
            var tampered = Path.Combine(_consortium.Directory, "silo-2-tampered.jsonl");
            var lines = File.ReadAllLines(SiloLedger(2));
            var first = System.Text.Json.Nodes.JsonNode.Parse(lines[0])!.AsObject();
            first["NoiseMultiplier"] = first["NoiseMultiplier"]!.GetValue<double>() * 2;
            lines[0] = first.ToJsonString();
            File.WriteAllLines(tampered, lines);
            var reportDir = Path.Combine(_consortium.Directory, "audit");
            using var report = Start("report", null, "audit", "report", ledger, "--out", reportDir, "--coordinator-cert", Path.Combine(certs, "coordinator.pem"),
                "--ca", Path.Combine(certs, "ca.pem"), "--silo-ledger", SiloLedger(1), "--silo-ledger", tampered);
            Assert.True(await report.WaitForExitAsync(StepTimeout), report.Transcript());
            Assert.True(report.ExitCode == 1, report.Transcript());
            Assert.Contains($"error: silo ledger {tampered}: verification FAILED at entry 1: its hash ", report.Stderr, StringComparison.Ordinal);
            Assert.Contains($"silo ledger {SiloLedger(1)}: verified, {rounds} releases of this federation agree with the coordinator's ledger", report.Stdout, StringComparison.Ordinal);
            var finalModel = training[^1].ModelHashAfter;
            Assert.Contains($"final model hash: {finalModel}\n", report.Stdout, StringComparison.Ordinal);
            Assert.Contains($"study: hospitals-breast-cancer-record-dp, hash {training[^1].StudyHash}", report.Stdout, StringComparison.Ordinal);
            Assert.Contains("model kind: ", report.Stdout, StringComparison.Ordinal);
            Assert.Contains($"planned rounds: {rounds}", report.Stdout, StringComparison.Ordinal);
            Assert.Contains("accuracy by round (federated evaluation in the ledger):", report.Stdout, StringComparison.Ordinal);
            Assert.Contains("  round 1: accuracy ", report.Stdout, StringComparison.Ordinal);
            var html = File.ReadAllText(Path.Combine(reportDir, "report.html"));
            Assert.Contains($"<td id=\"final-model\" class=\"hash\">{finalModel}</td>", html, StringComparison.Ordinal);
            Assert.Contains("data-status=\"failed\"", html, StringComparison.Ordinal);
            output.WriteLine(report.Stdout);
            output.WriteLine(Transcripts());
        }
        finally
        {
            _consortium.KillAll();
        }
    }

    public void Dispose() => _consortium.Dispose();

    private void AssertStoreIntact(string store)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = store, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var connection = new SqliteConnection(cs);
        connection.Open();
        using (var check = connection.CreateCommand())
        {
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", check.ExecuteScalar() as string);
        }

        using (var statistics = connection.CreateCommand())
        {
            // Round 0: the three silos' feature statistics, summed securely before round 1.
            statistics.CommandText = "SELECT contributors FROM rounds WHERE round = 0 AND kind = 'statistics' AND status = 'completed'";
            Assert.Equal(3L, statistics.ExecuteScalar());
        }

        var rows = new List<(long Round, long Attempt, string Status, string? Before, string? After, long Contributors)>();
        using (var query = connection.CreateCommand())
        {
            query.CommandText = "SELECT round, attempt, status, model_hash_before, model_hash_after, contributors FROM rounds WHERE kind = 'training' ORDER BY round, attempt";
            using var reader = query.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5)));
            }
        }

        var table = string.Join("\n", rows.Select(r => $"round {r.Round} attempt {r.Attempt} {r.Status} ({r.Contributors} contributors) {r.Before} -> {r.After}"));
        output.WriteLine(table);
        Assert.DoesNotContain(rows, r => r.Status == "running");
        var completed = rows.Where(r => r.Status == "completed").ToList();
        Assert.True(completed.Count == Rounds, table);
        Assert.Equal(Enumerable.Range(1, Rounds).Select(r => (long)r), completed.Select(r => r.Round));
        Assert.True(completed[0].Contributors == 3, table);
        Assert.True(completed[^1].Contributors == 2, $"the killed silo cannot contribute to the last round:\n{table}");
        for (var i = 0; i < completed.Count; i++)
        {
            Assert.False(string.IsNullOrEmpty(completed[i].Before), table);
            Assert.False(string.IsNullOrEmpty(completed[i].After), table);
            if (i > 0)
            {
                Assert.True(completed[i].Before == completed[i - 1].After, $"hash chain broken at round {completed[i].Round}:\n{table}");
            }
        }
    }

    private string SiloLedger(int silo) => _consortium.SiloLedger(silo);

    private ChildProcess Start(string name, Dictionary<string, string>? environment, params string[] args) => _consortium.Start(name, environment, args);

    private string Transcripts() => _consortium.Transcripts();

    private static string LastLine(string text) => text.TrimEnd().Split('\n')[^1];
}
