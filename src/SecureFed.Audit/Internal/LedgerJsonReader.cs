using System.Globalization;
using System.Text.Json;

namespace SecureFed.Audit.Internal;

/// <summary>
/// Strict parser of a stored ledger line: every property of the canonical form must be present with the right JSON
/// type (the later, optional ones — kind, study_hash, statistics_hash, evaluation, releases — when present, and
/// never as <c>null</c>), and no other property may appear. Errors are <see cref="FormatException"/>s naming the property.
/// </summary>
internal static class LedgerJsonReader
{
    public static LedgerEntry Parse(string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            var o = new Obj(document.RootElement, "entry");
            string format = o.String("format");
            if (format != LedgerCanonicalForm.Format)
            {
                throw new FormatException($"format '{format}' is not '{LedgerCanonicalForm.Format}'");
            }

            var entry = new LedgerEntry
            {
                Sequence = o.Int64("sequence"),
                FederationId = o.String("federation_id"),
                Round = o.Int32("round"),
                Attempt = o.Int32("attempt"),
                Status = ParseStatus(o.String("status")),
                Timestamp = ParseTimestamp(o.String("timestamp")),
                PlanHash = o.String("plan_hash"),
                Participants = [.. o.Array("participants").Select((p, i) =>
                {
                    var po = new Obj(p, $"participants[{i}]");
                    var participant = new LedgerParticipant(po.String("silo_id"), po.String("certificate_sha256"));
                    po.NoOthers();
                    return participant;
                })],
                Stages = ParseStages(o.Object("stages")),
                Aggregation = o.String("aggregation"),
                Privacy = o.IsNull("privacy") ? null : ParsePrivacy(o.Object("privacy")),
                EffectiveNoiseMultiplier = o.IsNull("effective_noise_multiplier") ? null : o.Double("effective_noise_multiplier"),
                CumulativeEpsilon = o.IsNull("cumulative_epsilon") ? null : ParseEpsilon(o.Object("cumulative_epsilon")),
                ModelHashBefore = o.String("model_hash_before"),
                ModelHashAfter = o.String("model_hash_after"),
                TraceId = o.String("trace_id"),
                Kind = o.Has("kind") ? o.String("kind") : null,
                StudyHash = o.Has("study_hash") ? o.String("study_hash") : null,
                StatisticsHash = o.Has("statistics_hash") ? o.String("statistics_hash") : null,
                SettingsChange = o.Has("settings_change") ? o.String("settings_change") : null,
                Evaluation = o.Has("evaluation") ? ParseEvaluation(o.Object("evaluation")) : null,
                Releases = o.Has("releases") ? ParseReleases(o.Array("releases")) : null,
                RecordPrivacy = o.Has("record_privacy") ? ParseRecordPrivacy(o.Array("record_privacy")) : null,
                AbortReason = o.Has("abort_reason") ? o.String("abort_reason") : null,
                Faults = o.Has("faults") ? ParseFaults(o.Array("faults")) : null,
                Outcomes = o.Has("outcomes") ? ParseOutcomes(o.Array("outcomes")) : null,
                PlannedRounds = o.Has("planned_rounds") ? o.Int32("planned_rounds") : null,
                ModelKind = o.Has("model_kind") ? o.String("model_kind") : null,
                StudyName = o.Has("study_name") ? o.String("study_name") : null,
                PreviousHash = o.String("previous_hash"),
                EntryHash = o.String("entry_hash"),
                Signature = o.String("signature"),
            };
            o.NoOthers();
            return entry;
        }
    }

    private static LedgerEvaluation ParseEvaluation(Obj e)
    {
        var evaluation = new LedgerEvaluation(
            e.String("model_hash"), e.Int64("examples"), e.Int64("correct"), e.Double("loss_sum"), e.Double("accuracy"), e.Double("loss"),
            e.Int32("contributors"));
        e.NoOthers();
        return evaluation;
    }

    private static List<LedgerRecordPrivacy> ParseRecordPrivacy(IEnumerable<JsonElement> items) =>
    [
        .. items.Select((r, i) =>
        {
            var o = new Obj(r, $"record_privacy[{i}]");
            var record = new LedgerRecordPrivacy(o.String("silo_id"), o.Double("noise_multiplier"), o.Double("sampling_rate"), o.Int64("steps"), o.Double("delta"), o.String("accountant"));
            o.NoOthers();
            return record;
        }),
    ];

    private static List<LedgerSiloOutcome> ParseOutcomes(IEnumerable<JsonElement> items) =>
    [
        .. items.Select((r, i) =>
        {
            var o = new Obj(r, $"outcomes[{i}]");
            var outcome = new LedgerSiloOutcome(o.String("silo_id"), o.String("outcome"), o.Has("reason") ? o.String("reason") : null);
            o.NoOthers();
            return outcome;
        }),
    ];

    private static List<LedgerFault> ParseFaults(IEnumerable<JsonElement> items) =>
    [
        .. items.Select((r, i) =>
        {
            var o = new Obj(r, $"faults[{i}]");
            var fault = new LedgerFault(o.String("silo_id"), o.String("fault"), o.Bool("proven"));
            o.NoOthers();
            return fault;
        }),
    ];

    private static List<LedgerRelease> ParseReleases(IEnumerable<JsonElement> items)
    {
        List<LedgerRelease> releases = [.. items.Select((r, i) =>
        {
            var ro = new Obj(r, $"releases[{i}]");
            var release = new LedgerRelease(ro.String("task"), ro.Double("effective_noise_multiplier"));
            ro.NoOthers();
            return release;
        })];

        // The canonical form never writes an empty list (it writes none): such a line was not written by a coordinator.
        return releases.Count > 0 ? releases : throw new FormatException("property 'releases' is an empty array (omit it instead)");
    }

    private static LedgerStageCounts ParseStages(Obj s)
    {
        SecureAggregationSurvivors? survivors = null;
        if (!s.IsNull("secure_aggregation"))
        {
            var u = s.Object("secure_aggregation");
            survivors = new SecureAggregationSurvivors(u.Int32("u1"), u.Int32("u2"), u.Int32("u3"), u.Int32("u4"), u.Int32("u5"));
            u.NoOthers();
        }

        var stages = new LedgerStageCounts(
            s.Int32("invited"), s.Int32("contributors"), s.Int32("dropouts"), s.Int32("refused"), s.Int32("rejected"), survivors);
        s.NoOthers();
        return stages;
    }

    private static LedgerPrivacy ParsePrivacy(Obj p)
    {
        var privacy = new LedgerPrivacy(
            p.String("mechanism"), p.Double("noise_multiplier"), p.Double("clip_norm"), p.Int32("threshold"), p.Int32("colluding"),
            p.Double("delta"), p.Double("epsilon_budget"), p.String("accountant"));
        p.NoOthers();
        return privacy;
    }

    private static LedgerEpsilon ParseEpsilon(Obj e)
    {
        var epsilon = new LedgerEpsilon(e.Epsilon("rdp"), e.Epsilon("exact"));
        e.NoOthers();
        return epsilon;
    }

    private static RoundStatus ParseStatus(string value) => value switch
    {
        "completed" => RoundStatus.Completed,
        "aborted" => RoundStatus.Aborted,
        _ => throw new FormatException($"status '{value}' is not completed or aborted"),
    };

    private static DateTimeOffset ParseTimestamp(string value)
    {
        if (!DateTime.TryParseExact(value, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var utc))
        {
            throw new FormatException($"timestamp '{value}' is not UTC yyyy-MM-ddTHH:mm:ss.fffffffZ");
        }

        return new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc));
    }

    /// <summary>A JSON object whose properties are consumed by name, so leftovers can be refused.</summary>
    private sealed class Obj
    {
        private readonly JsonElement _element;
        private readonly string _path;
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

        public Obj(JsonElement element, string path)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"{path} is not a JSON object");
            }

            _element = element;
            _path = path;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw new FormatException($"{Name(property.Name)} appears twice");
                }
            }
        }

        /// <summary>Whether an optional property is present (its value is then read, and type-checked, as usual).</summary>
        public bool Has(string name) => _element.TryGetProperty(name, out _);

        public bool IsNull(string name) => Get(name, consume: false).ValueKind == JsonValueKind.Null && _seen.Add(name);

        public string String(string name)
        {
            var value = Get(name);
            return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Wrong(name, "a string");
        }

        public bool Bool(string name)
        {
            var value = Get(name);
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Wrong(name, "true or false"),
            };
        }

        public long Int64(string name)
        {
            var value = Get(name);
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long v) ? v : throw Wrong(name, "an integer");
        }

        public int Int32(string name)
        {
            var value = Get(name);
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int v) ? v : throw Wrong(name, "a 32-bit integer");
        }

        public double Double(string name)
        {
            var value = Get(name);
            return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double v) && double.IsFinite(v)
                ? v
                : throw Wrong(name, "a finite number");
        }

        public double Epsilon(string name)
        {
            var value = Get(name);
            if (value.ValueKind == JsonValueKind.String && value.GetString() == "Infinity")
            {
                return double.PositiveInfinity;
            }

            return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double v) && double.IsFinite(v)
                ? v
                : throw Wrong(name, "a finite number or \"Infinity\"");
        }

        public Obj Object(string name) => new(Get(name), PathOf(name));

        public IEnumerable<JsonElement> Array(string name)
        {
            var value = Get(name);
            return value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : throw Wrong(name, "an array");
        }

        public void NoOthers()
        {
            foreach (var property in _element.EnumerateObject())
            {
                if (!_seen.Contains(property.Name))
                {
                    throw new FormatException($"unknown property {Name(property.Name)}");
                }
            }
        }

        private JsonElement Get(string name, bool consume = true)
        {
            if (!_element.TryGetProperty(name, out var value))
            {
                throw new FormatException($"missing property {Name(name)}");
            }

            if (consume)
            {
                _seen.Add(name);
            }

            return value;
        }

        private string PathOf(string name) => _path == "entry" ? name : $"{_path}.{name}";

        private string Name(string name) => $"'{PathOf(name)}'";

        private FormatException Wrong(string name, string what) => new($"property {Name(name)} is not {what}");
    }
}
