using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecureFed.Protocol;

namespace SecureFed.Coordinator;

/// <summary>
/// The coordinator's durable state in one SQLite file: the federation's identity, every round's outcome and
/// every global model version. A round's completion (its row and the new model) is written in one transaction,
/// so a crash leaves either the old state or the new one. Thread-safe: each call opens its own connection.
/// </summary>
public sealed class FederationStore
{
    private readonly string _connectionString;

    private FederationStore(string connectionString)
    {
        _connectionString = connectionString;
    }

    /// <summary>A stored model version.</summary>
    public sealed record ModelVersion(long Version, long Round, string Hash, float[] Parameters);

    /// <summary>A stored round.</summary>
    public sealed record RoundRow(
        long Round, int Attempt, string Status, string? PlanHash, int Contributors, int Dropouts, int Refused, int Rejected,
        double? Accuracy, double? Loss, string? ModelHashBefore, string? ModelHashAfter, IReadOnlyList<string> Participants, string? AbortReason,
        string Kind = RoundKinds.Training, FederatedMetrics? Metrics = null);

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
    public static FederationStore Open(string path, string federationId, string? studyHash, string? studyDocument = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        var store = new FederationStore(cs);
        using var c = store.Connect();
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
        Exec(c, tx, "UPDATE rounds SET status = 'interrupted', ended_at = $t WHERE status = 'running'", ("$t", Now()));
        tx.Commit();
        return store;
    }

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

        using var c = Connect();
        using var tx = c.BeginTransaction();
        InsertModel(c, tx, 0, 0, parameters);
        tx.Commit();
        return new ModelVersion(0, 0, ModelHash.Compute(parameters), parameters);
    }

    /// <summary>
    /// The number of the next round: one past the last completed round. A round that was aborted or interrupted
    /// is run again under the same number (as a new attempt), so round numbers count model versions.
    /// </summary>
    public long NextRoundNumber()
    {
        using var c = Connect();
        return Convert.ToInt64(Scalar(c, null, "SELECT COALESCE(MAX(round), 0) + 1 FROM rounds WHERE status = 'completed' AND kind = 'training'"), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Number of completed rounds.</summary>
    public int CompletedRounds()
    {
        using var c = Connect();
        return Convert.ToInt32(Scalar(c, null, "SELECT COUNT(*) FROM rounds WHERE status = 'completed' AND kind = 'training'"), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Records that a round started; returns its attempt number.</summary>
    public int BeginRound(long round, string planHash, IReadOnlyList<string> participants, string modelHashBefore, string kind = RoundKinds.Training)
    {
        using var c = Connect();
        using var tx = c.BeginTransaction();
        Exec(c, tx, """
            INSERT INTO rounds(round, attempt, status, plan_hash, started_at, participants, model_hash_before, kind)
            VALUES ($r, (SELECT COALESCE(MAX(attempt), 0) + 1 FROM rounds WHERE round = $r), 'running', $p, $t, $u, $m, $k)
            """,
            ("$r", round), ("$p", planHash), ("$t", Now()), ("$u", JsonSerializer.Serialize(participants)), ("$m", modelHashBefore), ("$k", kind));
        var attempt = Convert.ToInt32(Scalar(c, tx, "SELECT attempt FROM rounds WHERE round = $r AND status = 'running'", ("$r", round)), System.Globalization.CultureInfo.InvariantCulture);
        tx.Commit();
        return attempt;
    }

    /// <summary>
    /// Stores, for the running attempt of <paramref name="round"/>, the ledger entry it gets if a crash interrupts it
    /// and, optionally, a release it is about to risk (the coordinator may learn a sum from here on). A crash leaves the
    /// attempt interrupted with these releases charged and this entry appended; finishing it replaces both.
    /// </summary>
    public void MarkRunning(long round, string provisionalDraft, ReleaseRow? exposure = null)
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

        if (Exec(c, tx, "UPDATE rounds SET ledger_draft = $d WHERE round = $r AND status = 'running'", ("$d", provisionalDraft), ("$r", round)) != 1)
        {
            throw new InvalidOperationException($"round {round} is not running in the store");
        }

        tx.Commit();
    }

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
        using var c = Connect();
        using var tx = c.BeginTransaction();
        InsertReleases(c, tx, releases);
        if (charge is not null)
        {
            Exec(c, tx, "INSERT INTO privacy_charges(round, noise_multiplier, sampling_rate, steps, survivors, accountant, delta, epsilon, pricing) VALUES ($r, $z, $q, $s, $n, $a, $d, $e, $p)",
                ("$r", charge.Round), ("$z", charge.NoiseMultiplier), ("$q", charge.SamplingRate), ("$s", charge.Steps), ("$n", charge.Survivors),
                ("$a", charge.Accountant), ("$d", charge.Delta), ("$e", charge.Epsilon), ("$p", JsonSerializer.Serialize(charge.Pricing)));
        }

        var version = Convert.ToInt64(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions"), System.Globalization.CultureInfo.InvariantCulture);
        var hash = InsertModel(c, tx, version, report.Round, newParameters);
        if (optimizerState is not null)
        {
            Exec(c, tx, "UPDATE model_versions SET optimizer_state = $s WHERE version = $v", ("$s", optimizerState), ("$v", version));
        }

        FinishRound(c, tx, report with { ModelHash = hash }, "completed", ledgerDraft);
        tx.Commit();
        return new ModelVersion(version, report.Round, hash, newParameters);
    }

    /// <summary>
    /// Atomically stores the completed statistics round (round 0) with the federated statistics it released and
    /// their privacy charges. Statistics are stored once; a second call is refused.
    /// </summary>
    public void CompleteStatisticsRound(RoundReport report, IReadOnlyList<double> statistics, string hash, string? ledgerDraft, IReadOnlyList<ReleaseRow>? releases)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(statistics);
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
        tx.Commit();
    }

    /// <summary>Atomically stores a completed evaluation-only round with its charges (no model change).</summary>
    public void CompleteEvaluationRound(RoundReport report, string? ledgerDraft, IReadOnlyList<ReleaseRow>? releases)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var c = Connect();
        using var tx = c.BeginTransaction();
        InsertReleases(c, tx, releases);
        FinishRound(c, tx, report, "completed", ledgerDraft);
        tx.Commit();
    }

    /// <summary>The federated statistics released before round 1, or null when none are stored yet.</summary>
    public (double[] Vector, string Hash, int Contributors)? Statistics()
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT hash, vector, contributors FROM statistics WHERE id = 1";
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return null;
        }

        var bytes = (byte[])r.GetValue(1);
        var vector = new double[bytes.Length / sizeof(double)];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)));
        }

        var hash = r.GetString(0);
        if (!string.Equals(RoundPlan.HashStatistics(vector), hash, StringComparison.Ordinal))
        {
            throw new InvalidDataException("the stored federated statistics do not match their hash; the store is corrupt");
        }

        return (vector, hash, r.GetInt32(2));
    }

    /// <summary>The study this federation runs: its hash and canonical JSON (null for a federation without a study).</summary>
    public (string Hash, string? Document)? Study()
    {
        using var c = Connect();
        var hash = Scalar(c, null, "SELECT value FROM meta WHERE key = 'study_hash'") as string;
        return hash is null ? null : (hash, Scalar(c, null, "SELECT value FROM meta WHERE key = 'study'") as string);
    }

    /// <summary>The privacy settings (a canonical line) the last ledger entry was drafted under, or null before the first.</summary>
    public string? PrivacySettings()
    {
        using var c = Connect();
        return Scalar(c, null, "SELECT value FROM meta WHERE key = 'privacy_settings'") as string;
    }

    /// <summary>Records the privacy settings entries are now drafted under.</summary>
    public void SetPrivacySettings(string settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var c = Connect();
        Exec(c, null, "INSERT INTO meta(key, value) VALUES ('privacy_settings', $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("$v", settings));
    }

    /// <summary>The server optimizer's moments stored with model version <paramref name="version"/>, or null when none were kept.</summary>
    public byte[]? OptimizerState(long version)
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT optimizer_state FROM model_versions WHERE version = $v";
        cmd.Parameters.AddWithValue("$v", version);
        return cmd.ExecuteScalar() is byte[] state ? state : null;
    }

    /// <summary>The stored model version with hash <paramref name="hash"/>, or null.</summary>
    public ModelVersion? ModelByHash(string hash) => ReadModel("WHERE hash = $h ORDER BY version LIMIT 1", ("$h", hash));

    /// <summary>Every privacy-charged release other than training updates, in order.</summary>
    public IReadOnlyList<ReleaseRow> PrivacyReleases()
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT round, attempt, task, noise_multiplier, survivors, pricing FROM privacy_releases ORDER BY rowid";
        return ReadReleases(cmd);
    }

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
        using var c = Connect();
        using var tx = c.BeginTransaction();
        InsertReleases(c, tx, releases); // what an aborted attempt still showed the coordinator is charged all the same
        FinishRound(c, tx, report, "aborted", ledgerDraft);
        tx.Commit();
    }

    /// <summary>All rounds in order.</summary>
    public IReadOnlyList<RoundRow> Rounds()
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

        return rows;
    }

    /// <summary>The attempt number of the running attempt of <paramref name="round"/>.</summary>
    public int RunningAttempt(long round)
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT attempt FROM rounds WHERE round = $r AND status = 'running'";
        cmd.Parameters.AddWithValue("$r", round);
        return Convert.ToInt32(cmd.ExecuteScalar() ?? throw new InvalidOperationException($"round {round} is not running"), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Ledger entries stored with their rounds but not yet appended to the ledger file (an outbox: the round and its
    /// entry are committed together, the file append follows and is retried after a crash).
    /// </summary>
    public IReadOnlyList<(long Round, int Attempt, string Draft)> PendingLedgerDrafts()
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT round, attempt, ledger_draft FROM rounds WHERE ledger_draft IS NOT NULL AND ledger_appended = 0 AND status <> 'running' ORDER BY ended_at, round, attempt";
        using var r = cmd.ExecuteReader();
        var list = new List<(long, int, string)>();
        while (r.Read())
        {
            list.Add((r.GetInt64(0), r.GetInt32(1), r.GetString(2)));
        }

        return list;
    }

    /// <summary>Marks a round's ledger entry as appended to the ledger file.</summary>
    public void MarkLedgerAppended(long round, int attempt)
    {
        using var c = Connect();
        Exec(c, null, "UPDATE rounds SET ledger_appended = 1 WHERE round = $r AND attempt = $a", ("$r", round), ("$a", attempt));
    }

    /// <summary>Every privacy charge, by round.</summary>
    public IReadOnlyList<PrivacyChargeRow> PrivacyCharges()
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

        return list;
    }

    /// <summary>Every model hash stored, by version.</summary>
    public IReadOnlyList<(long Version, long Round, string Hash)> ModelHistory()
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

        return list;
    }

    private static string InsertModel(SqliteConnection c, SqliteTransaction tx, long version, long round, float[] parameters)
    {
        var hash = ModelHash.Compute(parameters);
        Exec(c, tx, "INSERT INTO model_versions(version, round, hash, created_at, parameters) VALUES ($v, $r, $h, $t, $p)",
            ("$v", version), ("$r", round), ("$h", hash), ("$t", Now()), ("$p", MemoryMarshal.AsBytes(parameters.AsSpan()).ToArray()));
        return hash;
    }

    private static void FinishRound(SqliteConnection c, SqliteTransaction tx, RoundReport report, string status, string? ledgerDraft)
    {
        var changed = Exec(c, tx, """
            UPDATE rounds SET status = $s, ended_at = $t, contributors = $c, dropouts = $d, refused = $f, rejected = $j,
                accuracy = $a, loss = $l, model_hash_after = $h, abort_reason = $why, stage_counts = $sc, ledger_draft = $ld, metrics = $mx
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
    private ModelVersion? ReadModel(string clause, params (string Name, object Value)[] args)
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
    }

    private static void InsertReleases(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<ReleaseRow>? releases)
    {
        foreach (var x in releases ?? [])
        {
            Exec(c, tx, "INSERT INTO privacy_releases(round, attempt, task, noise_multiplier, survivors, pricing) VALUES ($r, $a, $t, $z, $n, $p)",
                ("$r", x.Round), ("$a", x.Attempt), ("$t", x.Task), ("$z", x.NoiseMultiplier), ("$n", x.Survivors), ("$p", JsonSerializer.Serialize(x.Pricing)));
        }
    }

    private static void AddColumnIfMissing(SqliteConnection c, string table, string column, string definition)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'";
        if (Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            Exec(c, $"ALTER TABLE {table} ADD COLUMN {column} {definition};");
        }
    }

    private SqliteConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
        return c;
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

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
