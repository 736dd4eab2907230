using Grpc.Core;
using SecureFed.Contracts.V1;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>Secure aggregation over the real gRPC streams: the coordinator learns the sum and nothing else.</summary>
public sealed class SecureAggregationTests
{
    private static readonly SecureAggregationPlan Secure32 = new(RingBits: 32, ScaleBits: 16, MaxAbsValue: 16);

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public async Task SecureRound_ThreeSilos_AggregateEqualsPlainMeanExactly(int ringBits)
    {
        await using var fed = new TestFederation(3);
        var options = fed.Options(rounds: 2, minSilos: 2) with { SecureAggregation = Secure32 with { RingBits = ringBits } };
        var coordinator = await fed.StartCoordinatorAsync(options);
        fed.StartAgent("silo-1", new FakeTrainer(1f, examples: 10));
        fed.StartAgent("silo-2", new FakeTrainer(2f, examples: 99));
        fed.StartAgent("silo-3", new FakeTrainer(6f, examples: 10));

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(2, outcome.RoundsCompleted);
        // Unweighted mean (3) per round, exact in fixed point: examples counts never reach the coordinator.
        Assert.Equal(2 * 3.0, outcome.FinalLoss, 9);
        Assert.All(outcome.Rounds, r => Assert.Equal(new(3, 3, 3, 3, 3), r.StageCounts));
    }

    [Fact]
    public async Task SecureRound_EveryVectorTheCoordinatorReceives_MatchesNoSilosUpdate()
    {
        await using var fed = new TestFederation(3, parameters: 64);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 2) with { SecureAggregation = Secure32, MaxChunkFloats = 16 });
        var values = new[] { 0.125f, 0.25f, 0.375f };
        for (var i = 0; i < 3; i++)
        {
            fed.StartAgent($"silo-{i + 1}", new FakeTrainer(values[i]));
        }

        await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        var inbound = fed.Inbound.ToList();
        Assert.DoesNotContain(inbound, m => m.Message.BodyCase == AgentMessage.BodyOneofCase.UpdateChunk);
        var masked = inbound.Where(m => m.Message.BodyCase == AgentMessage.BodyOneofCase.MaskedInputChunk).ToList();
        Assert.NotEmpty(masked);
        var encoded = values.Select(v => (ulong)(long)(v * 65536)).ToHashSet();
        var all = masked.SelectMany(m => MaskedWords.Decode(m.Message.MaskedInputChunk, 32)).ToList();
        Assert.Equal(2 * 3 * 64, all.Count);
        // A masked coordinate equal to a plain encoded value would happen by chance with probability 3/2^32 each.
        Assert.DoesNotContain(all, encoded.Contains);
        // The same silo's masked input differs between rounds although its update is the same.
        var bySilo = masked.GroupBy(m => m.SiloId).Single(g => g.Key == "silo-1").Select(m => MaskedWords.Decode(m.Message.MaskedInputChunk, 32)).ToList();
        Assert.NotEqual(bySilo[0], bySilo[^1]);
        // Nothing the coordinator stored is an individual update: only the initial model and the aggregates.
        Assert.Equal(3, coordinator.Store.ModelHistory().Count);
        // Nor did it log one: no line carries a silo's value, its encoding, or a masked coordinate.
        var logs = fed.Logs.ToList();
        Assert.NotEmpty(logs);
        var forbidden = values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Concat(encoded.Select(e => e.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Concat(all.Where(x => x > 1_000_000).Take(50).Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.DoesNotContain(logs, line => forbidden.Any(f => line.Contains(f, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task SecureRound_SiloKilledBeforeKeys_SumOfSurvivorsExact()
    {
        await using var fed = new TestFederation(4);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { SecureAggregation = Secure32 });
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(2f));
        fed.StartAgent("silo-3", new FakeTrainer(3f));
        var kill = new CancellationTokenSource();
        var victim = fed.StartAgent("silo-4", new FakeTrainer(100f, delay: TimeSpan.FromSeconds(5)), stop: kill);
        victim.TrainingStarted += _ => kill.Cancel();

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        var round = Assert.Single(outcome.Rounds);
        Assert.Equal(3, round.Contributors);
        Assert.Equal(2.0, outcome.FinalLoss, 9); // mean of 1, 2, 3: silo-4's 100 is nowhere
    }

    [Fact]
    public async Task SecureRound_PlainUpdateOrForeignSender_RefusedAndRoundCompletes()
    {
        await using var fed = new TestFederation(4);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { SecureAggregation = Secure32 });
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(i, delay: TimeSpan.FromMilliseconds(300)));
        }

        await using var plain = new ScriptedPeer(fed, fed.Pki.Silos["silo-4"]);
        await plain.SendAsync(ScriptedPeer.Hello("silo-4"));
        var plan = await plain.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.RoundPlan);
        await plain.SendAsync(ScriptedPeer.Accept((long)plan.Header.Round));
        try
        {
            await plain.SendAsync(ScriptedPeer.Update((long)plan.Header.Round, 0, fed.Parameters, [1000f, 1000f, 1000f, 1000f], last: false));
        }
        catch (RpcException)
        {
            // the stream may already be closed
        }

        var status = await plain.ReadToEndAsync();
        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(StatusCode.FailedPrecondition, status.StatusCode);
        Assert.Contains("secure aggregation", status.Detail, StringComparison.Ordinal);
        Assert.Equal(2.0, outcome.FinalLoss, 9);
    }

    [Fact]
    public async Task Sentinel_InOneSilosUpdate_NeverInSpansLogsLedgerOrReport()
    {
        const float sentinel = 0.7316942f;
        var traceFile = Path.Combine(Path.GetTempPath(), "securefed-sentinel", Guid.NewGuid().ToString("N"), "traces.jsonl");
        await using var fed = new TestFederation(3, parameters: 32);
        using (SecureFed.Hosting.Telemetry.Start("sentinel-test", traceFile))
        {
            var plan = new PrivacyPlan(1.0, 0.5, 3, 0, "gaussian", "rdp", 1e-5, 0);
            var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 3) with { SecureAggregation = Secure32, Privacy = plan });
            fed.StartAgent("silo-1", new FakeTrainer(sentinel));
            fed.StartAgent("silo-2", new FakeTrainer(0.5f));
            fed.StartAgent("silo-3", new FakeTrainer(0.25f));
            await coordinator.Completion.WaitAsync(TestFederation.Timeout);
            await coordinator.DisposeAsync();
        }

        var forbidden = new[]
        {
            sentinel.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ((double)sentinel).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            sentinel.ToString("F4", System.Globalization.CultureInfo.InvariantCulture),
        };
        var spans = File.ReadAllText(traceFile);
        var ledger = File.ReadAllText(fed.Coordinator!.LedgerPath);
        var logs = string.Join('\n', fed.Logs);
        var report = SecureFed.Audit.Reports.AuditReport.Build(SecureFed.Audit.AuditLedger.Read(fed.Coordinator.LedgerPath), null);
        var reports = SecureFed.Audit.Reports.ReportWriter.ToJson(report) + SecureFed.Audit.Reports.ReportWriter.ToHtml(report);
        Assert.Contains("securefed.round", spans, StringComparison.Ordinal); // the exporter did run
        foreach (var text in new[] { spans, ledger, logs, reports })
        {
            Assert.All(forbidden, f => Assert.DoesNotContain(f, text, StringComparison.Ordinal));
        }
    }
}
