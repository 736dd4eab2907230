using System.Globalization;
using Microsoft.Data.Sqlite;
using SecureFed.Audit;
using SecureFed.Coordinator;

namespace SecureFed.ModelExport.Internal;

/// <summary>
/// The agreement an export certifies between the coordinator's store and its verified ledger: every finished round
/// attempt of the store is an entry of the ledger and the other way round (same status, kind and plan hash), the
/// store's latest model is the ledger's final model, and the study and statistics hashes agree. Each refusal is one
/// line naming what differs.
/// </summary>
internal static class StoreLedgerCheck
{
    /// <summary>
    /// The store's federation id and its running rounds, read without writing: <see cref="FederationStore.Open(string, string)"/>
    /// marks running rounds interrupted, which must not happen to a live coordinator's store.
    /// </summary>
    public static (string FederationId, int Running) Probe(string storePath)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(storePath), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        try
        {
            using var c = new SqliteConnection(cs);
            c.Open();
            using var id = c.CreateCommand();
            id.CommandText = "SELECT value FROM meta WHERE key = 'federation_id'";
            var federation = id.ExecuteScalar() as string
                ?? throw new InvalidDataException($"{storePath} holds no federation (its meta table names none); give a coordinator's store");
            using var running = c.CreateCommand();
            running.CommandText = "SELECT COUNT(*) FROM rounds WHERE status = 'running'";
            return (federation, Convert.ToInt32(running.ExecuteScalar(), CultureInfo.InvariantCulture));
        }
        catch (SqliteException ex)
        {
            throw new InvalidDataException($"{storePath} is not a coordinator store ({ex.Message}); give the federation.db of a coordinator or a simulation");
        }
    }

    public static void Rounds(IReadOnlyList<FederationStore.RoundRow> rows, IReadOnlyList<LedgerEntry> federation, string federationId)
    {
        var head = federation[^1];
        var stored = rows.Where(r => r.Status is "completed" or "aborted").ToDictionary(r => ((int)r.Round, r.Attempt));
        var logged = federation.ToDictionary(e => (e.Round, e.Attempt));
        foreach (var row in stored.Values)
        {
            if (!logged.TryGetValue(((int)row.Round, row.Attempt), out var entry))
            {
                throw new ExportRefusedException(Invariant(
                    $"ledger head differs from the store: the ledger's last entry of federation {federationId} is entry {head.Sequence} ({Kind(head)} round {head.Round} attempt {head.Attempt}), but the store also holds {row.Kind} round {row.Round} attempt {row.Attempt} ({row.Status}), which the ledger lacks; the ledger was cut short, or the coordinator has not appended it yet (restart it to flush)"));
            }

            var status = entry.Status == RoundStatus.Completed ? "completed" : "aborted";
            if (status != row.Status || Kind(entry) != row.Kind || !string.Equals(entry.PlanHash, row.PlanHash, StringComparison.Ordinal))
            {
                throw new ExportRefusedException(Invariant(
                    $"round {row.Round} attempt {row.Attempt} differs: ledger entry {entry.Sequence} says {Kind(entry)} {status}, plan {Short(entry.PlanHash)}; the store says {row.Kind} {row.Status}, plan {Short(row.PlanHash)}"));
            }
        }

        foreach (var entry in federation)
        {
            if (!stored.ContainsKey((entry.Round, entry.Attempt)))
            {
                throw new ExportRefusedException(Invariant(
                    $"ledger head differs from the store: ledger entry {entry.Sequence} ({Kind(entry)} round {entry.Round} attempt {entry.Attempt}) is not in the store; this ledger does not belong to this store"));
            }
        }
    }

    public static LedgerEntry FinalModel(FederationStore.ModelVersion latest, IReadOnlyList<LedgerEntry> federation, string federationId)
    {
        var final = federation.LastOrDefault(e => e.Status == RoundStatus.Completed && Kind(e) == LedgerEntryKinds.Training)
            ?? throw new ExportRefusedException($"federation {federationId} has no completed training round in the ledger: there is no trained model to export");
        if (!string.Equals(final.ModelHashAfter, latest.Hash, StringComparison.Ordinal))
        {
            throw new ExportRefusedException(Invariant(
                $"model hash differs: the store's latest model is {latest.Hash} (version {latest.Version}, round {latest.Round}), but the signed ledger's final model is {final.ModelHashAfter} (entry {final.Sequence}, round {final.Round})"));
        }

        var recomputed = Protocol.ModelHash.Compute(latest.Parameters);
        if (!string.Equals(recomputed, latest.Hash, StringComparison.Ordinal))
        {
            throw new ExportRefusedException($"model hash differs: the store's latest parameters hash to {recomputed}, not to the recorded {latest.Hash}; the store is corrupt");
        }

        return final;
    }

    public static void Hashes(string studyHash, string statisticsHash, IReadOnlyList<LedgerEntry> federation, LedgerEntry final)
    {
        if (federation.FirstOrDefault(e => e.StudyHash is { } h && !string.Equals(h, studyHash, StringComparison.Ordinal)) is { } other)
        {
            throw new ExportRefusedException($"study hash differs: ledger entry {other.Sequence} names study {other.StudyHash}, the store holds study {studyHash}");
        }

        var statistics = federation.LastOrDefault(e => e.Status == RoundStatus.Completed && Kind(e) == LedgerEntryKinds.Statistics);
        foreach (var entry in new[] { statistics, final })
        {
            if (entry?.StatisticsHash is { } h && !string.Equals(h, statisticsHash, StringComparison.Ordinal))
            {
                throw new ExportRefusedException($"statistics hash differs: ledger entry {entry.Sequence} names statistics {h}, the store holds statistics {statisticsHash}");
            }
        }
    }

    public static string Kind(LedgerEntry entry) => entry.Kind ?? LedgerEntryKinds.Training;

    private static string Short(string? hash) => hash is null ? "(none)" : hash.Length > 12 ? hash[..12] : hash;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
