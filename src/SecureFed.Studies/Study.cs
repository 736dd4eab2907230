using System.Security.Cryptography;
using System.Text;
using SecureFed.Studies.Internal;

namespace SecureFed.Studies;

/// <summary>
/// A validated study document: what the consortium trains (label, features, model, rounds, evaluation), with no
/// paths, machines or certificates in it. <see cref="Hash"/> identifies the study: two documents that differ only in
/// whitespace, key order or explicitly written defaults share it, any semantic change changes it. Immutable and
/// thread-safe.
/// </summary>
public sealed class Study
{
    /// <summary>Cells that are always missing, whatever the study's <c>missing</c> list says.</summary>
    public static readonly IReadOnlyList<string> BuiltInMissingTokens = [string.Empty, "NA", "?"];

    internal Study(
        string name,
        LabelSpec label,
        IReadOnlyList<FeatureSpec> features,
        StudyModel model,
        StudyTraining training,
        int rounds,
        double holdout,
        int evaluationSeed,
        IReadOnlyList<string> extraMissingTokens,
        StudyPrivacy? privacy = null)
    {
        Privacy = privacy;
        Name = name;
        Label = label;
        Features = features;
        Model = model;
        Training = training;
        Rounds = rounds;
        Holdout = holdout;
        EvaluationSeed = evaluationSeed;
        ExtraMissingTokens = extraMissingTokens;
        MissingTokens = [.. BuiltInMissingTokens, .. extraMissingTokens];
        var inputs = new List<EncodedInput>();
        var statistics = 1;
        foreach (var feature in features)
        {
            switch (feature.Type)
            {
                case FeatureType.Numeric:
                    inputs.Add(new EncodedInput(feature.Column, null, MissingLevel: false));
                    statistics += 3;
                    break;
                case FeatureType.Categorical:
                    inputs.AddRange(feature.Categories.Select(c => new EncodedInput(feature.Column, c, MissingLevel: false)));
                    inputs.Add(new EncodedInput(feature.Column, null, MissingLevel: true));
                    statistics += feature.Categories.Count + 1;
                    break;
                default:
                    throw new InvalidOperationException($"unknown feature type {feature.Type}");
            }
        }

        Inputs = inputs;
        StatisticsLength = statistics + label.Classes.Count;
        CanonicalJson = StudyCanonicalWriter.Write(this);
        Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalJson)));
    }

    /// <summary>The study's name (the <c>study</c> key).</summary>
    public string Name { get; }

    /// <summary>The label column and its classes.</summary>
    public LabelSpec Label { get; }

    /// <summary>The input columns, in the document's order; feature indices elsewhere index this list.</summary>
    public IReadOnlyList<FeatureSpec> Features { get; }

    /// <summary>The model family.</summary>
    public StudyModel Model { get; }

    /// <summary>The study's differential privacy, or null when it declares none.</summary>
    public StudyPrivacy? Privacy { get; }

    /// <summary>Local training settings.</summary>
    public StudyTraining Training { get; }

    /// <summary>Number of federated rounds, 1..100000 (default 20).</summary>
    public int Rounds { get; }

    /// <summary>Fraction of each silo's rows held out for evaluation, in (0, 1) (default 0.2).</summary>
    public double Holdout { get; }

    /// <summary>Seed of the holdout split (default 0).</summary>
    public int EvaluationSeed { get; }

    /// <summary>
    /// Every cell text (after trimming, case-sensitive) that counts as missing: the empty cell, <c>NA</c>, <c>?</c>,
    /// then the study's extra tokens.
    /// </summary>
    public IReadOnlyList<string> MissingTokens { get; }

    /// <summary>The study's extra missing tokens beyond <see cref="BuiltInMissingTokens"/>, sorted ordinally.</summary>
    public IReadOnlyList<string> ExtraMissingTokens { get; }

    /// <summary>Number of label classes.</summary>
    public int ClassCount => Label.Classes.Count;

    /// <summary>
    /// The normalized document: every default explicit, object keys sorted ordinally, no whitespace, numbers in
    /// shortest round-trip invariant form. <c>categories</c> appears only on categorical features; the model section
    /// holds only its kind's keys (none beyond <c>kind</c> for <c>logreg</c>), <c>momentum</c> only for SGD and the
    /// server's betas and tau only for the adaptive optimizers; a <c>column_prefix</c> feature is written as its
    /// expanded columns; <c>missing</c> lists the extra tokens sorted.
    /// </summary>
    public string CanonicalJson { get; }

    /// <summary>Lowercase hex SHA-256 of the UTF-8 bytes of <see cref="CanonicalJson"/>.</summary>
    public string Hash { get; }

    /// <summary>
    /// The columns of the encoded input matrix: one per numeric feature, and for each categorical feature one per
    /// declared category in order, then its missing level; in feature order.
    /// </summary>
    public IReadOnlyList<EncodedInput> Inputs { get; }

    /// <summary>Width of the encoded input matrix (<c>Inputs.Count</c>).</summary>
    public int InputWidth => Inputs.Count;

    /// <summary>Length of the federated statistics vector (see <see cref="FeatureStatistics"/>).</summary>
    public int StatisticsLength { get; }

    /// <summary>Reads and validates a study file.</summary>
    /// <param name="path">Path of the JSON study document.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="StudyFormatException">The document is malformed; the message names the file and key path.</exception>
    public static Study Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"study file not found: {full}", full);
        }

        return Parse(File.ReadAllText(full, Encoding.UTF8), path);
    }

    /// <summary>Parses and validates a study document.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Name of the document's origin (a file path) used in error messages.</param>
    /// <exception cref="StudyFormatException">The document is malformed; the message names the source and key path.</exception>
    public static Study Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        return StudyParser.Parse(json, source);
    }

    /// <summary>Index of <paramref name="column"/> in <see cref="Features"/>, or -1.</summary>
    public int FeatureIndex(string column)
    {
        for (var i = 0; i < Features.Count; i++)
        {
            if (string.Equals(Features[i].Column, column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>True when the trimmed cell text is one of <see cref="MissingTokens"/>.</summary>
    public bool IsMissing(ReadOnlySpan<char> trimmedCell)
    {
        foreach (var token in MissingTokens)
        {
            if (trimmedCell.SequenceEqual(token))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"study {Name} ({Hash[..12]})";
}
