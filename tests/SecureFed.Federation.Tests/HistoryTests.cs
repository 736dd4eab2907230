using System.Text;
using Microsoft.Data.Sqlite;
using SecureFed.Agent;
using SecureFed.Audit;
using SecureFed.Coordinator;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>
/// History that cannot silently disappear (issue 12, items 11-13): the ledger file is compared with the store at start
/// (re-derived when its end was lost, refused when it is not the store's), one coordinator per store and per ledger,
/// and a store whose bytes changed is refused at open with the table and row named.
/// </summary>
public sealed class HistoryTests : IClassFixture<HistoryTests.TrainedStore>
{
    private static readonly PrivacyPlan Dp = new(ClipNorm: 1.0, NoiseMultiplier: 1.5, Threshold: 3, Colluding: 0, Mechanism: "gaussian", Accountant: "rdp", Delta: 1e-5, EpsilonBudget: 0);

    private readonly TrainedStore _trained;

    public HistoryTests(TrainedStore trained)
    {
        _trained = trained;
    }

    /// <summary>Trains at once and answers every evaluation, so each round also makes an evaluation release.</summary>
    internal sealed class EvaluatingTrainer(TimeSpan? delay = null) : ILocalTrainer
    {
        public string Dataset => "fake";

        public async Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
        {
            if (delay is { } d)
            {
                await Task.Delay(d, cancellationToken);
            }

            return new LocalUpdate(Enumerable.Repeat(0.1f, globalParameters.Length).ToArray(), 10);
        }

        public Task<double[]> EvaluateAsync(RoundPlan plan, float[] model, CancellationToken cancellationToken)
        {
            var classes = plan.Model.ClassCount;
            return Task.FromResult(EvaluationSums.Encode(10, 7, 3.0, new long[classes * classes], classes));
        }
    }

    internal static CoordinatorOptions Options(TestFederation fed, int rounds) =>
        fed.Options(rounds, minSilos: 3) with { Privacy = Dp, FederatedEvaluation = true, TrainTimeout = TimeSpan.FromSeconds(30) };

    internal static async Task RunAsync(TestFederation fed, CoordinatorOptions options, TimeSpan? delay = null)
    {
        var host = await fed.StartCoordinatorAsync(options);
        foreach (var id in fed.Pki.SiloIds)
        {
            fed.StartAgent(id, new EvaluatingTrainer(delay));
        }

        await host.Completion.WaitAsync(TestFederation.Timeout);
        await host.DisposeAsync();
    }

    private static LedgerVerificationResult Verify(TestFederation fed, string ledger) =>
        LedgerVerifier.Verify(AuditLedger.Read(ledger), fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System);

    [Fact]
    public async Task Start_LedgerDeletedBetweenRuns_ReDerivesItFromTheStoreWithTheSameHashesAndStoreEpsilon()
    {
        await using var fed = new TestFederation(3);
        await RunAsync(fed, Options(fed, 2));
        var ledger = Path.ChangeExtension(fed.StorePath, ".ledger.jsonl");
        var original = AuditLedger.Read(ledger);
        Assert.Equal(2, original.Count(e => e.Status == RoundStatus.Completed));

        File.Delete(ledger);
        await RunAsync(fed, Options(fed, 3));

        var entries = AuditLedger.Read(ledger);
        Assert.Equal(original.Select(e => e.EntryHash), entries.Take(original.Count).Select(e => e.EntryHash));
        Assert.Equal([1, 2, 3], entries.Where(e => e.Status == RoundStatus.Completed).Select(e => e.Round));
        var verdict = Verify(fed, ledger);
        Assert.True(verdict.Ok, verdict.Reason);
        Assert.Equal(3, verdict.CompletedRounds);
        Assert.Contains(fed.Logs, l => l.Contains("lacked 2 entries", StringComparison.Ordinal) && l.Contains("re-derived", StringComparison.Ordinal));

        // The last entry's cumulative epsilon is every charge the store holds, composed.
        var store = FederationStore.OpenReadOnly(fed.StorePath);
        var fromStore = LedgerEpsilons.Compute(store.ChargedNoiseMultipliers(), Dp.Delta);
        Assert.Equal(fromStore.Rdp, entries[^1].CumulativeEpsilon!.Rdp, 12);
        Assert.Equal(store.PrivacyCharges().Count + store.PrivacyReleases().Count, entries.SelectMany(e => e.Charges()).Count());
    }

    [Fact]
    public async Task Start_LedgerTailCutBetweenRuns_ReDerivesTheLostEntriesSoThePublishedHeadStillMatches()
    {
        await using var fed = new TestFederation(3);
        await RunAsync(fed, Options(fed, 3));
        var ledger = Path.ChangeExtension(fed.StorePath, ".ledger.jsonl");
        var original = AuditLedger.Read(ledger);
        var lines = File.ReadAllLines(ledger);
        File.WriteAllLines(ledger, lines.Take(1)); // whole lines cut: the rest still chains and verifies
        Assert.True(Verify(fed, ledger).Ok);

        // Nothing is left to train: the start alone repairs the ledger.
        var again = await fed.StartCoordinatorAsync(Options(fed, 3));
        await again.Completion.WaitAsync(TestFederation.Timeout);
        await again.DisposeAsync();

        var entries = AuditLedger.Read(ledger);
        Assert.Equal(original.Select(e => e.EntryHash), entries.Select(e => e.EntryHash));
        Assert.Equal(original[^1].EntryHash, Verify(fed, ledger).HeadHash);
    }

    [Fact]
    public async Task Start_LedgerCutInsideALine_RefusesWithTheFixAndReDerivesOnceMovedAside()
    {
        await using var fed = new TestFederation(3);
        await RunAsync(fed, Options(fed, 1));
        var ledger = Path.ChangeExtension(fed.StorePath, ".ledger.jsonl");
        var original = AuditLedger.Read(ledger);
        var bytes = File.ReadAllBytes(ledger);
        File.WriteAllBytes(ledger, bytes[..(bytes.Length - 40)]);

        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => fed.StartCoordinatorAsync(Options(fed, 1)));
        Assert.Contains("move the file aside", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", refused.Message, StringComparison.Ordinal);

        File.Move(ledger, ledger + ".cut");
        await RunAsync(fed, Options(fed, 1));
        Assert.Equal(original.Select(e => e.EntryHash), AuditLedger.Read(ledger).Select(e => e.EntryHash));
    }

    [Fact]
    public async Task Start_LedgerOfAnotherStore_IsRefusedNamingTheEntry()
    {
        await using var fed = new TestFederation(3);
        await RunAsync(fed, Options(fed, 1));
        var ledger = Path.ChangeExtension(fed.StorePath, ".ledger.jsonl");

        var other = Options(fed, 1) with { StorePath = Path.Combine(fed.Directory, "other.db"), LedgerPath = ledger };
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => fed.StartCoordinatorAsync(other));
        Assert.Contains("entry 1 (round 1 attempt 1) is not in the store", refused.Message, StringComparison.Ordinal);
        Assert.Single(FederationStore.OpenReadOnly(fed.StorePath).LedgerRecords()); // the first store is untouched
    }

    [Fact]
    public async Task SecondCoordinator_OnTheSameStore_IsRefusedNamingThePidAndTheFirstFinishes()
    {
        await using var fed = new TestFederation(3);
        var options = Options(fed, 2);
        var first = await fed.StartCoordinatorAsync(options);
        foreach (var id in fed.Pki.SiloIds)
        {
            fed.StartAgent(id, new EvaluatingTrainer(TimeSpan.FromMilliseconds(300)));
        }

        // Wait until a round is running: what a second coordinator's open would have marked interrupted.
        var deadline = DateTime.UtcNow + TestFederation.Timeout;
        while (!FederationStore.OpenReadOnly(fed.StorePath).Rounds().Any(r => r.Status == "running"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no round started");
            await Task.Delay(20);
        }

        var refused = Assert.Throws<FederationStoreException>(() => CoordinatorHost.Create(options, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, new FakeEvaluator(fed.Parameters)));
        Assert.Equal(FederationStoreProblem.InUse, refused.Problem);
        Assert.Contains(Path.GetFullPath(fed.StorePath), refused.Message, StringComparison.Ordinal);
        Assert.Contains($"pid {Environment.ProcessId} on", refused.Message, StringComparison.Ordinal);

        // A writing open by anyone else is refused the same way; a read-only one works and changes nothing.
        Assert.Equal(FederationStoreProblem.InUse, Assert.Throws<FederationStoreException>(() => FederationStore.Open(fed.StorePath, "test-federation")).Problem);
        await first.Completion.WaitAsync(TestFederation.Timeout);
        var rounds = FederationStore.OpenReadOnly(fed.StorePath).Rounds();
        Assert.Equal(["completed", "completed"], rounds.Select(r => r.Status));
        Assert.True(Verify(fed, first.LedgerPath).Ok);
    }

    [Fact]
    public async Task SecondCoordinator_OnTheSameLedgerWithAnotherStore_IsRefused()
    {
        await using var fed = new TestFederation(3);
        var first = await fed.StartCoordinatorAsync(Options(fed, 1));
        var other = Options(fed, 1) with { StorePath = Path.Combine(fed.Directory, "other.db"), LedgerPath = first.LedgerPath };
        var refused = Assert.Throws<IOException>(() => CoordinatorHost.Create(other, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, new FakeEvaluator(fed.Parameters)));
        Assert.Contains("being written by another process", refused.Message, StringComparison.Ordinal);

        // Refused before it kept anything: its store's lock is free again.
        FederationStore.Open(other.StorePath, "test-federation");
    }

    [Theory]
    [InlineData("rounds", "round = 2 AND attempt = 1", "round=2, attempt=1")]
    [InlineData("privacy_charges", "round = 1", "round=1")]
    [InlineData("privacy_releases", "round = 2 AND task = 'evaluation'", "round=2, attempt=1, task=evaluation")]
    [InlineData("model_versions", "version = 1", "version=1")]
    public void Open_OneByteFlippedInAProtectedRow_RefusesNamingTableAndRow(string table, string where, string row)
    {
        var copy = _trained.Copy();
        FlipByteOf(copy, table, where);

        var refused = Assert.Throws<FederationStoreException>(() => FederationStore.Open(copy, "test-federation"));
        Assert.Equal(FederationStoreProblem.Corrupt, refused.Problem);
        Assert.Contains($"table {table}, row {row}:", refused.Message, StringComparison.Ordinal);
        Assert.Contains(copy, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_OlderModelVersionCorrupt_IsRefusedThoughTheLatestIsIntact()
    {
        var copy = _trained.Copy();
        FlipByteOf(copy, "model_versions", "version = 0");
        Assert.Equal(2, FederationStore.OpenReadOnly(copy).LatestModel()!.Version); // the latest still reads fine ...

        var refused = Assert.Throws<FederationStoreException>(() => FederationStore.Open(copy, "test-federation")); // ... but every version is checked
        Assert.Contains("table model_versions, row version=0:", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_StoreFailsSqliteIntegrityCheck_CoordinatorRefusesToStart()
    {
        var copy = _trained.Copy();
        int root;
        using (var c = Connection(copy, SqliteOpenMode.ReadOnly))
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_rounds_1'";
            root = Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        // Overwrite the index's b-tree page header: the file is still SQLite, its structure is not.
        using (var file = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Seek((root - 1) * 4096L, SeekOrigin.Begin);
            file.Write(new byte[12]);
        }

        await using var fed = new TestFederation(3);
        var refused = await Assert.ThrowsAsync<FederationStoreException>(() => fed.StartCoordinatorAsync(Options(fed, 1) with { StorePath = copy }));
        Assert.Equal(FederationStoreProblem.Corrupt, refused.Problem);
        Assert.Contains(copy, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_RowsWithoutHashFromAnOlderVersion_AreHashedOnceThenChecked()
    {
        var copy = _trained.Copy();
        long rows;
        using (var c = Connection(copy, SqliteOpenMode.ReadWrite))
        using (var cmd = c.CreateCommand())
        {
            // What an older SecureFed's store looks like once the columns exist: no row hashes, no marker.
            cmd.CommandText = """
                DELETE FROM meta WHERE key = 'row_hash';
                UPDATE rounds SET row_hash = NULL; UPDATE model_versions SET row_hash = NULL;
                UPDATE privacy_charges SET row_hash = NULL; UPDATE privacy_releases SET row_hash = NULL;
                SELECT (SELECT COUNT(*) FROM rounds) + (SELECT COUNT(*) FROM model_versions) + (SELECT COUNT(*) FROM privacy_charges) + (SELECT COUNT(*) FROM privacy_releases);
                """;
            rows = (long)cmd.ExecuteScalar()!;
        }

        Assert.Equal(rows, FederationStore.Open(copy, "test-federation").RowsHashedAtOpen);
        Assert.Equal(0, FederationStore.Open(copy, "test-federation").RowsHashedAtOpen);

        // From then on a row without a hash is not an old row but a damaged one.
        using (var c = Connection(copy, SqliteOpenMode.ReadWrite))
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "UPDATE privacy_charges SET row_hash = NULL WHERE round = 2";
            cmd.ExecuteNonQuery();
        }

        var refused = Assert.Throws<FederationStoreException>(() => FederationStore.Open(copy, "test-federation"));
        Assert.Contains("table privacy_charges, row round=2: it has no row hash", refused.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public async Task Federation_DiskFillsUp_StopsWithOneLineKeepsTheCommittedRoundsAndARestartFinishes()
    {
        await using var fed = new TestFederation(3);
        var mount = Path.Combine(fed.Directory, "tiny");
        Directory.CreateDirectory(mount);
        Assert.True(Sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount) == 0, "this test needs root (CAP_SYS_ADMIN) to mount a 1 MiB tmpfs");
        try
        {
            var options = Options(fed, 8) with { StorePath = Path.Combine(mount, "federation.db") };
            var host = await fed.StartCoordinatorAsync(options);
            var first = TestFederation.WhenRoundFinished(host, 1);
            foreach (var id in fed.Pki.SiloIds)
            {
                fed.StartAgent(id, new EvaluatingTrainer());
            }

            await first.WaitAsync(TestFederation.Timeout);
            var filler = Path.Combine(mount, "filler");
            using (var fill = new FileStream(filler, FileMode.Create))
            {
                try
                {
                    while (true)
                    {
                        fill.Write(new byte[4096]);
                        fill.Flush(true);
                    }
                }
                catch (IOException)
                {
                    // the disk is full
                }
            }

            var failure = await Assert.ThrowsAnyAsync<IOException>(() => host.Completion.WaitAsync(TestFederation.Timeout));
            Assert.DoesNotContain("\n", failure.Message, StringComparison.Ordinal);
            Assert.Contains(mount, failure.Message, StringComparison.Ordinal);
            Assert.True(failure.Message.Contains("disk is full", StringComparison.Ordinal) || failure.Message.Contains("No space left", StringComparison.Ordinal), failure.Message);
            await host.DisposeAsync();

            // Space again (a reader of a WAL store needs some too): the committed rounds are there, and the same store
            // and ledger go on from where they stopped, the history whole.
            File.Delete(filler);
            Assert.InRange(FederationStore.OpenReadOnly(options.StorePath).CompletedRounds(), 1, 7);
            var again = await fed.StartCoordinatorAsync(options with { Port = host.Address.Port });
            await again.Completion.WaitAsync(TestFederation.Timeout);
            await again.DisposeAsync();
            var verdict = Verify(fed, again.LedgerPath);
            Assert.True(verdict.Ok, verdict.Reason);
            Assert.Equal(8, verdict.CompletedRounds);
        }
        finally
        {
            Sh("umount", "-l", mount);
        }
    }

    private static int Sh(string file, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(info)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>
    /// Flips one bit of the row's stored bytes in the file itself (not through SQL): the byte just before its row hash,
    /// which is the last byte of the column before it (a model version's parameters, a round's ledger entry hash, a
    /// charge's pricing). The file stays a well-formed SQLite file; only the row's content changed.
    /// </summary>
    private static void FlipByteOf(string db, string table, string where)
    {
        string hash;
        using (var c = Connection(db, SqliteOpenMode.ReadOnly))
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = $"SELECT row_hash FROM {table} WHERE {where}";
            hash = (string)cmd.ExecuteScalar()!;
        }

        var bytes = File.ReadAllBytes(db);
        var needle = Encoding.ASCII.GetBytes(hash[..24]);
        var flipped = 0;
        for (var at = bytes.AsSpan().IndexOf(needle); at >= 0;)
        {
            bytes[at - 1] ^= 0x01;
            flipped++;
            var next = bytes.AsSpan(at + 1).IndexOf(needle);
            at = next < 0 ? -1 : at + 1 + next;
        }

        Assert.True(flipped > 0, $"the row hash of {table} {where} is not in the file");
        File.WriteAllBytes(db, bytes);
    }

    private static SqliteConnection Connection(string db, SqliteOpenMode mode)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = mode, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    /// <summary>One federation of two rounds with privacy and federated evaluation, its store checkpointed into one file.</summary>
    public sealed class TrainedStore : IAsyncLifetime
    {
        private TestFederation? _fed;

        public string StorePath { get; private set; } = "";

        public async Task InitializeAsync()
        {
            _fed = new TestFederation(3);
            await RunAsync(_fed, Options(_fed, 2));
            StorePath = _fed.StorePath;
            using var c = Connection(StorePath, SqliteOpenMode.ReadWrite);
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            cmd.ExecuteNonQuery();
        }

        /// <summary>A copy of the checkpointed store file to damage.</summary>
        public string Copy()
        {
            var copy = Path.Combine(_fed!.Directory, $"copy-{Guid.NewGuid():N}.db");
            File.Copy(StorePath, copy);
            return copy;
        }

        public async Task DisposeAsync()
        {
            if (_fed is not null)
            {
                await _fed.DisposeAsync();
            }
        }
    }
}
