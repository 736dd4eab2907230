using System.Text.Json;
using SecureFed.Hosting;
using SecureFed.Training;

namespace SecureFed.Federation.Tests;

/// <summary>The whole product end to end: real data, real TorchSharp training, coordinator and agents over loopback mTLS.</summary>
public sealed class SimulationTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "securefed-sim-tests", Guid.NewGuid().ToString("N"));

    public SimulationTests()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
    }

    [Fact]
    public async Task Simulate_BreastCancerFiveSilosTwentyRounds_ReachesAccuracyAndWritesSummary()
    {
        var options = new SimulationOptions { Dataset = "breast-cancer", Silos = 5, Rounds = 20, OutputDirectory = _out };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(20, result.Outcome.RoundsCompleted);
        Assert.True(result.Outcome.FinalAccuracy >= 0.93, $"held-out accuracy {result.Outcome.FinalAccuracy:F4} < 0.93");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "summary.json")));
        var root = summary.RootElement;
        Assert.Equal(result.Outcome.FinalAccuracy, root.GetProperty("final_accuracy").GetDouble(), 10);
        Assert.Equal(20, root.GetProperty("rounds_completed").GetInt32());
        Assert.Equal(5, root.GetProperty("silos").GetInt32());
        Assert.Equal("breast-cancer", root.GetProperty("dataset").GetString());
        // The statistics round (round 0: federated feature statistics) and the 20 training rounds.
        Assert.Equal(21, root.GetProperty("rounds").GetArrayLength());
        Assert.Equal("statistics", root.GetProperty("rounds")[0].GetProperty("kind").GetString());
        Assert.Equal("federated", root.GetProperty("evaluation").GetString());
        Assert.Equal(root.GetProperty("rounds")[20].GetProperty("evaluation").GetProperty("accuracy").GetDouble(), result.Outcome.FinalAccuracy, 10);
        Assert.True(File.Exists(Path.Combine(_out, "federation.db")));
        // The run's CA and coordinator keys are kept for a resume, only in keys/ and readable by the owner alone;
        // every other file written holds no private key (the silos' keys are re-issued and stay in memory).
        var keys = Path.Combine(_out, "keys") + Path.DirectorySeparatorChar;
        Assert.All(Directory.GetFiles(_out, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".db", StringComparison.Ordinal) && !f.StartsWith(keys, StringComparison.Ordinal)),
            f => Assert.DoesNotContain("PRIVATE KEY", File.ReadAllText(f), StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            foreach (var key in Directory.GetFiles(keys))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            }
        }

        Assert.Equal(2, Directory.GetFiles(keys).Length);
        Assert.True(File.Exists(Path.Combine(_out, "federation.ledger.jsonl")));
        Assert.True(File.Exists(Path.Combine(_out, "report.html")));
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        Assert.Contains("verified", report.RootElement.GetRawText(), StringComparison.Ordinal);
        var verify = await SecureFed.Cli.Program.BuildRoot()
            .Parse(["audit", "verify", Path.Combine(_out, "federation.ledger.jsonl"), "--coordinator-cert", Path.Combine(_out, "coordinator.pem"), "--ca", Path.Combine(_out, "ca.pem")])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() });
        Assert.Equal(0, verify);
    }

    [Fact]
    public async Task Simulate_DigitsMlpFiveSilos_ReachesAccuracy()
    {
        var options = new SimulationOptions { Dataset = "digits", Silos = 5, Rounds = 12, Model = "mlp", OutputDirectory = _out };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(4));

        Assert.Equal(12, result.Outcome.RoundsCompleted);
        Assert.True(result.Outcome.FinalAccuracy >= 0.90, $"held-out accuracy {result.Outcome.FinalAccuracy:F4} < 0.90");
    }

    [Fact]
    public async Task Simulate_ExistingOutputFolder_RefusesToOverwrite()
    {
        Directory.CreateDirectory(_out);
        await File.WriteAllTextAsync(Path.Combine(_out, "federation.db"), "");
        var options = new SimulationOptions { Silos = 2, Rounds = 1, OutputDirectory = _out };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => FederationSimulation.RunAsync(options, null, CancellationToken.None));

        Assert.Contains("already holds a federation", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("label-skew:0.5")]
    [InlineData("feature:mean_radius")]
    public async Task Simulate_NonIidPartitions_CompleteEveryRound(string partition)
    {
        var options = new SimulationOptions { Silos = 3, Rounds = 3, Partition = partition, OutputDirectory = _out };

        var result = await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(3, result.Outcome.RoundsCompleted);
        Assert.All(result.Outcome.Rounds, r => Assert.Equal(3, r.Contributors));
        Assert.True(result.Outcome.FinalAccuracy > 0.6, $"accuracy {result.Outcome.FinalAccuracy:F4}");
    }

    [Fact]
    public async Task Simulate_Traces_CoordinatorAndAgentSpansShareOneTracePerRoundWithStageStructure()
    {
        var options = new SimulationOptions { Silos = 3, Rounds = 2, OutputDirectory = _out, Seed = 4242 };

        await FederationSimulation.RunAsync(options, null, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));

        var spans = File.ReadAllLines(Path.Combine(_out, "traces.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        static string Attr(JsonElement s, string key) =>
            s.GetProperty("attributes").TryGetProperty(key, out var v) ? v.GetString() ?? "" : "";
        var all = spans.Where(s => s.GetProperty("name").GetString() == "securefed.round" && Attr(s, "securefed.federation_id") == "sim-breast-cancer-4242").ToList();
        Assert.Equal(3, all.Count); // the statistics round and two training rounds
        Assert.Equal(3, all.Select(r => r.GetProperty("trace_id").GetString()).Distinct().Count());
        Assert.Single(all, r => Attr(r, "securefed.round_kind") == "statistics");
        var rounds = all.Where(r => Attr(r, "securefed.round_kind") == "training").ToList();
        Assert.Equal(2, rounds.Count);
        string[] secureSum = ["securefed.stage.advertise_keys", "securefed.stage.share_keys", "securefed.stage.masked_input", "securefed.stage.consistency_check", "securefed.stage.unmask"];
        foreach (var round in rounds)
        {
            var traceId = round.GetProperty("trace_id").GetString();
            var inTrace = spans.Where(s => s.GetProperty("trace_id").GetString() == traceId).ToList();
            var stages = inTrace.Where(s => s.GetProperty("source").GetString() == "SecureFed.Coordinator" && s.GetProperty("name").GetString()!.StartsWith("securefed.stage.", StringComparison.Ordinal)).ToList();
            // One secure sum for the training deltas, then the new model goes out and one secure sum of evaluation sums.
            Assert.Equal(
                ["securefed.stage.plan", .. secureSum, "securefed.stage.evaluate", .. secureSum],
                stages.OrderBy(s => s.GetProperty("start").GetString(), StringComparer.Ordinal).Select(s => s.GetProperty("name").GetString()));
            Assert.Equal(5, stages.Count(s => Attr(s, "securefed.task") == "evaluation" && s.GetProperty("name").GetString() != "securefed.stage.evaluate"));
            Assert.All(stages, s => Assert.Equal(round.GetProperty("span_id").GetString(), s.GetProperty("parent_span_id").GetString()));
            var silo = inTrace.Where(s => s.GetProperty("source").GetString() == "SecureFed.Agent").ToList();
            Assert.Equal(3, silo.Select(s => Attr(s, "securefed.silo_id")).Distinct().Count());
            var stageIds = stages.Select(s => s.GetProperty("span_id").GetString()).ToHashSet();
            Assert.All(silo, s => Assert.Contains(s.GetProperty("parent_span_id").GetString(), stageIds));
        }

        var ledger = SecureFed.Audit.AuditLedger.Read(Path.Combine(_out, "federation.ledger.jsonl"));
        Assert.Equal(all.Select(r => r.GetProperty("trace_id").GetString()).Order(), ledger.Select(e => e.TraceId).Order());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_out, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing written
        }
    }
}
