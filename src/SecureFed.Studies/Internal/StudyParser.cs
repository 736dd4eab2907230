using System.Globalization;
using System.Text.Json;

namespace SecureFed.Studies.Internal;

/// <summary>Validates a study document key by key; every error names the source, the key path and the fix.</summary>
internal static class StudyParser
{
    public const int DefaultRounds = 20;
    public const int MaxRounds = 100_000;
    public const int DefaultHidden = 32;
    public const int MaxHidden = 65_536;
    public const int DefaultEpochs = 1;
    public const int MaxEpochs = 10_000;
    public const int DefaultBatchSize = 32;
    public const int MaxBatchSize = 1_000_000;
    public const double DefaultLearningRate = 0.1;
    public const double DefaultHoldout = 0.2;
    public const int MaxFeatures = 1_000_000;
    public const int MaxLayers = 64;
    public const int MaxKernel = 64;
    public const double MaxDropout = 0.95;
    public static readonly string[] Activations = ["relu", "tanh", "sigmoid"];

    public static Study Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line
                ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}")
                : string.Empty;
            throw new StudyFormatException(source, string.Empty, $"not valid JSON{where}; fix the syntax (a study is one JSON object)");
        }

        using (document)
        {
            var root = new JsonObjectReader(document.RootElement, string.Empty, source, ["study", "label", "features", "model", "training", "rounds", "evaluation", "missing", "privacy"]);
            var name = root.RequiredString("study");
            var extraMissing = ParseMissing(root);
            var missingSet = new HashSet<string>(Study.BuiltInMissingTokens.Concat(extraMissing), StringComparer.Ordinal);
            var label = ParseLabel(root, source, missingSet);
            var features = ParseFeatures(root, source, missingSet, label);
            var model = ParseModel(root, source, features);
            var training = ParseTraining(root, source);
            var rounds = root.OptionalInt("rounds", DefaultRounds, 1, MaxRounds);
            var (holdout, seed) = ParseEvaluation(root, source);
            var privacy = ParsePrivacy(root, source);
            return new Study(name, label, features, model, training, rounds, holdout, seed, extraMissing, privacy);
        }
    }

    private static List<string> ParseMissing(JsonObjectReader root)
    {
        var tokens = root.OptionalStringArray("missing") ?? [];
        for (var i = 0; i < tokens.Count; i++)
        {
            RequireTrimmed(root, $"missing[{i}]", tokens[i]);
        }

        // Order and repetition carry no meaning; built-ins are always missing. Normalize so the hash ignores them.
        return [.. tokens.Where(t => !Study.BuiltInMissingTokens.Contains(t)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private static LabelSpec ParseLabel(JsonObjectReader root, string source, HashSet<string> missing)
    {
        var label = root.RequiredObject("label", ["column", "classes"]);
        var column = label.RequiredString("column");
        RequireTrimmed(label, "column", column);
        var classes = label.RequiredStringArray("classes");
        if (classes.Count < 2)
        {
            throw new StudyFormatException(source, label.PathOf("classes"), $"has {classes.Count} class(es); list at least 2, for example [\"no\", \"yes\"]");
        }

        CheckLevels(label, "classes", classes, missing, "class");
        return new LabelSpec(column, classes);
    }

    private static List<FeatureSpec> ParseFeatures(JsonObjectReader root, string source, HashSet<string> missing, LabelSpec label)
    {
        var items = root.RequiredObjectArray("features", ["column", "column_prefix", "count", "start", "type", "categories"]);
        if (items.Count == 0)
        {
            throw new StudyFormatException(source, "features", "is empty; list at least one feature column");
        }

        var columns = new Dictionary<string, string>(StringComparer.Ordinal) { [label.Column] = "label.column" };
        var features = new List<FeatureSpec>(items.Count);
        foreach (var item in items)
        {
            foreach (var (column, key) in ColumnsOf(item, source))
            {
                AddFeature(item, key, column, source, missing, columns, features);
            }
        }

        if (features.Count > MaxFeatures)
        {
            throw new StudyFormatException(source, "features", string.Create(CultureInfo.InvariantCulture, $"declares {features.Count} columns; the limit is {MaxFeatures}"));
        }

        return features;
    }

    /// <summary>The columns one feature item names: its <c>column</c>, or <c>column_prefix</c> + start..start+count-1.</summary>
    private static IEnumerable<(string Column, string Key)> ColumnsOf(JsonObjectReader item, string source)
    {
        if (!item.Has("column_prefix"))
        {
            foreach (var key in new[] { "count", "start" })
            {
                if (item.Has(key))
                {
                    throw new StudyFormatException(source, item.PathOf(key), "only a feature with \"column_prefix\" has a count or start; remove the key or use \"column_prefix\"");
                }
            }

            var column = item.RequiredString("column");
            RequireTrimmed(item, "column", column);
            return [(column, "column")];
        }

        if (item.Has("column"))
        {
            throw new StudyFormatException(source, item.PathOf("column"), "give either \"column\" or \"column_prefix\" (with \"count\"), not both");
        }

        var prefix = item.RequiredString("column_prefix");
        RequireTrimmed(item, "column_prefix", prefix);
        if (!item.Has("count"))
        {
            throw new StudyFormatException(source, item.PathOf("count"), "is required with \"column_prefix\"; give the number of columns, for example 784");
        }

        var count = item.OptionalInt("count", 1, 1, MaxFeatures);
        var start = item.OptionalInt("start", 1, 0, int.MaxValue - MaxFeatures);
        return [.. Enumerable.Range(start, count).Select(i => (prefix + i.ToString(CultureInfo.InvariantCulture), "column_prefix"))];
    }

    private static void AddFeature(
        JsonObjectReader item, string key, string column, string source, HashSet<string> missing, Dictionary<string, string> columns, List<FeatureSpec> features)
    {
        if (columns.TryGetValue(column, out var first))
        {
            throw new StudyFormatException(source, item.PathOf(key), $"column \"{Clip(column)}\" is already used by {first}; each column may appear once across label and features");
        }

        columns[column] = item.PathOf(key);
        var type = item.RequiredString("type");
        switch (type)
        {
            case "numeric":
                if (item.Has("categories"))
                {
                    throw new StudyFormatException(source, item.PathOf("categories"), "only categorical features have categories; remove the key or set \"type\": \"categorical\"");
                }

                features.Add(new FeatureSpec(column, FeatureType.Numeric, []));
                break;
            case "categorical":
                var categories = item.RequiredStringArray("categories");
                if (categories.Count == 0)
                {
                    throw new StudyFormatException(source, item.PathOf("categories"), "is empty; list at least one category");
                }

                CheckLevels(item, "categories", categories, missing, "category");
                features.Add(new FeatureSpec(column, FeatureType.Categorical, categories));
                break;
            default:
                throw new StudyFormatException(source, item.PathOf("type"), $"\"{Clip(type)}\" is not a feature type; use \"numeric\" or \"categorical\"");
        }
    }

    private static StudyModel ParseModel(JsonObjectReader root, string source, List<FeatureSpec> features)
    {
        var model = root.OptionalObject("model", ["kind", "hidden", "activation", "dropout", "input_shape", "conv", "dense"]);
        if (model is null)
        {
            return new StudyModel("logreg", 0);
        }

        var kind = model.RequiredString("kind");
        if (kind is not ("logreg" or "mlp" or "cnn"))
        {
            throw new StudyFormatException(source, model.PathOf("kind"), $"\"{Clip(kind)}\" is not a model kind; use \"logreg\", \"mlp\" or \"cnn\"");
        }

        string[] allowed = kind switch
        {
            "logreg" => ["kind"],
            "mlp" => ["kind", "hidden", "activation", "dropout"],
            _ => ["kind", "input_shape", "conv", "dense", "activation", "dropout"],
        };
        foreach (var key in new[] { "hidden", "activation", "dropout", "input_shape", "conv", "dense" }.Where(k => model.Has(k) && !allowed.Contains(k)))
        {
            throw new StudyFormatException(source, model.PathOf(key), $"a {kind} model has no \"{key}\"; its keys are {string.Join(", ", allowed.Select(a => $"\"{a}\""))}");
        }

        if (kind == "logreg")
        {
            return new StudyModel(kind, 0);
        }

        var activation = model.OptionalChoice("activation", "relu", Activations);
        var dropout = model.OptionalDouble("dropout", 0.0, 0.0, MaxDropout, "0.25");
        if (kind == "mlp")
        {
            var hidden = model.OptionalIntList("hidden", 1, MaxHidden) ?? [DefaultHidden];
            RequireLayers(model, "hidden", hidden.Count, 1);
            return new StudyModel(kind, hidden, activation, dropout, [], []);
        }

        if (!model.Has("input_shape"))
        {
            throw new StudyFormatException(source, model.PathOf("input_shape"), "is required for a cnn; give [channels, height, width], for example [1, 28, 28]");
        }

        var shape = model.OptionalIntList("input_shape", 1, MaxFeatures)!;
        if (shape.Count != 3)
        {
            throw new StudyFormatException(source, model.PathOf("input_shape"), $"has {shape.Count} entries; give [channels, height, width], for example [1, 28, 28]");
        }

        var size = (long)shape[0] * shape[1] * shape[2];
        if (size != features.Count)
        {
            throw new StudyFormatException(source, model.PathOf("input_shape"), string.Create(CultureInfo.InvariantCulture,
                $"[{shape[0]}, {shape[1]}, {shape[2]}] holds {size} values but the study has {features.Count} feature columns; make them agree (one numeric column per pixel and channel)"));
        }

        if (features.FirstOrDefault(f => f.Type != FeatureType.Numeric) is { } categorical)
        {
            throw new StudyFormatException(source, model.PathOf("input_shape"), $"a cnn reads numeric pixels, but \"{Clip(categorical.Column)}\" is categorical; make every feature numeric");
        }

        if (!model.Has("conv"))
        {
            throw new StudyFormatException(source, model.PathOf("conv"), "is required for a cnn; list convolution blocks, for example [{\"channels\": 16, \"kernel\": 3, \"padding\": 1, \"pool\": 2}]");
        }

        var conv = model.OptionalObjectArray("conv", ["channels", "kernel", "stride", "padding", "pool"])!;
        RequireLayers(model, "conv", conv.Count, 1);
        var blocks = conv.Select(c =>
        {
            if (!c.Has("channels") || !c.Has("kernel"))
            {
                throw new StudyFormatException(source, c.PathOf(c.Has("channels") ? "kernel" : "channels"), "is required in a convolution block; give channels and kernel, for example {\"channels\": 16, \"kernel\": 3}");
            }

            var kernel = c.OptionalInt("kernel", 3, 1, MaxKernel);
            return new StudyConv(c.OptionalInt("channels", 1, 1, MaxHidden), kernel, c.OptionalInt("stride", 1, 1, MaxKernel), c.OptionalInt("padding", 0, 0, kernel - 1), c.OptionalInt("pool", 1, 1, MaxKernel));
        }).ToList();
        var dense = model.OptionalIntList("dense", 1, MaxHidden) ?? [];
        RequireLayers(model, "dense", dense.Count, 0);
        return new StudyModel(kind, dense, activation, dropout, shape, blocks);
    }

    private static void RequireLayers(JsonObjectReader model, string key, int count, int min)
    {
        if (count < min || count > MaxLayers)
        {
            throw new StudyFormatException(model.Source, model.PathOf(key), string.Create(CultureInfo.InvariantCulture, $"has {count} layer(s); give {min} to {MaxLayers}"));
        }
    }

    private static StudyTraining ParseTraining(JsonObjectReader root, string source)
    {
        var training = root.OptionalObject("training", ["epochs", "batch_size", "learning_rate", "optimizer", "momentum", "weight_decay", "server"]);
        if (training is null)
        {
            return new StudyTraining(DefaultEpochs, DefaultBatchSize, DefaultLearningRate);
        }

        var epochs = training.OptionalInt("epochs", DefaultEpochs, 1, MaxEpochs);
        var batch = training.OptionalInt("batch_size", DefaultBatchSize, 1, MaxBatchSize);
        var rate = PositiveRate(training, "learning_rate", DefaultLearningRate, "0.1");
        var optimizer = training.OptionalChoice("optimizer", "sgd", ["sgd", "adam"]);
        if (optimizer == "adam" && training.Has("momentum"))
        {
            throw new StudyFormatException(source, training.PathOf("momentum"), "momentum is an SGD setting (Adam keeps its own moments); remove the key or use \"optimizer\": \"sgd\"");
        }

        var momentum = training.OptionalDouble("momentum", 0.0, 0.0, 0.999, "0.9");
        var decay = training.OptionalDouble("weight_decay", 0.0, 0.0, 0.5, "0.0001");
        return new StudyTraining(epochs, batch, rate, optimizer, momentum, decay, ParseServer(training, source));
    }

    private static StudyServerOptimizer ParseServer(JsonObjectReader training, string source)
    {
        var server = training.OptionalObject("server", ["optimizer", "learning_rate", "beta1", "beta2", "tau"]);
        if (server is null)
        {
            return StudyServerOptimizer.FedAvg;
        }

        var kind = server.OptionalChoice("optimizer", "fedavg", ["fedavg", "fedadam", "fedyogi"]);
        if (kind == "fedavg")
        {
            foreach (var key in new[] { "beta1", "beta2", "tau" }.Where(server.Has))
            {
                throw new StudyFormatException(source, server.PathOf(key), $"fedavg has no {key}; remove the key or use \"optimizer\": \"fedadam\" or \"fedyogi\"");
            }

            return StudyServerOptimizer.FedAvg with { LearningRate = PositiveRate(server, "learning_rate", 1.0, "1.0") };
        }

        // Defaults of Reddi et al. 2021 (section 5 and appendix): beta1 0.9, beta2 0.99, tau 1e-3, server rate 1e-2.
        return new StudyServerOptimizer(
            kind,
            PositiveRate(server, "learning_rate", 0.01, "0.01"),
            server.OptionalDouble("beta1", 0.9, 0.0, 0.999999, "0.9"),
            server.OptionalDouble("beta2", 0.99, 0.0, 0.999999, "0.99"),
            PositiveRate(server, "tau", 1e-3, "0.001"));
    }

    private static double PositiveRate(JsonObjectReader owner, string key, double fallback, string example)
    {
        var rate = owner.OptionalDouble(key, fallback);
        if (!(rate > 0.0 && rate <= 100.0))
        {
            throw new StudyFormatException(owner.Source, owner.PathOf(key), $"{Format(rate)} is out of range; use a number > 0 and at most 100, for example {example}");
        }

        return rate;
    }

    private static StudyPrivacy? ParsePrivacy(JsonObjectReader root, string source)
    {
        var privacy = root.OptionalObject("privacy", ["unit", "epsilon", "noise_multiplier", "delta", "clip", "expected_batch", "accountant"]);
        if (privacy is null)
        {
            return null;
        }

        var unit = privacy.RequiredString("unit");
        if (unit is not ("record" or "silo" or "both"))
        {
            throw new StudyFormatException(source, privacy.PathOf("unit"), $"\"{Clip(unit)}\" is not a privacy unit; use \"record\" (DP-SGD in each silo), \"silo\" (noise on the sum) or \"both\"");
        }

        if (unit == "silo")
        {
            // Client-level noise is the coordinator's plan (noise multiplier, threshold, budget); the study only requires it.
            foreach (var key in new[] { "epsilon", "noise_multiplier", "clip", "expected_batch", "accountant" }.Where(privacy.Has))
            {
                throw new StudyFormatException(source, privacy.PathOf(key), "is a record-level setting; use \"unit\": \"record\" or \"both\", or remove it (client-level noise is set in the coordinator's privacy plan)");
            }

            return new StudyPrivacy(unit, null, null, privacy.OptionalDouble("delta", 1e-5, 1e-12, 0.1, "1e-5"), 1.0, 64, "rdp");
        }

        if (privacy.Has("epsilon") == privacy.Has("noise_multiplier"))
        {
            throw new StudyFormatException(source, privacy.PathOf("epsilon"), "give exactly one of \"epsilon\" (each silo calibrates its noise to spend at most that) and \"noise_multiplier\" (fixed noise)");
        }

        double? epsilon = privacy.Has("epsilon") ? privacy.OptionalDouble("epsilon", 1, 1e-3, 1e3, "3") : null;
        double? z = privacy.Has("noise_multiplier") ? privacy.OptionalDouble("noise_multiplier", 1, 1e-3, 1e4, "1.1") : null;
        return new StudyPrivacy(
            unit,
            epsilon,
            z,
            privacy.OptionalDouble("delta", 1e-5, 1e-12, 0.1, "1e-5"),
            privacy.OptionalDouble("clip", 1.0, 1e-6, 1e6, "1.0"),
            privacy.OptionalInt("expected_batch", 64, 1, MaxBatchSize),
            privacy.OptionalChoice("accountant", "rdp", ["rdp", "pld"]));
    }

    private static (double Holdout, int Seed) ParseEvaluation(JsonObjectReader root, string source)
    {
        var evaluation = root.OptionalObject("evaluation", ["holdout", "seed"]);
        if (evaluation is null)
        {
            return (DefaultHoldout, 0);
        }

        var holdout = evaluation.OptionalDouble("holdout", DefaultHoldout);
        if (!(holdout > 0.0 && holdout < 1.0))
        {
            throw new StudyFormatException(source, evaluation.PathOf("holdout"), $"{Format(holdout)} is out of range; use a fraction strictly between 0 and 1, for example 0.2");
        }

        return (holdout, evaluation.OptionalInt("seed", 0, int.MinValue, int.MaxValue));
    }

    private static void CheckLevels(JsonObjectReader owner, string key, List<string> levels, HashSet<string> missing, string what)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < levels.Count; i++)
        {
            var path = $"{owner.PathOf(key)}[{i}]";
            var level = levels[i];
            RequireTrimmed(owner, $"{key}[{i}]", level);
            if (missing.Contains(level))
            {
                throw new StudyFormatException(owner.Source, path, $"\"{Clip(level)}\" is a missing-value token, so no cell could match this {what}; rename the {what} or remove it from \"missing\"");
            }

            if (!seen.Add(level))
            {
                throw new StudyFormatException(owner.Source, path, $"\"{Clip(level)}\" is listed twice; each {what} must be unique");
            }
        }
    }

    private static void RequireTrimmed(JsonObjectReader owner, string key, string value)
    {
        if (value.Length == 0)
        {
            throw new StudyFormatException(owner.Source, owner.PathOf(key), "is empty; give a non-empty name");
        }

        if (value.Trim().Length != value.Length)
        {
            throw new StudyFormatException(owner.Source, owner.PathOf(key), $"\"{Clip(value)}\" starts or ends with whitespace, but cells are trimmed before matching; remove the whitespace");
        }
    }

    internal static string Clip(string value) => TextSanitizer.Clip(value, 40);

    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
