using Microsoft.Data.Sqlite;

namespace SecureFed.Coordinator;

/// <summary>What kept the coordinator from using its store.</summary>
public enum FederationStoreProblem
{
    /// <summary>Another coordinator holds the store's lock.</summary>
    InUse,

    /// <summary>The disk is full: SQLite could not grow the file or its write-ahead log.</summary>
    DiskFull,

    /// <summary>The store, its folder or its file system is read-only.</summary>
    ReadOnly,

    /// <summary>The file could not be opened or read (missing folder, I/O error).</summary>
    Unavailable,

    /// <summary>SQLite's integrity check or a row's hash failed: the content is not what was written.</summary>
    Corrupt,
}

/// <summary>
/// The store cannot be used; the message is one line naming the store, what failed and what to do. Whatever failed was
/// a whole transaction, so the store keeps exactly what it held before (every committed round). An
/// <see cref="IOException"/>, so the command line reports it as one line with exit code 1.
/// </summary>
public sealed class FederationStoreException : IOException
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public FederationStoreException(FederationStoreProblem problem, string message, Exception? inner = null)
        : base(message, inner)
    {
        Problem = problem;
    }

    /// <summary>What kind of failure it was.</summary>
    public FederationStoreProblem Problem { get; }

    /// <summary>A file-system failure around the store (creating its folder or lock file) as one line.</summary>
    internal static FederationStoreException FromIo(string store, string doing, Exception ex)
    {
        var readOnly = ex is UnauthorizedAccessException || ex.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase);
        var full = ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) || ex.HResult == 28;
        return readOnly
            ? new(FederationStoreProblem.ReadOnly, $"store {store}: {doing} failed: the location is read-only ({OneLine(ex.Message)}); make it writable or give another StorePath", ex)
            : full
                ? new(FederationStoreProblem.DiskFull, $"store {store}: {doing} failed: the disk is full; free space there (or give another StorePath) and start again", ex)
                : new(FederationStoreProblem.Unavailable, $"store {store}: {doing} failed ({OneLine(ex.Message)}); check the path and the disk", ex);
    }

    /// <summary>
    /// A SQLite failure while <paramref name="doing"/> as one line; null for errors that are not about the storage (a
    /// constraint, a bug), which stay as they are.
    /// </summary>
    internal static FederationStoreException? FromSqlite(string store, string doing, SqliteException ex)
    {
        var code = ex.SqliteErrorCode & 0xFF;

        // SQLite reports some failures of a full or read-only disk only as an I/O error (10), a locking-protocol error
        // (15: its shared-memory file could not be set up) or a permission error (3); a full disk shows in the free space.
        // (No probe opens the store file here: closing any descriptor of it would drop this process's SQLite locks.)
        if (code is 10 or 15 or 3)
        {
            code = NearlyFull(store) ? 13 : code;
        }

        return FromSqlite(code, store, doing, ex);
    }

    private static bool NearlyFull(string store)
    {
        try
        {
            return new DriveInfo(Path.GetDirectoryName(store)!).AvailableFreeSpace < 64 * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    private static FederationStoreException? FromSqlite(int code, string store, string doing, SqliteException ex) => code switch
    {
        13 => new(FederationStoreProblem.DiskFull,
            $"store {store}: {doing} failed: the disk is full; free space on that disk (or move the store) and start the coordinator again: the store keeps every round it had committed", ex),
        8 => new(FederationStoreProblem.ReadOnly,
            $"store {store}: {doing} failed: the store is read-only (the file, its folder or the file system is not writable); make it writable and start again: nothing was changed", ex),
        14 => new(FederationStoreProblem.Unavailable,
            $"store {store}: {doing} failed: SQLite cannot open the file or its journal (folder missing or not writable?); check the path and its permissions", ex),
        10 => new(FederationStoreProblem.Unavailable,
            $"store {store}: {doing} failed: disk I/O error (a full, read-only or removed disk?); fix the disk and start again: the store keeps every round it had committed", ex),
        11 or 26 => new(FederationStoreProblem.Corrupt,
            $"store {store} is corrupt (SQLite: {OneLine(ex.Message)}) while {doing}; restore it from a backup", ex),
        5 or 6 => new(FederationStoreProblem.InUse,
            $"store {store}: {doing} failed: another process holds a write lock on it; one coordinator per store", ex),
        15 or 3 => new(FederationStoreProblem.Unavailable,
            $"store {store}: {doing} failed: SQLite could not lock or map its files ({OneLine(ex.Message)}: the store or its folder read-only, or a network file system?); make it writable on a local disk and start again: nothing was changed", ex),
        _ => null,
    };

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 200 ? line : string.Concat(line.AsSpan(0, 197), "...");
    }
}
