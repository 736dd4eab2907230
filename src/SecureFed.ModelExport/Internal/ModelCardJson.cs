using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SecureFed.Training;

namespace SecureFed.ModelExport.Internal;

/// <summary>The JSON form of <see cref="ModelCard"/>: snake_case keys, non-finite numbers as null.</summary>
internal static class ModelCardJson
{
    public static string Write(ModelCard card)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping: the card is a file people read, never embedded in HTML, so "+" and quotes stay as they are.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", ModelCard.FormatName);
            w.WriteString("study", card.Study);
            w.WriteString("study_hash", card.StudyHash);
            w.WriteString("label", card.Label);
            w.WriteStartArray("classes");
            foreach (var c in card.Classes)
            {
                w.WriteStringValue(c);
            }

            w.WriteEndArray();
            w.WriteStartArray("inputs");
            foreach (var input in card.Inputs)
            {
                w.WriteStartObject();
                w.WriteString("column", input.Column);
                if (input.Category is { } category)
                {
                    w.WriteString("category", category);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            WriteArchitecture(w, card.Architecture);
            w.WriteStartObject("rounds");
            w.WriteNumber("planned", card.Rounds.Planned);
            w.WriteNumber("completed", card.Rounds.Completed);
            w.WriteEndObject();
            WriteMetrics(w, card.Metrics);
            WritePrivacy(w, card.Privacy);
            w.WriteString("model_hash", card.ModelHash);
            w.WriteString("federation_id", card.FederationId);
            w.WriteString("ledger_head_hash", card.LedgerHeadHash);
            w.WriteNumber("ledger_entries", card.LedgerEntries);
            w.WriteString("statistics_hash", card.StatisticsHash);
            w.WriteStartObject("preprocessing");
            w.WriteString("numeric", "(x - mean) / scale; a missing value (NaN) becomes the mean");
            w.WriteString("categorical", "one input per declared category, 1 or 0; all 0 means missing (the graph sets the missing level)");
            w.WriteStartArray("standardization");
            foreach (var p in card.Preprocessing)
            {
                w.WriteStartObject();
                w.WriteString("column", p.Column);
                w.WriteNumber("mean", p.Mean);
                w.WriteNumber("scale", p.Scale);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("onnx");
            w.WriteString("file", card.Onnx.File);
            w.WriteString("sha256", card.Onnx.Sha256);
            w.WriteNumber("opset", card.Onnx.Opset);
            w.WriteString("input", card.Onnx.Input);
            w.WriteStartArray("outputs");
            foreach (var o in card.Onnx.Outputs)
            {
                w.WriteStringValue(o);
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteString("exported_at", card.ExportedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("study_document", card.StudyDocument);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static ModelCard Read(JsonElement root, string source)
    {
        var r = new Reader(source);
        if (root.ValueKind != JsonValueKind.Object || r.String(root, "format") != ModelCard.FormatName)
        {
            throw new InvalidDataException($"{source} is not a model card (its \"format\" is not \"{ModelCard.FormatName}\"); give the model.json written by securefed model export");
        }

        var architecture = r.Get(root, "architecture", JsonValueKind.Object);
        var rounds = r.Get(root, "rounds", JsonValueKind.Object);
        var onnx = r.Get(root, "onnx", JsonValueKind.Object);
        var preprocessing = r.Get(root, "preprocessing", JsonValueKind.Object);
        return new ModelCard
        {
            Study = r.String(root, "study"),
            StudyHash = r.String(root, "study_hash"),
            StudyDocument = r.String(root, "study_document"),
            Label = r.String(root, "label"),
            Classes = [.. r.Array(root, "classes").Select(e => r.String(e, "classes[]"))],
            Inputs = [.. r.Array(root, "inputs").Select(e => new ModelInput(r.String(e, "column"), r.OptionalString(e, "category")))],
            Architecture = new ModelCardArchitecture(
                r.String(architecture, "kind"), r.String(architecture, "description"), r.Int(architecture, "parameter_count"),
                [.. r.Array(architecture, "layers").Select(r.Layer)]),
            Rounds = new ModelCardRounds(r.Int(rounds, "planned"), r.Int(rounds, "completed")),
            Metrics = r.Nullable(root, "metrics") is { } m
                ? new ModelCardMetrics(r.Int(m, "round"), r.String(m, "kind"), r.String(m, "model_hash"), r.Long(m, "examples"),
                    r.Double(m, "accuracy"), r.Double(m, "loss"), r.Int(m, "contributors"))
                : null,
            Privacy = r.Nullable(root, "privacy") is { } p
                ? new ModelCardPrivacy(
                    r.String(p, "mechanism"), r.String(p, "accountant"), r.OptionalDouble(p, "epsilon"), r.OptionalDouble(p, "epsilon_rdp"),
                    r.OptionalDouble(p, "epsilon_exact"), r.Double(p, "delta"), r.OptionalDouble(p, "epsilon_budget"), r.Double(p, "noise_multiplier"),
                    r.Double(p, "clip_norm"),
                    r.Nullable(p, "silo_caps") is { } caps ? caps.EnumerateObject().ToDictionary(c => c.Name, c => r.Number(c.Value, "silo_caps." + c.Name)) : null)
                : null,
            ModelHash = r.String(root, "model_hash"),
            FederationId = r.String(root, "federation_id"),
            LedgerHeadHash = r.String(root, "ledger_head_hash"),
            LedgerEntries = r.Int(root, "ledger_entries"),
            StatisticsHash = r.String(root, "statistics_hash"),
            Preprocessing = [.. r.Array(preprocessing, "standardization").Select(e => new NumericScaling(r.String(e, "column"), r.Double(e, "mean"), r.Double(e, "scale")))],
            Onnx = new ModelCardOnnx(
                r.String(onnx, "file"), r.String(onnx, "sha256"), r.Int(onnx, "opset"), r.String(onnx, "input"),
                [.. r.Array(onnx, "outputs").Select(e => r.String(e, "outputs[]"))]),
            ExportedAt = DateTimeOffset.Parse(r.String(root, "exported_at"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
        };
    }

    private static void WriteArchitecture(Utf8JsonWriter w, ModelCardArchitecture a)
    {
        w.WriteStartObject("architecture");
        w.WriteString("kind", a.Kind);
        w.WriteString("description", a.Description);
        w.WriteNumber("parameter_count", a.ParameterCount);
        w.WriteStartArray("layers");
        foreach (var layer in a.Layers)
        {
            w.WriteStartObject();
            switch (layer)
            {
                case ImageInputLayer i:
                    w.WriteString("type", "image_input");
                    w.WriteNumber("channels", i.Shape.Channels);
                    w.WriteNumber("height", i.Shape.Height);
                    w.WriteNumber("width", i.Shape.Width);
                    break;
                case ConvLayer c:
                    w.WriteString("type", "conv");
                    w.WriteNumber("in_channels", c.InChannels);
                    w.WriteNumber("out_channels", c.OutChannels);
                    w.WriteNumber("kernel", c.Kernel);
                    w.WriteNumber("stride", c.Stride);
                    w.WriteNumber("padding", c.Padding);
                    break;
                case ActivationLayer act:
                    w.WriteString("type", "activation");
                    w.WriteString("function", act.Function.ToString().ToLowerInvariant());
                    break;
                case MaxPoolLayer p:
                    w.WriteString("type", "max_pool");
                    w.WriteNumber("size", p.Size);
                    break;
                case DropoutLayer d:
                    w.WriteString("type", "dropout");
                    w.WriteNumber("rate", d.Rate);
                    break;
                case FlattenLayer f:
                    w.WriteString("type", "flatten");
                    w.WriteNumber("features", f.Features);
                    break;
                case DenseLayer d:
                    w.WriteString("type", "dense");
                    w.WriteNumber("in", d.In);
                    w.WriteNumber("out", d.Out);
                    break;
                default:
                    throw new InvalidOperationException($"the model card does not know layer {layer}");
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteMetrics(Utf8JsonWriter w, ModelCardMetrics? m)
    {
        if (m is null)
        {
            w.WriteNull("metrics");
            return;
        }

        w.WriteStartObject("metrics");
        w.WriteNumber("round", m.Round);
        w.WriteString("kind", m.Kind);
        w.WriteString("model_hash", m.ModelHash);
        w.WriteNumber("examples", m.Examples);
        w.WriteNumber("accuracy", m.Accuracy);
        w.WriteNumber("loss", m.Loss);
        w.WriteNumber("contributors", m.Contributors);
        w.WriteEndObject();
    }

    private static void WritePrivacy(Utf8JsonWriter w, ModelCardPrivacy? p)
    {
        if (p is null)
        {
            w.WriteNull("privacy");
            return;
        }

        w.WriteStartObject("privacy");
        w.WriteString("mechanism", p.Mechanism);
        w.WriteString("accountant", p.Accountant);
        WriteOptional(w, "epsilon", p.Epsilon);
        WriteOptional(w, "epsilon_rdp", p.EpsilonRdp);
        WriteOptional(w, "epsilon_exact", p.EpsilonExact);
        w.WriteNumber("delta", p.Delta);
        WriteOptional(w, "epsilon_budget", p.EpsilonBudget);
        w.WriteNumber("noise_multiplier", p.NoiseMultiplier);
        w.WriteNumber("clip_norm", p.ClipNorm);
        if (p.SiloCaps is { } caps)
        {
            w.WriteStartObject("silo_caps");
            foreach (var (silo, cap) in caps)
            {
                w.WriteNumber(silo, cap);
            }

            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("silo_caps");
        }

        w.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>Typed access that names the card and the key in every error.</summary>
    private sealed class Reader(string source)
    {
        public JsonElement Get(JsonElement obj, string key, JsonValueKind kind)
        {
            if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(key, out var value) || value.ValueKind != kind)
            {
                throw Bad(key, $"must be a JSON {kind.ToString().ToLowerInvariant()}");
            }

            return value;
        }

        public JsonElement? Nullable(JsonElement obj, string key) =>
            obj.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? Get(obj, key, JsonValueKind.Object) : null;

        public string String(JsonElement obj, string key) =>
            obj.ValueKind == JsonValueKind.String ? obj.GetString()! : Get(obj, key, JsonValueKind.String).GetString()!;

        public string? OptionalString(JsonElement obj, string key) =>
            obj.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? String(obj, key) : null;

        public JsonElement.ArrayEnumerator Array(JsonElement obj, string key) => Get(obj, key, JsonValueKind.Array).EnumerateArray();

        public double Double(JsonElement obj, string key) => Number(Get(obj, key, JsonValueKind.Number), key);

        public double? OptionalDouble(JsonElement obj, string key) =>
            obj.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? Double(obj, key) : null;

        public double Number(JsonElement value, string key) =>
            value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Bad(key, "must be a number");

        public int Int(JsonElement obj, string key) =>
            Get(obj, key, JsonValueKind.Number).TryGetInt32(out var v) ? v : throw Bad(key, "must be an integer");

        public long Long(JsonElement obj, string key) =>
            Get(obj, key, JsonValueKind.Number).TryGetInt64(out var v) ? v : throw Bad(key, "must be an integer");

        public ModelLayer Layer(JsonElement e) => String(e, "type") switch
        {
            "image_input" => new ImageInputLayer(new ImageShape(Int(e, "channels"), Int(e, "height"), Int(e, "width"))),
            "conv" => new ConvLayer(Int(e, "in_channels"), Int(e, "out_channels"), Int(e, "kernel"), Int(e, "stride"), Int(e, "padding")),
            "activation" => new ActivationLayer(ModelSpec.ParseActivation(String(e, "function"))),
            "max_pool" => new MaxPoolLayer(Int(e, "size")),
            "dropout" => new DropoutLayer(Double(e, "rate")),
            "flatten" => new FlattenLayer(Int(e, "features")),
            "dense" => new DenseLayer(Int(e, "in"), Int(e, "out")),
            var other => throw Bad("architecture.layers[].type", $"has the unknown layer type \"{other}\""),
        };

        private InvalidDataException Bad(string key, string problem) =>
            new($"{source}: \"{key}\" {problem}; give the model.json written by securefed model export");
    }
}
