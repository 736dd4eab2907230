using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SecureFed.Studies.Internal;

/// <summary>
/// Writes a study's normalized document: defaults explicit, keys sorted ordinally (a sorted tree, so the order cannot
/// drift with the code), no whitespace, System.Text.Json's shortest round-trip number format.
/// </summary>
internal static class StudyCanonicalWriter
{
    public static string Write(Study study)
    {
        var features = study.Features.Select(f =>
        {
            var node = Node(("column", f.Column), ("type", f.Type switch
            {
                FeatureType.Numeric => "numeric",
                FeatureType.Categorical => "categorical",
                _ => throw new InvalidOperationException($"unknown feature type {f.Type}"),
            }));
            if (f.Type == FeatureType.Categorical)
            {
                node["categories"] = f.Categories;
            }

            return node;
        }).ToList();

        var m = study.Model;
        var model = Node(("kind", m.Kind));
        if (m.Kind != "logreg")
        {
            model["activation"] = m.Activation;
            model["dropout"] = m.Dropout;
            model[m.Kind == "mlp" ? "hidden" : "dense"] = m.HiddenLayers;
        }

        if (m.Kind == "cnn")
        {
            model["input_shape"] = m.InputShape;
            model["conv"] = m.Conv.Select(c => Node(("channels", c.Channels), ("kernel", c.Kernel), ("stride", c.Stride), ("padding", c.Padding), ("pool", c.Pool))).ToList();
        }

        var t = study.Training;
        var server = Node(("optimizer", t.Server.Kind), ("learning_rate", t.Server.LearningRate));
        if (t.Server.Kind != "fedavg")
        {
            server["beta1"] = t.Server.Beta1;
            server["beta2"] = t.Server.Beta2;
            server["tau"] = t.Server.Tau;
        }

        var training = Node(("epochs", t.Epochs), ("batch_size", t.BatchSize), ("learning_rate", t.LearningRate), ("optimizer", t.Optimizer),
            ("weight_decay", t.WeightDecay), ("server", server));
        if (t.Optimizer == "sgd")
        {
            training["momentum"] = t.Momentum;
        }

        var root = Node(
            ("study", study.Name),
            ("label", Node(("column", study.Label.Column), ("classes", study.Label.Classes))),
            ("features", features),
            ("model", model),
            ("training", training),
            ("rounds", study.Rounds),
            ("evaluation", Node(("holdout", study.Holdout), ("seed", study.EvaluationSeed))),
            ("missing", study.ExtraMissingTokens));

        // Written only when declared, so a study without privacy keeps the hash it had before the section existed.
        if (study.Privacy is { } p)
        {
            var privacy = Node(("unit", p.Unit), ("delta", p.Delta));
            if (p.RecordLevel)
            {
                privacy["clip"] = p.Clip;
                privacy["expected_batch"] = p.ExpectedBatch;
                privacy["accountant"] = p.Accountant;
                privacy[p.Epsilon is null ? "noise_multiplier" : "epsilon"] = p.Epsilon ?? p.NoiseMultiplier!.Value;
            }

            root["privacy"] = privacy;
        }

        using var buffer = new MemoryStream();
        // Relaxed escaping keeps '<', '>' and non-ASCII readable; the output is hashed and shown, never embedded in HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteValue(writer, root);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static SortedDictionary<string, object> Node(params (string Key, object Value)[] entries)
    {
        var node = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            node.Add(key, value);
        }

        return node;
    }

    private static void WriteValue(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case string s:
                writer.WriteStringValue(s);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case SortedDictionary<string, object> node:
                writer.WriteStartObject();
                foreach (var (key, child) in node)
                {
                    writer.WritePropertyName(key);
                    WriteValue(writer, child);
                }

                writer.WriteEndObject();
                break;
            case System.Collections.IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    WriteValue(writer, item!);
                }

                writer.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException($"cannot write {value.GetType()} canonically");
        }
    }
}
