namespace SecureFed.ModelExport;

/// <summary>
/// Where an export reads a federation from: the coordinator's store, its signed ledger, and the certificates the ledger
/// is verified with (the coordinator's, and the consortium CA as the only trust anchor). Immutable.
/// </summary>
public sealed record ExportSource
{
    /// <summary>The store's file name in a run folder written by <c>securefed simulate --out</c>.</summary>
    public const string StoreFileName = "federation.db";

    /// <summary>The coordinator certificate's file name in a run folder.</summary>
    public const string CoordinatorCertificateFileName = "coordinator.pem";

    /// <summary>The CA certificate's file name in a run folder.</summary>
    public const string CaFileName = "ca.pem";

    /// <summary>The summary's file name in a run folder.</summary>
    public const string SummaryFileName = "summary.json";

    /// <summary>The coordinator's SQLite store.</summary>
    public required string StorePath { get; init; }

    /// <summary>The signed, hash-chained ledger (JSON lines).</summary>
    public required string LedgerPath { get; init; }

    /// <summary>PEM certificate of the coordinator whose key signed the ledger.</summary>
    public required string CoordinatorCertificatePath { get; init; }

    /// <summary>PEM certificate of the consortium CA.</summary>
    public required string CaPath { get; init; }

    /// <summary>A simulation's summary.json, checked against the store when given (it is not signed: a check, not a source).</summary>
    public string? SummaryPath { get; init; }

    /// <summary>A ledger head hash published out of band; when given, the verified ledger must end there.</summary>
    public string? ExpectedLedgerHead { get; init; }

    /// <summary>The ledger a coordinator writes beside <paramref name="storePath"/> by default (<c>federation.ledger.jsonl</c> for <c>federation.db</c>).</summary>
    public static string DefaultLedgerPath(string storePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(storePath);
        return Path.ChangeExtension(storePath, ".ledger.jsonl");
    }

    /// <summary>The files of a run folder written by <c>securefed simulate --out</c>.</summary>
    public static ExportSource FromRunFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"run folder not found: {Path.GetFullPath(directory)} (give the --out folder of securefed simulate)");
        }

        var store = Path.Combine(directory, StoreFileName);
        var summary = Path.Combine(directory, SummaryFileName);
        return new ExportSource
        {
            StorePath = store,
            LedgerPath = DefaultLedgerPath(store),
            CoordinatorCertificatePath = Path.Combine(directory, CoordinatorCertificateFileName),
            CaPath = Path.Combine(directory, CaFileName),
            SummaryPath = File.Exists(summary) ? summary : null,
        };
    }
}
