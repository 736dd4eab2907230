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
            var root = new JsonObjectReader(document.RootElement, string.Empty, source, ["study", "label", "features", "model", "training", "rounds", "evaluation", "missing"]);
            var name = root.RequiredString("study");
            var extraMissing = ParseMissing(root);
            var missingSet = new HashSet<string>(Study.BuiltInMissingTokens.Concat(extraMissing), StringComparer.Ordinal);
            var label = ParseLabel(root, source, missingSet);
            var features = ParseFeatures(root, source, missingSet, label);
            var model = ParseModel(root, source);
            var training = ParseTraining(root, source);
            var rounds = root.OptionalInt("rounds", DefaultRounds, 1, MaxRounds);
            var (holdout, seed) = ParseEvaluation(root, source);
            return new Study(name, label, features, model, training, rounds, holdout, seed, extraMissing);
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
        var items = root.RequiredObjectArray("features", ["column", "type", "categories"]);
        if (items.Count == 0)
        {
            throw new StudyFormatException(source, "features", "is empty; list at least one feature column");
        }

        var columns = new Dictionary<string, string>(StringComparer.Ordinal) { [label.Column] = "label.column" };
        var features = new List<FeatureSpec>(items.Count);
        foreach (var item in items)
        {
            var column = item.RequiredString("column");
            RequireTrimmed(item, "column", column);
            if (columns.TryGetValue(column, out var first))
            {
                throw new StudyFormatException(source, item.PathOf("column"), $"column \"{column}\" is already used by {first}; each column may appear once across label and features");
            }

            columns[column] = item.PathOf("column");
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

        return features;
    }

    private static StudyModel ParseModel(JsonObjectReader root, string source)
    {
        var model = root.OptionalObject("model", ["kind", "hidden"]);
        if (model is null)
        {
            return new StudyModel("logreg", 0);
        }

        var kind = model.RequiredString("kind");
        switch (kind)
        {
            case "logreg":
                if (model.Has("hidden"))
                {
                    throw new StudyFormatException(source, model.PathOf("hidden"), "logreg has no hidden layer; remove the key or use \"kind\": \"mlp\"");
                }

                return new StudyModel(kind, 0);
            case "mlp":
                return new StudyModel(kind, model.OptionalInt("hidden", DefaultHidden, 1, MaxHidden));
            default:
                throw new StudyFormatException(source, model.PathOf("kind"), $"\"{Clip(kind)}\" is not a model kind; use \"logreg\" or \"mlp\"");
        }
    }

    private static StudyTraining ParseTraining(JsonObjectReader root, string source)
    {
        var training = root.OptionalObject("training", ["epochs", "batch_size", "learning_rate"]);
        if (training is null)
        {
            return new StudyTraining(DefaultEpochs, DefaultBatchSize, DefaultLearningRate);
        }

        var epochs = training.OptionalInt("epochs", DefaultEpochs, 1, MaxEpochs);
        var batch = training.OptionalInt("batch_size", DefaultBatchSize, 1, MaxBatchSize);
        var rate = training.OptionalDouble("learning_rate", DefaultLearningRate);
        if (!(rate > 0.0 && double.IsFinite(rate)))
        {
            throw new StudyFormatException(source, training.PathOf("learning_rate"), $"{Format(rate)} is out of range; use a finite number > 0, for example 0.1");
        }

        return new StudyTraining(epochs, batch, rate);
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
