using Microsoft.Data.Sqlite;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Privacy;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>
/// Every attempt in which the coordinator could learn a sum is charged and has a ledger entry (issue 11, defect 2):
/// a training sum unmasked before the round ended otherwise (a shutdown, a crash) is a release like any other.
/// </summary>
public sealed class ReleaseChargeTests
{
    private static readonly PrivacyPlan Dp = new(ClipNorm: 1.0, NoiseMultiplier: 1.5, Threshold: 3, Colluding: 0, Mechanism: "gaussian", Accountant: "rdp", Delta: 1e-5, EpsilonBudget: 0);

    /// <summary>
    /// Trains at once; its first evaluation tells the test and then waits for <paramref name="resume"/> (the round
    /// stalls after its training sum was unmasked).
    /// </summary>
    private sealed class StallingEvaluator(TaskCompletionSource evaluating, Task resume) : ILocalTrainer
    {
        private int _evaluations;

        public string Dataset => "fake";

        public Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken) =>
            Task.FromResult(new LocalUpdate(Enumerable.Repeat(0.1f, globalParameters.Length).ToArray(), 10));

        public async Task<double[]> EvaluateAsync(RoundPlan plan, float[] model, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _evaluations) == 1)
            {
                evaluating.TrySetResult();
                await resume.WaitAsync(cancellationToken);
            }

            var classes = plan.Model.ClassCount;
            return EvaluationSums.Encode(10, 7, 3.0, new long[classes * classes], classes);
        }
    }

    private static CoordinatorOptions Options(TestFederation fed, string store, int port = 0) => fed.Options(rounds: 1, minSilos: 3, port: port) with
    {
        StorePath = store,
        Privacy = Dp,
        SecureAggregation = new SecureAggregationPlan(),
        FederatedEvaluation = true,
        TrainTimeout = TimeSpan.FromSeconds(30),
    };

    private static double TrainingCharge(int dimension) => PrivacyCharge.Price(Dp, 3, dimension, secure: true).NoiseMultiplier;

    [Fact]
    public async Task Shutdown_AfterTheTrainingSumWasUnmasked_ChargesItInTheAbortedEntry()
    {
        await using var fed = new TestFederation(3);
        var evaluating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var coordinator = await fed.StartCoordinatorAsync(Options(fed, fed.StorePath));
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new StallingEvaluator(evaluating, resume.Task));
        }

        await evaluating.Task.WaitAsync(TestFederation.Timeout);
        await coordinator.DisposeAsync(); // a graceful stop while the round waits for its evaluation sum
        resume.SetResult();

        var store = FederationStore.Open(fed.StorePath, "test-federation");
        var round = Assert.Single(store.Rounds());
        Assert.Equal("aborted", round.Status);
        Assert.Empty(store.PrivacyCharges()); // no model was released ...
        var release = Assert.Single(store.PrivacyReleases()); // ... but the coordinator held the unmasked training sum
        Assert.Equal(("training", 3), (release.Task, release.Survivors));
        Assert.Equal(TrainingCharge(fed.Parameters), release.NoiseMultiplier, 12);
        var entries = Audit.AuditLedger.Read(coordinator.LedgerPath);
        var entry = Assert.Single(entries);
        Assert.Equal(Audit.RoundStatus.Aborted, entry.Status);
        Assert.Equal("the coordinator shut down during the round", entry.AbortReason);
        Assert.Equal([("training", TrainingCharge(fed.Parameters))], entry.Releases!.Select(r => (r.Task, r.EffectiveNoiseMultiplier)));
        Assert.Equal(RdpAccountant.ComputeEpsilon([(TrainingCharge(fed.Parameters), 1.0, 1)], 1e-5), entry.CumulativeEpsilon!.Rdp, 9);
        Assert.True(Audit.LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System).Ok);
    }

    [Fact]
    public async Task Crash_AfterTheTrainingSumWasUnmasked_LeavesAnInterruptedEntryThatChargesIt()
    {
        await using var fed = new TestFederation(3);
        var evaluating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = await fed.StartCoordinatorAsync(Options(fed, fed.StorePath));
        var port = first.Address.Port;
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new StallingEvaluator(evaluating, resume.Task));
        }

        await evaluating.Task.WaitAsync(TestFederation.Timeout);

        // What a kill -9 now would leave: the store's committed state and the ledger file.
        var crashed = Snapshot(fed.StorePath, Path.Combine(fed.Directory, "crashed.db"));
        File.Copy(first.LedgerPath, Path.ChangeExtension(crashed, ".ledger.jsonl"));
        Assert.Empty(Audit.AuditLedger.Read(first.LedgerPath)); // nothing of round 1 reached the ledger before the "crash"
        await first.DisposeAsync();
        resume.SetResult(); // the silos finish evaluating, find the coordinator gone and reconnect

        // The restarted coordinator recovers the crashed store, and the silos (reconnecting) finish the round.
        var second = await fed.StartCoordinatorAsync(Options(fed, crashed, port));
        await second.Completion.WaitAsync(TestFederation.Timeout);

        var store = FederationStore.OpenReadOnly(crashed); // the second coordinator still holds the store
        Assert.Equal([("interrupted", 1), ("completed", 2)], store.Rounds().Select(r => (r.Status, r.Attempt)));
        var release = Assert.Single(store.PrivacyReleases(), r => r.Task == "training");
        Assert.Equal((1L, 1, 3), (release.Round, release.Attempt, release.Survivors));
        var entries = Audit.AuditLedger.Read(second.LedgerPath);
        Assert.Equal([(1, 1, Audit.RoundStatus.Aborted), (1, 2, Audit.RoundStatus.Completed)], entries.Select(e => (e.Round, e.Attempt, e.Status)));
        Assert.Equal(Coordinator.Internal.RoundOrchestrator.InterruptedReason, entries[0].AbortReason);
        Assert.Equal([("training", TrainingCharge(fed.Parameters))], entries[0].Releases!.Select(r => (r.Task, r.EffectiveNoiseMultiplier)));
        Assert.Equal(fed.Pki.SiloIds.Order(StringComparer.Ordinal), entries[0].Participants.Select(p => p.SiloId).Order(StringComparer.Ordinal));

        // The completed attempt's cumulative epsilon composes the interrupted attempt's release with its own charges.
        var charges = entries.SelectMany(e => e.Charges()).ToList();
        Assert.True(charges.Count >= 3); // interrupted training sum, the round's training update, its evaluation sum
        Assert.Equal(RdpAccountant.ComputeEpsilon([.. charges.Select(z => (z, 1.0, 1))], 1e-5), entries[1].CumulativeEpsilon!.Rdp, 9);
        Assert.True(Audit.LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System).Ok);
    }

    [Fact]
    public async Task Crash_WhilePlainUploadsArrive_ChargesOneSilosNoiseAndKeepsTheEntry()
    {
        // Plain aggregation shows every upload alone the moment it arrives, so the charge is stored before any can.
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { Privacy = Dp, TrainTimeout = TimeSpan.FromSeconds(30) });
        fed.StartAgent("silo-1", new FakeTrainer(0.1f));
        fed.StartAgent("silo-2", new FakeTrainer(0.1f));
        fed.StartAgent("silo-3", new FakeTrainer(0.1f, delay: TimeSpan.FromSeconds(25)));
        var deadline = DateTime.UtcNow + TestFederation.Timeout;
        while (PendingReleaseCount(fed.StorePath) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the round never started collecting uploads");
            await Task.Delay(20);
        }

        var crashed = Snapshot(fed.StorePath, Path.Combine(fed.Directory, "crashed.db"));
        await coordinator.DisposeAsync();

        var store = FederationStore.Open(crashed, "test-federation");
        Assert.Equal("interrupted", Assert.Single(store.Rounds()).Status);
        var release = Assert.Single(store.PrivacyReleases());
        Assert.Equal("training", release.Task);
        Assert.Equal(PrivacyCharge.PerClientSigma(Dp) / Dp.ClipNorm, release.NoiseMultiplier, 12);
        var (_, _, json) = Assert.Single(store.PendingLedgerDrafts());
        var draft = System.Text.Json.JsonSerializer.Deserialize<Audit.LedgerEntryDraft>(json)!;
        Assert.Equal(Audit.RoundStatus.Aborted, draft.Status);
        Assert.Equal(Coordinator.Internal.RoundOrchestrator.InterruptedReason, draft.AbortReason);
        Assert.Equal([("training", release.NoiseMultiplier)], draft.Releases!.Select(r => (r.Task, r.EffectiveNoiseMultiplier)));
    }

    /// <summary>Releases the running attempt has stored as risked, read without opening the store as a coordinator would.</summary>
    private static long PendingReleaseCount(string store)
    {
        if (!File.Exists(store))
        {
            return 0;
        }

        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'pending_releases'";
        if ((long)cmd.ExecuteScalar()! == 0)
        {
            return 0;
        }

        cmd.CommandText = "SELECT COUNT(*) FROM pending_releases";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>What a kill -9 now would leave of <paramref name="store"/>: its committed state, as a consistent SQLite copy.</summary>
    private static string Snapshot(string store, string copy)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"VACUUM INTO '{copy}'";
        cmd.ExecuteNonQuery();
        return copy;
    }
}
