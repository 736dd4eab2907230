using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecureFed.Coordinator.Internal;
using SecureFed.Protocol;

namespace SecureFed.Coordinator;

/// <summary>
/// The coordinator's durable state in one SQLite file: the federation's identity, every round's outcome and
/// every global model version. A round's completion (its row and the new model) is written in one transaction,
/// so a crash leaves either the old state or the new one. Thread-safe: each call opens its own connection.
/// </summary>
/// <remarks>
/// <para>Integrity: every row of the tables that decide the federation's history (rounds, model_versions,
/// privacy_charges, privacy_releases, pending_releases, statistics) carries <c>row_hash</c>, a SHA-256 over its
/// canonical content (<see cref="RowHashes"/>), computed in the transaction that writes the row. Opening for writing runs
/// SQLite's <c>PRAGMA integrity_check</c>, checks every row's hash, every model version's parameters against its model
/// hash and the statistics against theirs, and refuses a store that fails with the table and row named. Rows written
/// before row hashes existed are hashed once, at the first open that knows them, and trusted from then on
/// (<see cref="RowsHashedAtOpen"/>).</para>
/// <para>One writer: <see cref="Open(string, string, string?, string?)"/> refuses a store whose lock
/// (<c>&lt;store&gt;.lock</c>) another process holds, so it never marks a live coordinator's round interrupted; a
/// coordinator holds that lock for its lifetime. <see cref="OpenReadOnly"/> takes no lock and changes nothing.</para>
/// <para>A storage failure (disk full, read-only, I/O error) surfaces as one <see cref="FederationStoreException"/>
/// naming the store, what failed and what to do; the failed transaction leaves the store as it was.</para>
/// </remarks>
public sealed class FederationStore
{
    private const string RowHashScheme = "sha256-row-v1";
    private readonly string _connectionString;

    private FederationStore(string connectionString, string path, bool readOnly)
    {
        _connectionString = connectionString;
        Path = path;
        ReadOnly = readOnly;
    }

    /// <summary>The store file (full path).</summary>
    public string Path { get; }

    /// <summary>Whether this instance was opened with <see cref="OpenReadOnly"/> (every write fails).</summary>
    public bool ReadOnly { get; }

    /// <summary>
    /// Rows the open found without a row hash because an older SecureFed wrote them; they were hashed then and are
    /// trusted from then on (0 for a store written by this version).
    /// </summary>
    public int RowsHashedAtOpen { get; private set; }

    /// <summary>A stored model version.</summary>
    public sealed record ModelVersion(long Version, long Round, string Hash, float[] Parameters);

    /// <summary>A stored round.</summary>
    public sealed record RoundRow(
        long Round, int Attempt, string Status, string? PlanHash, int Contributors, int Dropouts, int Refused, int Rejected,
        double? Accuracy, double? Loss, string? ModelHashBefore, string? ModelHashAfter, IReadOnlyList<string> Participants, string? AbortReason,
        string Kind = RoundKinds.Training, FederatedMetrics? Metrics = null);

    /// <summary>
    /// A finished attempt's ledger entry as the store keeps it: the draft, whether it was appended to the ledger file
    /// and, when this version appended it, the sequence number and entry hash it got there.
    /// </summary>
    public sealed record LedgerRecord(long Round, int Attempt, string Draft, bool Appended, long? Sequence, string? EntryHash);

    /// <summary>
    /// A privacy-charged release other than a completed round's training update: federated statistics or evaluation
    /// sums, and whatever an aborted or interrupted attempt showed the coordinator (its training sum included).
    /// </summary>
    public sealed record ReleaseRow(long Round, int Attempt, string Task, double NoiseMultiplier, int Survivors)
    {
        /// <summary>
        /// Exactly what the release was priced with (for a training sum under the discrete mechanism, its discrete
        /// parameters). Rows written before it was kept read as one Gaussian release at <see cref="NoiseMultiplier"/>.
        /// </summary>
        public PricedCharge Pricing { get; init; } = PricedCharge.Gaussian(NoiseMultiplier);
    }

    /// <summary>
    /// Opens (creating if needed) the store for <paramref name="federationId"/>. Refuses a file that belongs to
    /// another federation. Rounds left running by a crash are marked interrupted.
    /// </summary>
    public static FederationStore Open(string path, string federationId) => Open(path, federationId, null);

    /// <summary>
    /// As <see cref="Open(string, string)"/>, and binds the store to one study: a store that holds a federation of
    /// another study (by canonical hash) is refused, so a restart cannot silently change the schema or encoding.
    /// </summary>
    /// <remarks><paramref name="studyDocument"/>, the study's canonical JSON, is kept beside its hash so the
    /// encoding of the trained model can be rebuilt from the store alone (for export and prediction).</remarks>
    /// <exception cref="FederationStoreException">Another coordinator holds the store, the storage fails, or the store
    /// fails its integrity check (the message names the table and row).</exception>
    public static FederationStore Open(string path, string federationId, string? studyHash, string? studyDocument = null) =>
        Open(path, federationId, studyHash, studyDocument, null);

    /// <summary>
    /// Opens an existing store to read it without writing anything and without any lock, so it works beside a running
    /// coordinator (audit, model export): running rounds stay running, nothing is migrated or recovered.
    /// </summary>
    /// <exception cref="FederationStoreException">The file is missing, unreadable or not a coordinator store.</exception>
    public static FederationStore OpenReadOnly(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FederationStoreException(FederationStoreProblem.Unavailable, $"store {full} does not exist; give the federation.db of a coordinator or a simulation");
        }

        var cs = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        var store = new FederationStore(cs, full, readOnly: true);
        store.Guard("reading its federation id", () =>
        {
            using var c = store.Connect();
            if (Scalar(c, null, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'") is not long n || n == 0
                || Scalar(c, null, "SELECT value FROM meta WHERE key = 'federation_id'") is not string)
            {
                throw new FederationStoreException(FederationStoreProblem.Unavailable, $"store {full} holds no federation (no federation id); give a coordinator's store");
            }

            return 0;
        });
        return store;
    }

    /// <summary>The federation this store belongs to.</summary>
    public string FederationId() => Guard("reading its federation id", () =>
    {
        using var c = Connect();
        return (string)Scalar(c, null, "SELECT value FROM meta WHERE key = 'federation_id'")!;
    });

    /// <summary>As the public overload; <paramref name="held"/> is the lock the calling coordinator already holds.</summary>
    internal static FederationStore Open(string path, string federationId, string? studyHash, string? studyDocument, Internal.StoreLock? held)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);

        // Not the caller's lock: take it for the open alone, so a store a live coordinator holds is never recovered
        // (its running round marked interrupted) behind its back.
        using var probe = held is null ? Internal.StoreLock.Acquire(full) : null;
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        var store = new FederationStore(cs, full, readOnly: false);
        store.Guard("opening it", () =>
        {
            store.OpenForWriting(federationId, studyHash, studyDocument);
            return 0;
        });
        return store;
    }

    private void OpenForWriting(string federationId, string? studyHash, string? studyDocument)
    {
        var full = Path;
        using var c = Connect();
        CheckSqliteIntegrity(c);
        Exec(c, "PRAGMA journal_mode=WAL;");
        Exec(c, """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS model_versions (
                version INTEGER PRIMARY KEY, round INTEGER NOT NULL, hash TEXT NOT NULL,
                created_at TEXT NOT NULL, parameters BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS rounds (
                round INTEGER NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL, plan_hash TEXT, started_at TEXT NOT NULL, ended_at TEXT,
                participants TEXT NOT NULL, contributors INTEGER NOT NULL DEFAULT 0, dropouts INTEGER NOT NULL DEFAULT 0,
                refused INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, accuracy REAL, loss REAL,
                model_hash_before TEXT, model_hash_after TEXT, abort_reason TEXT, stage_counts TEXT,
                ledger_draft TEXT, ledger_appended INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (round, attempt));
            CREATE TABLE IF NOT EXISTS privacy_charges (
                round INTEGER PRIMARY KEY, noise_multiplier REAL NOT NULL, sampling_rate REAL NOT NULL, steps INTEGER NOT NULL,
                survivors INTEGER NOT NULL, accountant TEXT NOT NULL, delta REAL NOT NULL, epsilon REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS privacy_releases (
                round INTEGER NOT NULL, attempt INTEGER NOT NULL, task TEXT NOT NULL, noise_multiplier REAL NOT NULL,
                survivors INTEGER NOT NULL, PRIMARY KEY (round, attempt, task));
            CREATE TABLE IF NOT EXISTS pending_releases (
                round INTEGER NOT NULL, attempt INTEGER NOT NULL, task TEXT NOT NULL, noise_multiplier REAL NOT NULL,
                survivors INTEGER NOT NULL, pricing TEXT NOT NULL, PRIMARY KEY (round, attempt, task));
            CREATE TABLE IF NOT EXISTS statistics (
                id INTEGER PRIMARY KEY CHECK (id = 1), hash TEXT NOT NULL, vector BLOB NOT NULL, contributors INTEGER NOT NULL);
            """);
        AddColumnIfMissing(c, "rounds", "kind", "TEXT NOT NULL DEFAULT 'training'");
        AddColumnIfMissing(c, "rounds", "metrics", "TEXT");
        AddColumnIfMissing(c, "model_versions", "optimizer_state", "BLOB");
        AddColumnIfMissing(c, "privacy_charges", "pricing", "TEXT");
        AddColumnIfMissing(c, "privacy_releases", "pricing", "TEXT");
        AddColumnIfMissing(c, "rounds", "ledger_sequence", "INTEGER");
        AddColumnIfMissing(c, "rounds", "ledger_entry_hash", "TEXT");
        foreach (var table in RowHashes.Tables)
        {
            AddColumnIfMissing(c, table.Name, "row_hash", "TEXT");
            // Finds the rows a transaction wrote (their hash is still null) without reading every model version.
            Exec(c, $"CREATE INDEX IF NOT EXISTS unsealed_{table.Name} ON {table.Name}(row_hash) WHERE row_hash IS NULL;");
        }

        using (var seal = c.BeginTransaction())
        {
            var legacy = Scalar(c, seal, "SELECT value FROM meta WHERE key = 'row_hash'") is null;
            VerifyContent(c, seal, unhashedAllowed: legacy);
            if (legacy)
            {
                // Rows an older SecureFed wrote have no hash: hashed now, once, and trusted from here on.
                RowsHashedAtOpen = Seal(c, seal);
                Exec(c, seal, "INSERT INTO meta(key, value) VALUES ('row_hash', $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$v", RowHashScheme));
            }

            seal.Commit();
        }

        using var tx = c.BeginTransaction();
        var existing = Scalar(c, tx, "SELECT value FROM meta WHERE key = 'federation_id'");
        if (existing is null)
        {
            Exec(c, tx, "INSERT INTO meta(key, value) VALUES ('federation_id', $v), ('schema', '1')", ("$v", federationId));
        }
        else if (!string.Equals((string)existing, federationId, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"store {full} belongs to federation '{existing}', not '{federationId}'; use another StorePath");
        }

        if (!string.IsNullOrEmpty(studyHash))
        {
            var study = Scalar(c, tx, "SELECT value FROM meta WHERE key = 'study_hash'");
            if (study is null)
            {
                Exec(c, tx, "INSERT INTO meta(key, value) VALUES ('study_hash', $v)", ("$v", studyHash));
                if (!string.IsNullOrEmpty(studyDocument))
                {
                    Exec(c, tx, "INSERT INTO meta(key, value) VALUES ('study', $v)", ("$v", studyDocument));
                }
            }
            else if (!string.Equals((string)study, studyHash, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"store {full} holds a federation of study {study}, not of study {studyHash}; a changed study needs a new federation (another StorePath)");
            }
        }

        // An attempt a crash interrupted is charged whatever it may already have shown the coordinator (the marks its
        // stages stored before each exposure), and its stored provisional ledger entry becomes appendable.
        Exec(c, tx, """
            INSERT OR IGNORE INTO privacy_releases(round, attempt, task, noise_multiplier, survivors, pricing)
            SELECT p.round, p.attempt, p.task, p.noise_multiplier, p.survivors, p.pricing FROM pending_releases p
            JOIN rounds r ON r.round = p.round AND r.attempt = p.attempt WHERE r.status = 'running'
            """);
        Exec(c, tx, "DELETE FROM pending_releases");
        Exec(c, tx, "UPDATE rounds SET status = 'interrupted', ended_at = $t, row_hash = NULL WHERE status = 'running'", ("$t", Now()));
        Seal(c, tx);
        tx.Commit();
    }

    /// <summary>
    /// Checks the whole store: SQLite's integrity check, every row's hash, every model version's parameters against its
    /// model hash and the statistics against theirs. Rows an older version wrote without a hash pass (a writing open
    /// hashes them). Runs at every writing open; read-only users (export) call it themselves.
    /// </summary>
    /// <exception cref="FederationStoreException">With <see cref="FederationStoreProblem.Corrupt"/>, naming the table
    /// and row that fail.</exception>
    public void VerifyIntegrity() => Guard("checking its integrity", () =>
    {
        using var c = Connect();
        CheckSqliteIntegrity(c);
        var legacy = Scalar(c, null, "SELECT value FROM meta WHERE key = 'row_hash'") is null;
        VerifyContent(c, null, unhashedAllowed: legacy);
        return 0;
    });

    /// <summary>The newest model version, or null for a new federation.</summary>
    public ModelVersion? LatestModel() => ReadModel("ORDER BY version DESC LIMIT 1");

    /// <summary>Stores the initial model (version 0, round 0) if the federation has none.</summary>
    public ModelVersion EnsureInitialModel(float[] parameters)
    {
        var latest = LatestModel();
        if (latest is not null)
        {
            return latest;
        }

        return Guard("storing the initial model", () =>
        {
            using var c = Connect();
            using var tx = c.BeginTransaction();
            InsertModel(c, tx, 0, 0, parameters);
            Seal(c, tx);
            tx.Commit();
            return new ModelVersion(0, 0, ModelHash.Compute(parameters), parameters);
        });
    }

    /// <summary>
    /// The number of the next round: one past the last completed round. A round that was aborted or interrupted
    /// is run again under the same number (as a new attempt), so round numbers count model versions.
    /// </summary>
    public long NextRoundNumber() => Guard("reading its rounds", () =>
    {
        using var c = Connect();
        return Convert.ToInt64(Scalar(c, null, "SELECT COALESCE(MAX(round), 0) + 1 FROM rounds WHERE status = 'completed' AND kind = 'training'"), CultureInfo.InvariantCulture);
    });

    /// <summary>Number of completed rounds.</summary>
    public int CompletedRounds() => Guard("reading its rounds", () =>
    {
        using var c = Connect();
        return Convert.ToInt32(Scalar(c, null, "SELECT COUNT(*) FROM rounds WHERE status = 'completed' AND kind = 'training'"), CultureInfo.InvariantCulture);
    });

    /// <summary>Records that a round started; returns its attempt number.</summary>
    /// <remarks>
    /// <paramref name="provisionalDraft"/>, given the attempt number, is the ledger entry the attempt gets if a crash
    /// interrupts it; it is stored in the same transaction, so no attempt is ever without one.
    /// </remarks>
    public int BeginRound(
        long round, string planHash, IReadOnlyList<string> participants, string modelHashBefore, string kind = RoundKinds.Training, Func<int, string>? provisionalDraft = null) =>
        Guard($"recording the start of round {round}", () =>
        {
            using var c = Connect();
            using var tx = c.BeginTransaction();
            Exec(c, tx, """
                INSERT INTO rounds(round, attempt, status, plan_hash, started_at, participants, model_hash_before, kind)
                VALUES ($r, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM rounds WHERE round = $r), 'running', $p, $t, $u, $m, $k)
                """,
                ("$r", round), ("$p", planHash), ("$t", Now()), ("$u", JsonSerializer.Serialize(participants)), ("$m", modelHashBefore), ("$k", kind));
            var attempt = Convert.ToInt32(Scalar(c, tx, "SELECT attempt FROM rounds WHERE round = $r AND status = 'running'", ("$r", round)), CultureInfo.InvariantCulture);
            if (provisionalDraft is not null)
            {
                Exec(c, tx, "UPDATE rounds SET ledger_draft = $d WHERE round = $r AND status = 'running'", ("$d", provisionalDraft(attempt)), ("$r", round));
            }

            Seal(c, tx);
            tx.Commit();
            return attempt;
        });

    /// <summary>
    /// Stores, for the running attempt of <paramref name="round"/>, the ledger entry it gets if a crash interrupts it
    /// and, optionally, a release it is about to risk (the coordinator may learn a sum from here on). A crash leaves the
    /// attempt interrupted with these releases charged and this entry appended; finishing it replaces both.
    /// </summary>
    public void MarkRunning(long round, string provisionalDraft, ReleaseRow? exposure = null) => Guard($"recording what round {round} risks", () =>
    {
        using var c = Connect();
        using var tx = c.BeginTransaction();
        if (exposure is not null)
        {
            Exec(c, tx, """
                INSERT OR REPLACE INTO pending_releases(round, attempt, task, noise_multiplier, survivors, pricing)
                SELECT round, attempt, $t, $z, $n, $p FROM rounds WHERE round = $r AND status = 'running'
                """,
                ("$r", round), ("$t", exposure.Task), ("$z", exposure.NoiseMultiplier), ("$n", exposure.Survivors), ("$p", JsonSerializer.Serialize(exposure.Pricing)));
        }

        VerifyRows(c, tx, RowHashes.Rounds, "round = $r AND status = 'running'", false, c.DataSource, ("$r", round));
        if (Exec(c, tx, "UPDATE rounds SET ledger_draft = $d, row_hash = NULL WHERE round = $r AND status = 'running'", ("$d", provisionalDraft), ("$r", round)) != 1)
        {
            throw new InvalidOperationException($"round {round} is not running in the store");
        }

        Seal(c, tx);
        tx.Commit();
        return 0;
    });

    /// <summary>A round's privacy charge, stored with the round in the same transaction.</summary>
    public sealed record PrivacyChargeRow(long Round, double NoiseMultiplier, double SamplingRate, int Steps, int Survivors, string Accountant, double Delta, double Epsilon)
    {
        /// <summary>
        /// Exactly what the round was priced with; the accounting composes this and never prices a stored round again.
        /// Rows written before it was kept read as one Gaussian release at <see cref="NoiseMultiplier"/>.
        /// </summary>
        public PricedCharge Pricing { get; init; } = new("gaussian", NoiseMultiplier, SamplingRate, Steps);
    }

    /// <summary>
    /// Atomically stores a completed round, its new model version and its privacy charge: the charge can never be
    /// missing for a released model, and is never stored for one that was not released.
    /// </summary>
    public ModelVersion CompleteRound(
        RoundReport report, float[] newParameters, PrivacyChargeRow? charge = null, string? ledgerDraft = null, IReadOnlyList<ReleaseRow>? releases = null,
        byte[]? optimizerState = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        return Guard($"storing completed round {report.Round}", () =>
        {
            using var c = Connect();
            using var tx = c.BeginTransaction();
            InsertReleases(c, tx, releases);
            if (charge is not null)
            {
                Exec(c, tx, "INSERT INTO privacy_charges(round, noise_multiplier, sampling_rate, steps, survivors, accountant, delta, epsilon, pricing) VALUES ($r, $z, $q, $s, $n, $a, $d, $e, $p)",
                    ("$r", charge.Round), ("$z", charge.NoiseMultiplier), ("$q", charge.SamplingRate), ("$s", charge.Steps), ("$n", charge.Survivors),
                    ("$a", charge.Accountant), ("$d", charge.Delta), ("$e", charge.Epsilon), ("$p", JsonSerializer.Serialize(charge.Pricing)));
            }

            var version = Convert.ToInt64(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions"), CultureInfo.InvariantCulture);
            var hash = InsertModel(c, tx, version, report.Round, newParameters);
            if (optimizerState is not null)
            {
                Exec(c, tx, "UPDATE model_versions SET optimizer_state = $s, row_hash = NULL WHERE version = $v", ("$s", optimizerState), ("$v", version));
            }

            FinishRound(c, tx, report with { ModelHash = hash }, "completed", ledgerDraft);
            Seal(c, tx);
            tx.Commit();
            return new ModelVersion(version, report.Round, hash, newParameters);
        });
    }

    /// <summary>
    /// Atomically stores the completed statistics round (round 0) with the federated statistics it released and
    /// their privacy charges. Statistics are stored once; a second call is refused.
    /// </summary>
    public void CompleteStatisticsRound(RoundReport report, IReadOnlyList<double> statistics, string hash, string? ledgerDraft, IReadOnlyList<ReleaseRow>? releases)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(statistics);
        Guard("storing the federated statistics", () =>
        {
            using var c = Connect();
            using var tx = c.BeginTransaction();
            InsertReleases(c, tx, releases);
            var bytes = new byte[statistics.Count * sizeof(double)];
            for (var i = 0; i < statistics.Count; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), statistics[i]);
            }

            Exec(c, tx, "INSERT INTO statistics(id, hash, vector, contributors) VALUES (1, $h, $v, $n)", ("$h", hash), ("$v", bytes), ("$n", report.Contributors));
            FinishRound(c, tx, report, "completed", ledgerDraft);
            Seal(c, tx);
            tx.Commit();
            return 0;
        });
    }

    /// <summary>Atomically stores a completed evaluation-only round with its charges (no model change).</summary>
    public void CompleteEvaluationRound(RoundReport report, string? ledgerDraft, IReadOnlyList<ReleaseRow>? releases)
    {
        ArgumentNullException.ThrowIfNull(report);
        Guard($"storing evaluation round {report.Round}", () =>
        {
            using var c = Connect();
            using var tx = c.BeginTransaction();
            InsertReleases(c, tx, releases);
            FinishRound(c, tx, report, "completed", ledgerDraft);
            Seal(c, tx);
            tx.Commit();
            return 0;
        });
    }

    /// <summary>The federated statistics released before round 1, or null when none are stored yet.</summary>
    public (double[] Vector, string Hash, int Contributors)? Statistics() => Guard<(double[] Vector, string Hash, int Contributors)?>("reading the federated statistics", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT hash, vector, contributors FROM statistics WHERE id = 1";
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return ((double[], string, int)?)null;
        }

        var vector = StatisticsVector((byte[])r.GetValue(1));
        var hash = r.GetString(0);
        if (!string.Equals(RoundPlan.HashStatistics(vector), hash, StringComparison.Ordinal))
        {
            throw new InvalidDataException("the stored federated statistics do not match their hash; the store is corrupt");
        }

        return (vector, hash, r.GetInt32(2));
    });

    /// <summary>The study this federation runs: its hash and canonical JSON (null for a federation without a study).</summary>
    public (string Hash, string? Document)? Study() => Guard<(string Hash, string? Document)?>("reading its study", () =>
    {
        using var c = Connect();
        var hash = Scalar(c, null, "SELECT value FROM meta WHERE key = 'study_hash'") as string;
        return hash is null ? ((string, string?)?)null : (hash, Scalar(c, null, "SELECT value FROM meta WHERE key = 'study'") as string);
    });

    /// <summary>The privacy settings (a canonical line) the last ledger entry was drafted under, or null before the first.</summary>
    public string? PrivacySettings() => Guard<string?>("reading its privacy settings", () =>
    {
        using var c = Connect();
        return Scalar(c, null, "SELECT value FROM meta WHERE key = 'privacy_settings'") as string;
    });

    /// <summary>Records the privacy settings entries are now drafted under.</summary>
    public void SetPrivacySettings(string settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Guard("recording its privacy settings", () =>
        {
            using var c = Connect();
            return Exec(c, null, "INSERT INTO meta(key, value) VALUES ('privacy_settings', $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$v", settings));
        });
    }

    /// <summary>The server optimizer's moments stored with model version <paramref name="version"/>, or null when none were kept.</summary>
    public byte[]? OptimizerState(long version) => Guard<byte[]?>("reading the optimizer state", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT optimizer_state FROM model_versions WHERE version = $v";
        cmd.Parameters.AddWithValue("$v", version);
        return cmd.ExecuteScalar() is byte[] state ? state : null;
    });

    /// <summary>The stored model version with hash <paramref name="hash"/>, or null.</summary>
    public ModelVersion? ModelByHash(string hash) => ReadModel("WHERE hash = $h ORDER BY version LIMIT 1", ("$h", hash));

    /// <summary>Every privacy-charged release other than training updates, in order.</summary>
    public IReadOnlyList<ReleaseRow> PrivacyReleases() => Guard("reading its privacy releases", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT round, attempt, task, noise_multiplier, survivors, pricing FROM privacy_releases ORDER BY rowid";
        return (IReadOnlyList<ReleaseRow>)ReadReleases(cmd);
    });

    /// <summary>
    /// The effective noise multiplier of every release the store has charged: each completed round's training update
    /// (privacy_charges) and every other release (privacy_releases). The ledger's cumulative epsilon composes exactly
    /// these, so it always comes from the store, never from what a ledger file happens to hold.
    /// </summary>
    public IReadOnlyList<double> ChargedNoiseMultipliers() => Guard("reading its privacy charges", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT noise_multiplier FROM privacy_charges UNION ALL SELECT noise_multiplier FROM privacy_releases";
        using var r = cmd.ExecuteReader();
        var list = new List<double>();
        while (r.Read())
        {
            list.Add(r.GetDouble(0));
        }

        return (IReadOnlyList<double>)list;
    });

    private static List<ReleaseRow> ReadReleases(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var list = new List<ReleaseRow>();
        while (r.Read())
        {
            var row = new ReleaseRow(r.GetInt64(0), r.GetInt32(1), r.GetString(2), r.GetDouble(3), r.GetInt32(4));
            list.Add(r.IsDBNull(5) ? row : row with
            {
                Pricing = JsonSerializer.Deserialize<PricedCharge>(r.GetString(5))
                    ?? throw new InvalidDataException($"release {row.Task} of round {row.Round} attempt {row.Attempt} has an empty pricing; the store is corrupt"),
            });
        }

        return list;
    }

    /// <summary>Stores an aborted round (no model change).</summary>
    public void AbortRound(RoundReport report, string? ledgerDraft = null, IReadOnlyList<ReleaseRow>? releases = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        Guard($"storing aborted round {report.Round}", () =>
        {
            using var c = Connect();
            using var tx = c.BeginTransaction();
            InsertReleases(c, tx, releases); // what an aborted attempt still showed the coordinator is charged all the same
            FinishRound(c, tx, report, "aborted", ledgerDraft);
            Seal(c, tx);
            tx.Commit();
            return 0;
        });
    }

    /// <summary>All rounds in order.</summary>
    public IReadOnlyList<RoundRow> Rounds() => Guard("reading its rounds", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT round, attempt, status, plan_hash, contributors, dropouts, refused, rejected, accuracy, loss, model_hash_before, model_hash_after, participants, abort_reason, kind, metrics FROM rounds ORDER BY round, attempt";
        using var r = cmd.ExecuteReader();
        var rows = new List<RoundRow>();
        while (r.Read())
        {
            rows.Add(new RoundRow(
                r.GetInt64(0), r.GetInt32(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetInt32(7),
                r.IsDBNull(8) ? null : r.GetDouble(8), r.IsDBNull(9) ? null : r.GetDouble(9),
                r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(11) ? null : r.GetString(11),
                JsonSerializer.Deserialize<List<string>>(r.GetString(12)) ?? [], r.IsDBNull(13) ? null : r.GetString(13),
                r.GetString(14), r.IsDBNull(15) ? null : JsonSerializer.Deserialize<FederatedMetrics>(r.GetString(15))));
        }

        return (IReadOnlyList<RoundRow>)rows;
    });

    /// <summary>The attempt number of the running attempt of <paramref name="round"/>.</summary>
    public int RunningAttempt(long round) => Guard("reading its rounds", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT attempt FROM rounds WHERE round = $r AND status = 'running'";
        cmd.Parameters.AddWithValue("$r", round);
        return Convert.ToInt32(cmd.ExecuteScalar() ?? throw new InvalidOperationException($"round {round} is not running"), CultureInfo.InvariantCulture);
    });

    /// <summary>
    /// Ledger entries stored with their rounds but not yet appended to the ledger file (an outbox: the round and its
    /// entry are committed together, the file append follows and is retried after a crash).
    /// </summary>
    public IReadOnlyList<(long Round, int Attempt, string Draft)> PendingLedgerDrafts() =>
        [.. LedgerRecords().Where(r => !r.Appended).Select(r => (r.Round, r.Attempt, r.Draft))];

    /// <summary>
    /// Every finished attempt's ledger entry, in the order the ledger holds (or will hold) them: appended entries by the
    /// sequence number they got (those appended before sequence numbers were kept, and the outbox, by when their attempt
    /// ended).
    /// </summary>
    public IReadOnlyList<LedgerRecord> LedgerRecords() => Guard("reading its ledger entries", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT round, attempt, ledger_draft, ledger_appended, ledger_sequence, ledger_entry_hash FROM rounds
            WHERE ledger_draft IS NOT NULL AND status <> 'running'
            ORDER BY ledger_appended DESC, ledger_sequence IS NULL, ledger_sequence, ended_at, round, attempt
            """;
        using var r = cmd.ExecuteReader();
        var list = new List<LedgerRecord>();
        while (r.Read())
        {
            list.Add(new LedgerRecord(r.GetInt64(0), r.GetInt32(1), r.GetString(2), r.GetInt64(3) != 0,
                r.IsDBNull(4) ? null : r.GetInt64(4), r.IsDBNull(5) ? null : r.GetString(5)));
        }

        return (IReadOnlyList<LedgerRecord>)list;
    });

    /// <summary>Marks a round's ledger entry as appended to the ledger file, as entry <paramref name="sequence"/> with <paramref name="entryHash"/>.</summary>
    public void MarkLedgerAppended(long round, int attempt, long sequence, string entryHash) => Guard($"recording the ledger entry of round {round}", () =>
    {
        using var c = Connect();
        using var tx = c.BeginTransaction();
        VerifyRows(c, tx, RowHashes.Rounds, "round = $r AND attempt = $a", false, c.DataSource, ("$r", round), ("$a", attempt));
        Exec(c, tx, "UPDATE rounds SET ledger_appended = 1, ledger_sequence = $s, ledger_entry_hash = $h, row_hash = NULL WHERE round = $r AND attempt = $a",
            ("$r", round), ("$a", attempt), ("$s", sequence), ("$h", entryHash));
        Seal(c, tx);
        tx.Commit();
        return 0;
    });

    /// <summary>Every privacy charge, by round.</summary>
    public IReadOnlyList<PrivacyChargeRow> PrivacyCharges() => Guard("reading its privacy charges", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT round, noise_multiplier, sampling_rate, steps, survivors, accountant, delta, epsilon, pricing FROM privacy_charges ORDER BY round";
        using var r = cmd.ExecuteReader();
        var list = new List<PrivacyChargeRow>();
        while (r.Read())
        {
            var row = new PrivacyChargeRow(r.GetInt64(0), r.GetDouble(1), r.GetDouble(2), r.GetInt32(3), r.GetInt32(4), r.GetString(5), r.GetDouble(6), r.GetDouble(7));
            if (!r.IsDBNull(8))
            {
                row = row with
                {
                    Pricing = JsonSerializer.Deserialize<PricedCharge>(r.GetString(8))
                        ?? throw new InvalidDataException($"privacy charge of round {row.Round} has an empty pricing; the store is corrupt"),
                };
            }

            list.Add(row);
        }

        return (IReadOnlyList<PrivacyChargeRow>)list;
    });

    /// <summary>Every model hash stored, by version.</summary>
    public IReadOnlyList<(long Version, long Round, string Hash)> ModelHistory() => Guard("reading its model versions", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT version, round, hash FROM model_versions ORDER BY version";
        using var r = cmd.ExecuteReader();
        var list = new List<(long, long, string)>();
        while (r.Read())
        {
            list.Add((r.GetInt64(0), r.GetInt64(1), r.GetString(2)));
        }

        return (IReadOnlyList<(long, long, string)>)list;
    });

    private static string InsertModel(SqliteConnection c, SqliteTransaction tx, long version, long round, float[] parameters)
    {
        var hash = ModelHash.Compute(parameters);
        Exec(c, tx, "INSERT INTO model_versions(version, round, hash, created_at, parameters) VALUES ($v, $r, $h, $t, $p)",
            ("$v", version), ("$r", round), ("$h", hash), ("$t", Now()), ("$p", MemoryMarshal.AsBytes(parameters.AsSpan()).ToArray()));
        return hash;
    }

    private static void FinishRound(SqliteConnection c, SqliteTransaction tx, RoundReport report, string status, string? ledgerDraft)
    {
        VerifyRows(c, tx, RowHashes.Rounds, "round = $r AND status = 'running'", false, c.DataSource, ("$r", report.Round));
        var changed = Exec(c, tx, """
            UPDATE rounds SET status = $s, ended_at = $t, contributors = $c, dropouts = $d, refused = $f, rejected = $j,
                accuracy = $a, loss = $l, model_hash_after = $h, abort_reason = $why, stage_counts = $sc, ledger_draft = $ld, metrics = $mx, row_hash = NULL
            WHERE round = $r AND status = 'running'
            """,
            ("$mx", report.Evaluation is { } mx ? (object)JsonSerializer.Serialize(mx) : DBNull.Value),
            ("$sc", report.StageCounts is { } sc ? (object)JsonSerializer.Serialize(sc) : DBNull.Value),
            ("$ld", (object?)ledgerDraft ?? DBNull.Value),
            ("$s", status), ("$t", Now()), ("$c", report.Contributors), ("$d", report.Dropouts), ("$f", report.Refused), ("$j", report.Rejected),
            ("$a", double.IsFinite(report.Accuracy) ? report.Accuracy : DBNull.Value), ("$l", double.IsFinite(report.Loss) ? report.Loss : DBNull.Value),
            ("$h", report.ModelHash), ("$why", (object?)report.AbortReason ?? DBNull.Value), ("$r", report.Round));
        if (changed != 1)
        {
            throw new InvalidOperationException($"round {report.Round} is not running in the store; refusing to overwrite it");
        }

        // The finished attempt's releases are the ones its caller stored with it; the crash-time marks are void.
        Exec(c, tx, "DELETE FROM pending_releases WHERE round = $r", ("$r", report.Round));
    }

    /// <summary>One model version selected by <paramref name="clause"/>, checked against its stored hash.</summary>
    private ModelVersion? ReadModel(string clause, params (string Name, object Value)[] args) => Guard<ModelVersion?>("reading a model version", () =>
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT version, round, hash, parameters FROM model_versions " + clause;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return null;
        }

        var parameters = MemoryMarshal.Cast<byte, float>((byte[])r.GetValue(3)).ToArray();
        var hash = r.GetString(2);
        if (!string.Equals(ModelHash.Compute(parameters), hash, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"stored model version {r.GetInt64(0)} does not match its hash; the store is corrupt");
        }

        return new ModelVersion(r.GetInt64(0), r.GetInt64(1), hash, parameters);
    });

    private static void InsertReleases(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<ReleaseRow>? releases)
    {
        foreach (var x in releases ?? [])
        {
            Exec(c, tx, "INSERT INTO privacy_releases(round, attempt, task, noise_multiplier, survivors, pricing) VALUES ($r, $a, $t, $z, $n, $p)",
                ("$r", x.Round), ("$a", x.Attempt), ("$t", x.Task), ("$z", x.NoiseMultiplier), ("$n", x.Survivors), ("$p", JsonSerializer.Serialize(x.Pricing)));
        }
    }

    private static double[] StatisticsVector(byte[] bytes)
    {
        var vector = new double[bytes.Length / sizeof(double)];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
        }

        return vector;
    }

    /// <summary>SQLite's own check of the file's structure (pages, b-trees, indexes, NOT NULL).</summary>
    private void CheckSqliteIntegrity(SqliteConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        using var r = cmd.ExecuteReader();
        var first = r.Read() ? r.GetString(0) : "no answer";
        if (!string.Equals(first, "ok", StringComparison.Ordinal))
        {
            throw new FederationStoreException(FederationStoreProblem.Corrupt,
                $"store {Path} fails SQLite's integrity check ({OneLine(first)}); restore it from a backup");
        }
    }

    /// <summary>
    /// Every protected row against its row hash, every model version's parameters against its model hash, the
    /// statistics against theirs. <paramref name="unhashedAllowed"/>: rows without a hash (an older SecureFed's) pass.
    /// </summary>
    private void VerifyContent(SqliteConnection c, SqliteTransaction? tx, bool unhashedAllowed)
    {
        foreach (var table in RowHashes.Tables)
        {
            VerifyRows(c, tx, table, "1 = 1", unhashedAllowed, Path);
        }

        using (var models = c.CreateCommand())
        {
            models.Transaction = tx;
            models.CommandText = "SELECT version, hash, parameters FROM model_versions ORDER BY version";
            using var r = models.ExecuteReader();
            while (r.Read())
            {
                var parameters = MemoryMarshal.Cast<byte, float>((byte[])r.GetValue(2)).ToArray();
                if (!string.Equals(ModelHash.Compute(parameters), r.GetString(1), StringComparison.Ordinal))
                {
                    throw Corrupt(Path, "model_versions", $"version={r.GetInt64(0)}", "its parameters do not match its model hash");
                }
            }
        }

        using var statistics = c.CreateCommand();
        statistics.Transaction = tx;
        statistics.CommandText = "SELECT hash, vector FROM statistics";
        using var s = statistics.ExecuteReader();
        while (s.Read())
        {
            if (!string.Equals(RoundPlan.HashStatistics(StatisticsVector((byte[])s.GetValue(1))), s.GetString(0), StringComparison.Ordinal))
            {
                throw Corrupt(Path, "statistics", "id=1", "the vector does not match its hash");
            }
        }
    }

    private static void VerifyRows(
        SqliteConnection c, SqliteTransaction? tx, RowHashes.Table table, string where, bool unhashedAllowed, string store, params (string Name, object Value)[] args)
    {
        if (!HasColumn(c, tx, table.Name, "row_hash"))
        {
            return; // an older store, opened read-only: nothing was hashed yet
        }

        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT {string.Join(", ", table.Columns)}, row_hash FROM {table.Name} WHERE {where}";
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var stored = r.IsDBNull(table.Columns.Count) ? null : r.GetValue(table.Columns.Count) as string;
            if (stored is null)
            {
                if (unhashedAllowed)
                {
                    continue;
                }

                throw Corrupt(store, table.Name, table.Key(r), "it has no row hash");
            }

            if (!string.Equals(RowHashes.Compute(table, r), stored, StringComparison.Ordinal))
            {
                throw Corrupt(store, table.Name, table.Key(r), "its content does not match its row hash");
            }
        }
    }

    /// <summary>Hashes every row the transaction wrote (their row_hash is null); returns how many.</summary>
    private static int Seal(SqliteConnection c, SqliteTransaction tx)
    {
        var sealedRows = 0;
        foreach (var table in RowHashes.Tables)
        {
            var pending = new List<(long RowId, string Hash)>();
            using (var cmd = c.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = $"SELECT {string.Join(", ", table.Columns)}, rowid FROM {table.Name} WHERE row_hash IS NULL";
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    pending.Add((r.GetInt64(table.Columns.Count), RowHashes.Compute(table, r)));
                }
            }

            foreach (var (rowId, hash) in pending)
            {
                Exec(c, tx, $"UPDATE {table.Name} SET row_hash = $h WHERE rowid = $id", ("$h", hash), ("$id", rowId));
            }

            sealedRows += pending.Count;
        }

        return sealedRows;
    }

    private static FederationStoreException Corrupt(string store, string table, string row, string problem) =>
        new(FederationStoreProblem.Corrupt,
            $"store {store} is corrupt: table {table}, row {row}: {problem}; restore the store from a backup (the coordinator refuses to run on it)");

    private static bool HasColumn(SqliteConnection c, SqliteTransaction? tx, string table, string column) =>
        Convert.ToInt64(Scalar(c, tx, $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'"), CultureInfo.InvariantCulture) > 0;

    private static void AddColumnIfMissing(SqliteConnection c, string table, string column, string definition)
    {
        if (!HasColumn(c, null, table, column))
        {
            Exec(c, $"ALTER TABLE {table} ADD COLUMN {column} {definition};");
        }
    }

    /// <summary>Runs <paramref name="body"/>, turning a storage failure into one line that names the store (state unchanged: the transaction rolled back).</summary>
    private T Guard<T>(string doing, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (SqliteException ex) when (FederationStoreException.FromSqlite(Path, doing, ex) is { } mapped)
        {
            throw mapped;
        }
        catch (Exception ex) when (ex is IOException and not FederationStoreException || ex is UnauthorizedAccessException)
        {
            throw FederationStoreException.FromIo(Path, doing, ex);
        }
    }

    private SqliteConnection Connect()
    {
        if (!ReadOnly)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        }

        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, ReadOnly ? "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;" : "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
        return c;
    }

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 200 ? line : string.Concat(line.AsSpan(0, 197), "...");
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static void Exec(SqliteConnection c, string sql) => Exec(c, null, sql);

    private static int Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }
}
