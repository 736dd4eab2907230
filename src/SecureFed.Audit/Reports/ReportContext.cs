using System.Globalization;
using System.Text.Json;

namespace SecureFed.Audit.Reports;

/// <summary>
/// What an audit report may know besides the ledger: accuracy by round (for ledgers without federated evaluations), the verifier's
/// verdict, which federation to report on when a ledger holds several, and the time of writing.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record ReportContext
{
    /// <summary>
    /// Test accuracy after each round, keyed by round number; <see langword="null"/> or empty when unknown. A fallback:
    /// when the ledger's entries carry federated evaluations, the report uses those and ignores this.
    /// </summary>
    public IReadOnlyDictionary<int, double>? AccuracyByRound { get; init; }

    /// <summary>
    /// The result of <see cref="LedgerVerifier.Verify"/> over the same entries, or <see langword="null"/> when the ledger
    /// was not verified (the report then says "not verified").
    /// </summary>
    public LedgerVerificationResult? Verification { get; init; }

    /// <summary>
    /// The federation to report on; <see langword="null"/> picks the only federation in the ledger (and fails when
    /// there are several).
    /// </summary>
    public string? FederationId { get; init; }

    /// <summary>When the report was generated; <see langword="null"/> leaves it out (deterministic output).</summary>
    public DateTimeOffset? GeneratedAt { get; init; }

    /// <summary>Where the ledger came from (a file name), shown in the report; <see langword="null"/> leaves it out.</summary>
    public string? LedgerSource { get; init; }

    /// <summary>The model exported from this federation (its model card), or <see langword="null"/> when none was exported.</summary>
    public ReportExportedModel? ExportedModel { get; init; }

    /// <summary>Silo ledgers the silos handed over (<see cref="SiloLedgerVerifier.Read"/>); each is verified and compared
    /// with the coordinator's ledger, and gets its own section. Empty when none was given.</summary>
    public IReadOnlyList<SiloLedgerFile> SiloLedgers { get; init; } = [];

    /// <summary>
    /// Reads accuracy by round from a simulation's <c>summary.json</c> (<c>rounds[].round</c> and
    /// <c>rounds[].accuracy</c>). Rounds whose accuracy is <c>null</c> are skipped; when a round appears more than once
    /// (a retried round) the last value wins.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The file is not such a summary; the message names it and the problem.</exception>
    public static IReadOnlyDictionary<int, double> ReadSummaryAccuracy(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The summary file '{path}' does not exist.", path);
        }

        return ParseSummaryAccuracy(File.ReadAllText(path), path);
    }

    /// <summary>Parses accuracy by round from summary JSON text (see <see cref="ReadSummaryAccuracy"/>).</summary>
    /// <param name="json">The summary JSON.</param>
    /// <param name="source">A name for the text in error messages (a file name).</param>
    /// <exception cref="InvalidDataException">The text is not such a summary; the message names the source and the problem.</exception>
    public static IReadOnlyDictionary<int, double> ParseSummaryAccuracy(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("rounds", out var rounds)
                || rounds.ValueKind != JsonValueKind.Array)
            {
                throw Bad(source, "it has no \"rounds\" array");
            }

            var accuracy = new SortedDictionary<int, double>();
            int index = 0;
            foreach (var round in rounds.EnumerateArray())
            {
                var n = 0;
                var numbered = round.ValueKind == JsonValueKind.Object
                    && round.TryGetProperty("round", out var number)
                    && number.ValueKind == JsonValueKind.Number
                    && number.TryGetInt32(out n);

                // Round 0 is a study's statistics round: it has no model and no accuracy.
                if (!numbered || (n < 1 && !(n == 0 && IsKind(round, "statistics"))))
                {
                    throw Bad(source, Invariant($"rounds[{index}] has no positive integer \"round\""));
                }

                if (round.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() != "training")
                {
                    index++;
                    continue; // statistics and evaluation-only rounds produce no model of their own
                }

                if (round.TryGetProperty("accuracy", out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    if (value.ValueKind != JsonValueKind.Number || !double.IsFinite(value.GetDouble()))
                    {
                        throw Bad(source, Invariant($"rounds[{index}].accuracy is not a number or null"));
                    }

                    accuracy[n] = value.GetDouble();
                }

                index++;
            }

            return accuracy;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The summary file '{source}' is not valid JSON: {ex.Message}", ex);
        }
    }

    private static bool IsKind(JsonElement round, string kind) =>
        round.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String && k.GetString() == kind;

    private static InvalidDataException Bad(string source, string problem) =>
        new($"The summary file '{source}' is not a simulation summary: {problem}.");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A model exported from the federation, as its model card names it.</summary>
/// <param name="File">The ONNX file's name.</param>
/// <param name="FileSha256">SHA-256 (hex) of the ONNX file's bytes.</param>
/// <param name="ModelHash">The exported parameters' model hash (the ledger's <c>model_hash_after</c> of the round that made them).</param>
/// <param name="LedgerHeadHash">The ledger head hash the export was verified against.</param>
/// <param name="Architecture">The model's one-line description.</param>
public sealed record ReportExportedModel(string File, string FileSha256, string ModelHash, string LedgerHeadHash, string Architecture);

/// <summary>A silo's own ledger as handed to the auditor.</summary>
/// <param name="Source">Where it came from (a file name), shown in the report and in every failure.</param>
/// <param name="Entries">Its entries in file order.</param>
public sealed record SiloLedgerFile(string Source, IReadOnlyList<SiloLedgerEntry> Entries);
