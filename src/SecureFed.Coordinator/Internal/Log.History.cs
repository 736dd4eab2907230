using Microsoft.Extensions.Logging;

namespace SecureFed.Coordinator.Internal;

/// <summary>Log events of the store and the ledger's history (ids 1101..1199, apart from the round events).</summary>
internal static partial class Log
{
    [LoggerMessage(1101, LogLevel.Warning, "Ledger {Path} lacked {Count} entries the store holds (round {FirstRound} attempt {FirstAttempt} to round {LastRound} attempt {LastAttempt}, from entry {FromSequence}): re-derived from the store's entries and re-signed with the coordinator's key; {HashNote}")]
    public static partial void LedgerRederived(ILogger logger, string path, int count, long firstRound, int firstAttempt, long lastRound, int lastAttempt, long fromSequence, string hashNote);

    [LoggerMessage(1102, LogLevel.Information, "Store {Path}: {Rows} rows written before row hashes existed were hashed now and are trusted from here on")]
    public static partial void RowsHashed(ILogger logger, string path, int rows);

    [LoggerMessage(1103, LogLevel.Information, "Store {Path} passed its integrity check (SQLite, every row hash, every model version) and is locked for this coordinator")]
    public static partial void StoreChecked(ILogger logger, string path);
}
