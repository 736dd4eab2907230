using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SecureFed.Audit;

/// <summary>
/// The canonical encoding of ledger entries, which the entry hash and thereby the signature cover, and the
/// JSON-lines form they are stored in.
/// </summary>
/// <remarks>
/// <para>Canonical form: one compact JSON object, UTF-8, properties in a fixed order (<see cref="Format"/> first,
/// <c>previous_hash</c> last), every field of the entry except <c>entry_hash</c> and <c>signature</c>; integers in
/// invariant culture, doubles in round-trip ("R") form, the timestamp as UTC
/// <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>, absent optional values as <c>null</c>, an infinite epsilon as the string
/// <c>"Infinity"</c>. The fields added later (<c>kind</c>, <c>study_hash</c>, <c>statistics_hash</c>, <c>settings_change</c>,
/// <c>evaluation</c>, <c>releases</c>, <c>record_privacy</c>, <c>abort_reason</c>, <c>faults</c>, <c>outcomes</c>, <c>planned_rounds</c>, <c>model_kind</c>, <c>study_name</c>, in that order, after <c>trace_id</c>) are written only when set (an empty
/// <c>releases</c> list counts as unset), so entries without them encode exactly as before. The format label makes a ledger hash useless as any other SecureFed preimage.</para>
/// <para>A stored line is the canonical object with <c>entry_hash</c> and <c>signature</c> appended. Verifiers never
/// hash the stored text: they parse it and re-encode, so an edit to any field changes the hash.</para>
/// <para>Stateless and thread-safe.</para>
/// </remarks>
public static class LedgerCanonicalForm
{
    /// <summary>The value of the leading <c>format</c> property.</summary>
    public const string Format = "securefed-audit-ledger/1";

    /// <summary>The purpose label of the signed payload (see <see cref="SignedPayload"/>).</summary>
    public const string SignaturePurpose = "securefed/v1/audit-ledger-entry";

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    /// <summary>The canonical bytes of an entry's content at <paramref name="sequence"/> after <paramref name="previousHash"/>.</summary>
    public static byte[] Encode(LedgerEntryDraft content, long sequence, string previousHash)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(previousHash);
        return Write(content, sequence, previousHash, signed: null);
    }

    /// <summary>The canonical bytes of a signed entry (its own hash and signature are not part of them).</summary>
    public static byte[] Encode(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Encode(entry, entry.Sequence, entry.PreviousHash);
    }

    /// <summary>SHA-256 of <paramref name="canonical"/> as 64 lowercase hex characters.</summary>
    public static string Hash(ReadOnlySpan<byte> canonical) => Convert.ToHexStringLower(SHA256.HashData(canonical));

    /// <summary>The hash <paramref name="entry"/> should carry, recomputed from its fields.</summary>
    public static string ComputeEntryHash(LedgerEntry entry) => Hash(Encode(entry));

    /// <summary>
    /// The bytes the coordinator signs for an entry: <see cref="Crypto.SignedPayload.Encode"/> of the purpose label
    /// and the 32 hash bytes (domain separation: the coordinator's key signs protocol messages too).
    /// </summary>
    /// <exception cref="FormatException"><paramref name="entryHash"/> is not 64 hex characters.</exception>
    public static byte[] SignedPayload(string entryHash)
    {
        ArgumentNullException.ThrowIfNull(entryHash);
        byte[] hash = Convert.FromHexString(entryHash);
        if (hash.Length != SHA256.HashSizeInBytes)
        {
            throw new FormatException($"An entry hash has {SHA256.HashSizeInBytes * 2} hex characters; got {entryHash.Length}.");
        }

        return Crypto.SignedPayload.Encode(Crypto.SignedPayload.Utf8(SignaturePurpose), hash);
    }

    /// <summary>The stored JSON line of a signed entry (without the trailing newline).</summary>
    public static string ToJsonLine(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Encoding.UTF8.GetString(Write(entry, entry.Sequence, entry.PreviousHash, entry));
    }

    internal static string FormatDouble(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    internal static string FormatTimestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal static string StatusName(RoundStatus status) => status switch
    {
        RoundStatus.Completed => "completed",
        RoundStatus.Aborted => "aborted",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, $"status must be Completed or Aborted; got {status}."),
    };

    private static byte[] Write(LedgerEntryDraft c, long sequence, string previousHash, LedgerEntry? signed)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("sequence", sequence);
            w.WriteString("federation_id", Required(c.FederationId, "FederationId"));
            w.WriteNumber("round", c.Round);
            w.WriteNumber("attempt", c.Attempt);
            w.WriteString("status", StatusName(c.Status));
            w.WriteString("timestamp", FormatTimestamp(c.Timestamp));
            w.WriteString("plan_hash", Required(c.PlanHash, "PlanHash"));
            w.WriteStartArray("participants");
            foreach (var p in c.Participants ?? throw new ArgumentException("Participants is null.", nameof(c)))
            {
                ArgumentNullException.ThrowIfNull(p, nameof(c));
                w.WriteStartObject();
                w.WriteString("silo_id", Required(p.SiloId, "Participants.SiloId"));
                w.WriteString("certificate_sha256", Required(p.CertificateSha256, "Participants.CertificateSha256"));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            WriteStages(w, c.Stages ?? throw new ArgumentException("Stages is null.", nameof(c)));
            w.WriteString("aggregation", Required(c.Aggregation, "Aggregation"));
            WritePrivacy(w, c.Privacy);
            w.WritePropertyName("effective_noise_multiplier");
            WriteDoubleOrNull(w, c.EffectiveNoiseMultiplier);
            w.WritePropertyName("cumulative_epsilon");
            if (c.CumulativeEpsilon is { } epsilon)
            {
                w.WriteStartObject();
                w.WritePropertyName("rdp");
                WriteEpsilon(w, epsilon.Rdp);
                w.WritePropertyName("exact");
                WriteEpsilon(w, epsilon.Exact);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteString("model_hash_before", Required(c.ModelHashBefore, "ModelHashBefore"));
            w.WriteString("model_hash_after", Required(c.ModelHashAfter, "ModelHashAfter"));
            w.WriteString("trace_id", Required(c.TraceId, "TraceId"));
            WriteOptional(w, c);
            w.WriteString("previous_hash", previousHash);
            if (signed is not null)
            {
                w.WriteString("entry_hash", Required(signed.EntryHash, "EntryHash"));
                w.WriteString("signature", Required(signed.Signature, "Signature"));
            }

            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    // Fields added after format 1 was first written: present only when set, so an entry without them encodes (and
    // hashes) exactly as it did before they existed, and old ledgers keep verifying.
    private static void WriteOptional(Utf8JsonWriter w, LedgerEntryDraft c)
    {
        if (c.Kind is { } kind)
        {
            w.WriteString("kind", kind);
        }

        if (c.StudyHash is { } study)
        {
            w.WriteString("study_hash", study);
        }

        if (c.StatisticsHash is { } statistics)
        {
            w.WriteString("statistics_hash", statistics);
        }

        if (c.SettingsChange is { } change)
        {
            w.WriteString("settings_change", change);
        }

        if (c.Evaluation is { } e)
        {
            w.WriteStartObject("evaluation");
            w.WriteString("model_hash", Required(e.ModelHash, "Evaluation.ModelHash"));
            w.WriteNumber("examples", e.Examples);
            w.WriteNumber("correct", e.Correct);
            w.WritePropertyName("loss_sum");
            WriteDouble(w, e.LossSum);
            w.WritePropertyName("accuracy");
            WriteDouble(w, e.Accuracy);
            w.WritePropertyName("loss");
            WriteDouble(w, e.Loss);
            w.WriteNumber("contributors", e.Contributors);
            w.WriteEndObject();
        }

        // An empty list says what an absent one does; one encoding for it keeps the hash a function of the meaning.
        if (c.Releases is { Count: > 0 } releases)
        {
            w.WriteStartArray("releases");
            foreach (var release in releases)
            {
                ArgumentNullException.ThrowIfNull(release, nameof(c));
                w.WriteStartObject();
                w.WriteString("task", Required(release.Task, "Releases.Task"));
                w.WritePropertyName("effective_noise_multiplier");
                WriteDouble(w, release.EffectiveNoiseMultiplier);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (c.RecordPrivacy is { Count: > 0 } records)
        {
            w.WriteStartArray("record_privacy");
            foreach (var r in records)
            {
                ArgumentNullException.ThrowIfNull(r, nameof(c));
                w.WriteStartObject();
                w.WriteString("silo_id", Required(r.SiloId, "RecordPrivacy.SiloId"));
                w.WritePropertyName("noise_multiplier");
                WriteDouble(w, r.NoiseMultiplier);
                w.WritePropertyName("sampling_rate");
                WriteDouble(w, r.SamplingRate);
                w.WriteNumber("steps", r.Steps);
                w.WritePropertyName("delta");
                WriteDouble(w, r.Delta);
                w.WriteString("accountant", Required(r.Accountant, "RecordPrivacy.Accountant"));
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (c.AbortReason is { } reason)
        {
            w.WriteString("abort_reason", reason);
        }

        if (c.Faults is { Count: > 0 } faults)
        {
            w.WriteStartArray("faults");
            foreach (var f in faults)
            {
                ArgumentNullException.ThrowIfNull(f, nameof(c));
                w.WriteStartObject();
                w.WriteString("silo_id", Required(f.SiloId, "Faults.SiloId"));
                w.WriteString("fault", Required(f.Fault, "Faults.Fault"));
                w.WriteBoolean("proven", f.Proven);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (c.Outcomes is { Count: > 0 } outcomes)
        {
            w.WriteStartArray("outcomes");
            foreach (var o in outcomes)
            {
                ArgumentNullException.ThrowIfNull(o, nameof(c));
                w.WriteStartObject();
                w.WriteString("silo_id", Required(o.SiloId, "Outcomes.SiloId"));
                w.WriteString("outcome", Required(o.Outcome, "Outcomes.Outcome"));
                if (o.Reason is { } stated)
                {
                    w.WriteString("reason", stated);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (c.PlannedRounds is { } planned)
        {
            w.WriteNumber("planned_rounds", planned);
        }

        if (c.ModelKind is { } model)
        {
            w.WriteString("model_kind", model);
        }

        if (c.StudyName is { } name)
        {
            w.WriteString("study_name", name);
        }
    }

    private static void WriteStages(Utf8JsonWriter w, LedgerStageCounts s)
    {
        w.WriteStartObject("stages");
        w.WriteNumber("invited", s.Invited);
        w.WriteNumber("contributors", s.Contributors);
        w.WriteNumber("dropouts", s.Dropouts);
        w.WriteNumber("refused", s.Refused);
        w.WriteNumber("rejected", s.Rejected);
        w.WritePropertyName("secure_aggregation");
        if (s.SecureAggregation is { } u)
        {
            w.WriteStartObject();
            w.WriteNumber("u1", u.U1);
            w.WriteNumber("u2", u.U2);
            w.WriteNumber("u3", u.U3);
            w.WriteNumber("u4", u.U4);
            w.WriteNumber("u5", u.U5);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }

        w.WriteEndObject();
    }

    private static void WritePrivacy(Utf8JsonWriter w, LedgerPrivacy? p)
    {
        w.WritePropertyName("privacy");
        if (p is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteString("mechanism", Required(p.Mechanism, "Privacy.Mechanism"));
        w.WritePropertyName("noise_multiplier");
        WriteDouble(w, p.NoiseMultiplier);
        w.WritePropertyName("clip_norm");
        WriteDouble(w, p.ClipNorm);
        w.WriteNumber("threshold", p.Threshold);
        w.WriteNumber("colluding", p.Colluding);
        w.WritePropertyName("delta");
        WriteDouble(w, p.Delta);
        w.WritePropertyName("epsilon_budget");
        WriteDouble(w, p.EpsilonBudget);
        w.WriteString("accountant", Required(p.Accountant, "Privacy.Accountant"));
        w.WriteEndObject();
    }

    private static void WriteDouble(Utf8JsonWriter w, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"A ledger number must be finite; got {FormatDouble(value)}.");
        }

        w.WriteRawValue(FormatDouble(value), skipInputValidation: true);
    }

    private static void WriteDoubleOrNull(Utf8JsonWriter w, double? value)
    {
        if (value is { } v)
        {
            WriteDouble(w, v);
        }
        else
        {
            w.WriteNullValue();
        }
    }

    // JSON has no infinity; too little noise for any bound is a legitimate (if alarming) ledger value.
    private static void WriteEpsilon(Utf8JsonWriter w, double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            w.WriteStringValue("Infinity");
        }
        else
        {
            WriteDouble(w, value);
        }
    }

    private static string Required(string? value, string name) =>
        value ?? throw new ArgumentException($"{name} is null; ledger strings may be empty but not null.", name);
}
