using SecureFed.Coordinator;
using SecureFed.Agent;

namespace SecureFed.Federation.Tests;

/// <summary>Rounds over real loopback mTLS with scripted trainers: completion, dropout, policy refusal, restart.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task Refusal_IsInTheLedgerWithTheSilosReasonAndCountedAsARefusalNotADropout()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(1f));
        fed.StartAgent("silo-3", new FakeTrainer(1f), new Agent.LocalPolicy { AllowedDatasets = ["another-dataset"] });

        await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        var entry = Assert.Single(Audit.AuditLedger.Read(coordinator.LedgerPath));
        Assert.Equal(
            [("silo-1", "contributed"), ("silo-2", "contributed"), ("silo-3", "refused")],
            entry.Outcomes!.Select(o => (o.SiloId, o.Outcome)));
        Assert.Contains("fake", entry.Outcomes![2].Reason, StringComparison.Ordinal); // the silo's own words
        Assert.Equal((2, 0, 1), (entry.Stages.Contributors, entry.Stages.Dropouts, entry.Stages.Refused));
        var silo3 = Assert.Single(Audit.Reports.AuditReport.Build([entry], null).Participants, p => p.SiloId == "silo-3");
        Assert.Equal((0, 1, 0, 0), silo3.Attempts);
        Assert.Equal(0, silo3.CompletedRoundsJoined);
        Assert.Equal(1, entry.PlannedRounds);
    }

    [Fact]
    public async Task PlainFedAvg_SelfReportedHugeExampleCount_WeighsAtMostTenTimesTheOthersMedian()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3));
        fed.StartAgent("silo-1", new FakeTrainer(1f, examples: 10));
        fed.StartAgent("silo-2", new FakeTrainer(2f, examples: 10));
        fed.StartAgent("silo-3", new FakeTrainer(6f, examples: 2_000_000_000)); // claims the whole average

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        // silo-3 weighs 10 x median(10, 10) = 100: (1*10 + 2*10 + 6*100) / 120, not about 6.
        Assert.Equal((1.0 * 10 + 2.0 * 10 + 6.0 * 100) / 120, outcome.FinalLoss, 5);
    }

    [Fact]
    public async Task PlanDecision_ArrivingAfterThePlanStage_IsDiscardedAndTheSiloStaysConnected()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 2) with { PlanTimeout = TimeSpan.FromSeconds(4) });
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(1f));
        var slow = fed.CreateAgent("silo-3", new FakeTrainer(1f));
        var delayed = 0;
        slow.Tamper = m =>
        {
            if (m.BodyCase == Contracts.V1.AgentMessage.BodyOneofCase.PlanDecision && Interlocked.Exchange(ref delayed, 1) == 0)
            {
                // Its first decision lands 1.5 s after round 1's plan stage closed (4 s), and its decision on round 2's
                // plan at the earliest 2.5 s before that stage closes (round 2 begins after round 1's 4 s): margins both
                // ways, whatever the round's own duration (6 s here raced round 2's plan once rounds got faster).
                Thread.Sleep(TimeSpan.FromSeconds(5.5));
            }

            return m;
        };
        fed.StartAgent(slow);

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(2, outcome.RoundsCompleted);
        Assert.Equal(2, outcome.Rounds[0].Contributors);
        Assert.Equal(3, outcome.Rounds[1].Contributors); // the same stream took part in round 2
        Assert.DoesNotContain(fed.Logs, l => l.Contains("silo-3", StringComparison.Ordinal) && l.Contains("violat", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Federation_ThreeSilos_CompletesEveryRoundWithWeightedMean()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 3, minSilos: 3));
        fed.StartAgent("silo-1", new FakeTrainer(1f, examples: 10));
        fed.StartAgent("silo-2", new FakeTrainer(2f, examples: 20));
        fed.StartAgent("silo-3", new FakeTrainer(6f, examples: 10));

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        var agents = await Task.WhenAll(fed.AgentRuns).WaitAsync(TestFederation.Timeout);

        Assert.Equal(3, outcome.RoundsCompleted);
        // weighted mean per round: (1*10 + 2*20 + 6*10) / 40 = 2.75
        Assert.Equal(3 * 2.75, outcome.FinalLoss, 5);
        Assert.All(agents, a => Assert.Equal(outcome.FinalModelHash, a.FinalModelHash));
        Assert.All(agents, a => Assert.Equal(3, a.RoundsParticipated));
        var rows = coordinator.Store.Rounds();
        Assert.Equal([1L, 2L, 3L], rows.Select(r => r.Round));
        Assert.All(rows, r => Assert.Equal("completed", r.Status));
        Assert.Equal(4, coordinator.Store.ModelHistory().Count); // initial + one per round
    }

    [Fact]
    public async Task Round_AgentKilledMidRound_CompletesWithOthersAndCountsDropout()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 3, minSilos: 2));
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(3f));
        var kill = new CancellationTokenSource();
        var victim = fed.StartAgent("silo-3", new FakeTrainer(100f, delay: TimeSpan.FromSeconds(2)), stop: kill);
        victim.TrainingStarted += round =>
        {
            if (round == 2)
            {
                kill.Cancel();
            }
        };

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(3, outcome.RoundsCompleted);
        var round2 = outcome.Rounds.Single(r => r.Round == 2);
        Assert.True(round2.Completed);
        Assert.Equal(2, round2.Contributors);
        Assert.Equal(1, round2.Dropouts);
        Assert.Equal(2, outcome.Rounds.Single(r => r.Round == 3).Participants.Count);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fed.AgentRuns[2].WaitAsync(TestFederation.Timeout));
    }

    [Fact]
    public async Task Round_SiloPolicyRefusesPlan_RoundGoesOnWithoutIt()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 2));
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(3f));
        var strict = new FakeTrainer(100f);
        fed.StartAgent("silo-3", strict, new LocalPolicy { AllowedDatasets = ["fake"], AllowedModels = ["mlp"] });

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(2, outcome.RoundsCompleted);
        Assert.All(outcome.Rounds, r => Assert.Equal(1, r.Refused));
        Assert.Equal(0, strict.Calls);
        Assert.Equal(2 * 2.0, outcome.FinalLoss, 5);
    }

    [Fact]
    public async Task Round_TooFewSurvivors_AbortsWithoutChangingTheModel()
    {
        await using var fed = new TestFederation(2);
        var options = fed.Options(rounds: 1, minSilos: 2) with { MaxConsecutiveAborts = 1, TrainTimeout = TimeSpan.FromSeconds(1) };
        var coordinator = await fed.StartCoordinatorAsync(options);
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(3f, delay: TimeSpan.FromSeconds(30)));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => coordinator.Completion.WaitAsync(TestFederation.Timeout));

        Assert.Contains("aborted", error.Message, StringComparison.Ordinal);
        var row = Assert.Single(coordinator.Store.Rounds());
        Assert.Equal("aborted", row.Status);
        Assert.Equal(row.ModelHashBefore, row.ModelHashAfter);
        Assert.Single(coordinator.Store.ModelHistory());
    }

    [Fact]
    public async Task Restart_AfterRoundTwo_ContinuesAtRoundThreeFromStoredModel()
    {
        // Enough rounds that the stop after round 2 always lands before the end, however slow the machine is to stop.
        const int rounds = 8;
        await using var fed = new TestFederation(3);
        var first = await fed.StartCoordinatorAsync(fed.Options(rounds: rounds, minSilos: 3));
        var port = first.Address.Port;
        var roundTwo = TestFederation.WhenRoundFinished(first, 2);
        var trainers = new[] { new FakeTrainer(1f), new FakeTrainer(2f), new FakeTrainer(3f) };
        for (var i = 0; i < 3; i++)
        {
            fed.StartAgent($"silo-{i + 1}", trainers[i]);
        }

        await roundTwo.WaitAsync(TestFederation.Timeout);
        await first.DisposeAsync();
        // The stop races the next round: k is whatever the store holds as completed when the coordinator stopped.
        var k = first.Store.CompletedRounds();
        Assert.InRange(k, 2, rounds - 1);
        var storedAfterK = first.Store.ModelHistory().Single(m => m.Round == k).Hash;

        // Same store, same port: the running agents reconnect by themselves.
        var second = await fed.StartCoordinatorAsync(fed.Options(rounds: rounds, minSilos: 3, port: port));
        var outcome = await second.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(rounds, outcome.RoundsCompleted);
        Assert.Equal(k + 1, outcome.Rounds[0].Round);
        var completed = second.Store.Rounds().Where(r => r.Status == "completed").ToList();
        Assert.Equal(Enumerable.Range(1, rounds).Select(r => (long)r), completed.Select(r => r.Round));
        Assert.Equal(storedAfterK, completed.Single(r => r.Round == k + 1).ModelHashBefore);
        Assert.All(trainers, t => Assert.Contains(storedAfterK, t.ModelHashesSeen));
        Assert.Equal(rounds * 2.0, outcome.FinalLoss, 5); // every round a step of mean(1, 2, 3): nothing lost, nothing repeated
    }

    [Fact]
    public async Task Restart_WithFedAdam_ContinuesFromTheStoredMoments()
    {
        var settings = new ServerOptimizerSettings("fedadam", 0.1);
        await using var fed = new TestFederation(3);
        var first = await fed.StartCoordinatorAsync(fed.Options(rounds: 4, minSilos: 3) with { ServerOptimizer = settings });
        var port = first.Address.Port;
        var roundTwo = TestFederation.WhenRoundFinished(first, 2);
        for (var i = 0; i < 3; i++)
        {
            fed.StartAgent($"silo-{i + 1}", new FakeTrainer(i + 1f));
        }

        await roundTwo.WaitAsync(TestFederation.Timeout);
        await first.DisposeAsync();
        var second = await fed.StartCoordinatorAsync(fed.Options(rounds: 4, minSilos: 3, port: port) with { ServerOptimizer = settings });
        await second.Completion.WaitAsync(TestFederation.Timeout);

        // Four uninterrupted FedAdam steps on the mean delta 2: a restart that lost m and v would step differently.
        var expected = new ServerOptimizer(settings);
        float[] model = new float[8];
        for (var round = 0; round < 4; round++)
        {
            model = expected.Step(model, Enumerable.Repeat(2.0, 8).ToArray());
        }

        var final = second.Store.LatestModel()!;
        Assert.Equal(4, final.Round);
        Assert.All(final.Parameters.Zip(model), p => Assert.Equal(p.Second, p.First, 4));
    }
}

/// <summary>The audit ledger the coordinator writes, checked by the independent verifier.</summary>
public sealed class AuditTrailTests
{
    [Fact]
    public async Task Federation_WithPrivacyAndRestart_LedgerVerifiesAndHasOneEntryPerRoundAttempt()
    {
        await using var fed = new TestFederation(3);
        var plan = new SecureFed.Protocol.PrivacyPlan(1.0, 2.0, 3, 0, "gaussian", "rdp", 1e-5, 0);
        var first = await fed.StartCoordinatorAsync(fed.Options(rounds: 3, minSilos: 3) with { Privacy = plan, SecureAggregation = new SecureFed.Protocol.SecureAggregationPlan() });
        var port = first.Address.Port;
        var roundOne = TestFederation.WhenRoundFinished(first, 1);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        await roundOne.WaitAsync(TestFederation.Timeout);
        await first.DisposeAsync();
        var second = await fed.StartCoordinatorAsync(fed.Options(rounds: 3, minSilos: 3, port: port) with { Privacy = plan, SecureAggregation = new SecureFed.Protocol.SecureAggregationPlan() });
        var outcome = await second.Completion.WaitAsync(TestFederation.Timeout);

        var entries = SecureFed.Audit.AuditLedger.Read(second.LedgerPath);
        var completed = entries.Where(e => e.Status == SecureFed.Audit.RoundStatus.Completed).ToList();
        Assert.Equal([1, 2, 3], completed.Select(e => e.Round));
        Assert.Equal(entries.Count, entries.Select(e => (e.Round, e.Attempt)).Distinct().Count());
        Assert.All(completed, e => Assert.Equal(3, e.Participants.Count));
        Assert.All(completed, e => Assert.Equal("secure", e.Aggregation));
        Assert.Equal(outcome.Epsilon, completed[^1].CumulativeEpsilon!.Rdp, 9);
        var verdict = SecureFed.Audit.LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System);
        Assert.True(verdict.Ok, verdict.Reason);
    }
}
