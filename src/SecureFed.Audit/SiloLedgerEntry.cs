using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureFed.Audit;

/// <summary>
/// One line of a silo's own privacy ledger (the file its agent writes, <c>Agent:Policy:LedgerPath</c>), as an auditor
/// reads it: one release the silo made (a training update, a statistics or evaluation sum, or a record-level DP-SGD run)
/// with the noise it priced it at and, in files written since silo ledgers are chained, the epsilon it had spent after
/// it, its delta, accountant and cap, and the hash chain.
/// </summary>
/// <remarks>
/// The property names are those of the agent's file (PascalCase JSON; <c>SiloPrivacyLedger</c> writes and reads its lines as this type); a value read
/// from a file is a claim until <see cref="SiloLedgerVerifier.Verify"/> accepts it. Immutable and thread-safe.
/// </remarks>
public sealed record SiloLedgerEntry
{
    /// <summary>The federation the release belongs to.</summary>
    public required string FederationId { get; init; }

    /// <summary>The round number (0 for federated statistics).</summary>
    public long Round { get; init; }

    /// <summary>The noise multiplier the silo priced the release at (for a client-level release the plan's worst case).</summary>
    public double NoiseMultiplier { get; init; }

    /// <summary>The sampling rate (1 for a client-level release; the Poisson rate q of a DP-SGD run).</summary>
    public double SamplingRate { get; init; }

    /// <summary>When the silo wrote it, by its own clock.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>null for a training update; "statistics" or "evaluation"; <see cref="RecordTask"/> for a DP-SGD run.</summary>
    public string? Task { get; init; }

    /// <summary>Steps (1 for a client-level release).</summary>
    public long Steps { get; init; } = 1;

    /// <summary>The plan hash of the attempt, or null (older record-level entries).</summary>
    public string? PlanHash { get; init; }

    /// <summary>The silo's id, from its certificate; null in older files.</summary>
    public string? SiloId { get; init; }

    /// <summary>
    /// The silo's epsilon after this entry: for a client-level release over every client-level release in the file, for
    /// a DP-SGD run over every DP-SGD run in the file, by <see cref="Accountant"/> at <see cref="Delta"/>; null in older files.
    /// </summary>
    public double? Epsilon { get; init; }

    /// <summary>The delta <see cref="Epsilon"/> is stated at; null in older files.</summary>
    public double? Delta { get; init; }

    /// <summary>The accountant of <see cref="Epsilon"/> ("rdp", "exact" or "pld"); null in older files.</summary>
    public string? Accountant { get; init; }

    /// <summary>The silo's own cap on that epsilon when it wrote the entry (0: none); null in older files.</summary>
    public double? EpsilonCap { get; init; }

    /// <summary>The hash of the previous entry (<see cref="LedgerEntry.GenesisHash"/> for the first); null in older files.</summary>
    public string? PreviousHash { get; init; }

    /// <summary>SHA-256 of <see cref="SiloLedgerCanonicalForm.Encode"/> of this entry; null in older files.</summary>
    public string? Hash { get; init; }

    /// <summary>The <see cref="Task"/> of a record-level DP-SGD run.</summary>
    public const string RecordTask = "record";

    /// <summary>Whether this is a record-level DP-SGD run (accounted apart from client-level releases).</summary>
    [JsonIgnore]
    public bool IsRecordLevel => Task == RecordTask;
}

/// <summary>
/// The canonical encoding of a silo ledger entry, which its hash covers, and the JSON options of the file.
/// </summary>
/// <remarks>
/// <para>One compact JSON object, UTF-8, in a fixed order: <c>format</c>, <c>sequence</c> (1-based position in the
/// file), <c>federation_id</c>, <c>round</c>, <c>task</c>, <c>plan_hash</c>, <c>noise_multiplier</c>,
/// <c>sampling_rate</c>, <c>steps</c>, <c>at</c> (UTC, 100 ns), <c>silo_id</c>, <c>epsilon</c>, <c>delta</c>,
/// <c>accountant</c>, <c>epsilon_cap</c>, <c>previous_hash</c>; doubles in round-trip form, an infinite epsilon as
/// <c>"Infinity"</c>, absent values as <c>null</c>. Every entry of a file has a hash, entries written before the chain
/// existed included (their hash is computed, not stored), so the first chained entry's <c>previous_hash</c> covers them.</para>
/// <para>Stateless and thread-safe.</para>
/// </remarks>
public static class SiloLedgerCanonicalForm
{
    /// <summary>The value of the leading <c>format</c> property.</summary>
    public const string Format = "securefed-silo-ledger/1";

    /// <summary>How the file's lines are written and read (named floating-point literals allowed for an infinite epsilon).</summary>
    public static JsonSerializerOptions FileOptions { get; } = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The canonical bytes of <paramref name="entry"/> at <paramref name="sequence"/> after <paramref name="previousHash"/>.</summary>
    public static byte[] Encode(SiloLedgerEntry entry, long sequence, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(previousHash);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("sequence", sequence);
            w.WriteString("federation_id", entry.FederationId);
            w.WriteNumber("round", entry.Round);
            WriteStringOrNull(w, "task", entry.Task);
            WriteStringOrNull(w, "plan_hash", entry.PlanHash);
            WriteDouble(w, "noise_multiplier", entry.NoiseMultiplier);
            WriteDouble(w, "sampling_rate", entry.SamplingRate);
            w.WriteNumber("steps", entry.Steps);
            w.WriteString("at", entry.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            WriteStringOrNull(w, "silo_id", entry.SiloId);
            WriteDouble(w, "epsilon", entry.Epsilon);
            WriteDouble(w, "delta", entry.Delta);
            WriteStringOrNull(w, "accountant", entry.Accountant);
            WriteDouble(w, "epsilon_cap", entry.EpsilonCap);
            w.WriteString("previous_hash", previousHash);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The hash (64 lowercase hex) <paramref name="entry"/> has at <paramref name="sequence"/> after <paramref name="previousHash"/>.</summary>
    public static string Hash(SiloLedgerEntry entry, long sequence, string previousHash) =>
        Convert.ToHexStringLower(SHA256.HashData(Encode(entry, sequence, previousHash)));

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteDouble(Utf8JsonWriter w, string name, double? value)
    {
        w.WritePropertyName(name);
        if (value is not { } v)
        {
            w.WriteNullValue();
        }
        else if (double.IsFinite(v))
        {
            w.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        }
        else
        {
            w.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
        }
    }
}
