using System.Collections.ObjectModel;

namespace SecureFed.Training;

/// <summary>
/// An immutable table of float features (row-major, <see cref="RowCount"/> x <see cref="FeatureCount"/>) with one
/// integer class label per row in [0, <see cref="ClassCount"/>). Every feature is finite. The constructor copies its
/// inputs; nothing handed out can change the dataset. Thread-safe (immutable).
/// </summary>
public sealed class TabularDataset
{
    private readonly float[] _features;
    private readonly int[] _labels;

    /// <summary>Creates a dataset from copies of the given arrays.</summary>
    /// <param name="name">A display name (for example <c>breast-cancer</c> or <c>breast-cancer/silo-2</c>).</param>
    /// <param name="featureNames">One non-empty, unique name per feature column.</param>
    /// <param name="features">Row-major features, <c>labels.Length * featureNames.Count</c> finite values.</param>
    /// <param name="labels">One label per row, each in [0, <paramref name="classCount"/>).</param>
    /// <param name="classCount">Number of classes, at least 2.</param>
    /// <exception cref="ArgumentException">Shapes disagree, a value is not finite, or a label is out of range.</exception>
    public TabularDataset(string name, IReadOnlyList<string> featureNames, ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int classCount)
        : this(name, featureNames?.ToArray()!, features.ToArray(), labels.ToArray(), classCount, validate: true)
    {
    }

    private TabularDataset(string name, string[] featureNames, float[] features, int[] labels, int classCount, bool validate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(featureNames);
        if (validate)
        {
            Validate(featureNames, features, labels, classCount);
        }

        Name = name;
        _features = features;
        _labels = labels;
        ClassCount = classCount;
        FeatureNames = Array.AsReadOnly(featureNames);
        Labels = Array.AsReadOnly(labels);
    }

    /// <summary>The dataset's display name.</summary>
    public string Name { get; }

    /// <summary>Number of rows (examples).</summary>
    public int RowCount => _labels.Length;

    /// <summary>Number of feature columns.</summary>
    public int FeatureCount => FeatureNames.Count;

    /// <summary>Number of classes; labels lie in [0, ClassCount).</summary>
    public int ClassCount { get; }

    /// <summary>Feature column names, in column order.</summary>
    public ReadOnlyCollection<string> FeatureNames { get; }

    /// <summary>All features, row-major (<see cref="RowCount"/> x <see cref="FeatureCount"/>).</summary>
    public ReadOnlyMemory<float> Features => _features;

    /// <summary>One label per row.</summary>
    public ReadOnlyCollection<int> Labels { get; }

    /// <summary>The features of one row.</summary>
    public ReadOnlySpan<float> GetRow(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, RowCount);
        return _features.AsSpan(row * FeatureCount, FeatureCount);
    }

    /// <summary>How many rows carry each label (index = class).</summary>
    public IReadOnlyList<int> CountByClass()
    {
        var counts = new int[ClassCount];
        foreach (var label in _labels)
        {
            counts[label]++;
        }

        return counts;
    }

    /// <summary>The column index of a feature, by exact name.</summary>
    /// <exception cref="ArgumentException">No such feature; the message lists the available names.</exception>
    public int FeatureIndex(string featureName)
    {
        ArgumentNullException.ThrowIfNull(featureName);
        var index = FeatureNames.IndexOf(featureName);
        if (index < 0)
        {
            const int Shown = 12;
            var names = string.Join(", ", FeatureNames.Take(Shown));
            var more = FeatureCount > Shown ? $", ... ({FeatureCount} in all)" : string.Empty;
            throw new ArgumentException($"Dataset '{Name}' has no feature named '{featureName}'. Features: {names}{more}.", nameof(featureName));
        }

        return index;
    }

    /// <summary>A new dataset made of the given rows, in the given order.</summary>
    /// <param name="rows">Row indices; each in range. Repeats are allowed.</param>
    /// <param name="name">Name of the new dataset; defaults to this dataset's name.</param>
    public TabularDataset Subset(IReadOnlyList<int> rows, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var cols = FeatureCount;
        var features = new float[checked(rows.Count * cols)];
        var labels = new int[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if ((uint)r >= (uint)RowCount)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), $"Row index {r} is outside [0, {RowCount}).");
            }

            Array.Copy(_features, r * cols, features, i * cols, cols);
            labels[i] = _labels[r];
        }

        return new TabularDataset(name ?? Name, FeatureNamesArray(), features, labels, ClassCount, validate: false);
    }

    /// <summary>The same rows and labels with other (already validated, same shape) features.</summary>
    internal TabularDataset WithFeatures(float[] features)
    {
        if (features.Length != _features.Length)
        {
            throw new ArgumentException("Feature array has the wrong length.", nameof(features));
        }

        return new TabularDataset(Name, FeatureNamesArray(), features, _labels, ClassCount, validate: false);
    }

    /// <summary>Wraps arrays the caller hands over and no longer touches (no copy); validates them.</summary>
    internal static TabularDataset Adopt(string name, string[] featureNames, float[] features, int[] labels, int classCount) =>
        new(name, featureNames, features, labels, classCount, validate: true);

    /// <summary>The backing feature array; callers must not modify it.</summary>
    internal float[] RawFeatures => _features;

    /// <summary>The backing label array; callers must not modify it.</summary>
    internal int[] RawLabels => _labels;

    private string[] FeatureNamesArray() => [.. FeatureNames];

    private static void Validate(string[] featureNames, float[] features, int[] labels, int classCount)
    {
        if (featureNames.Length == 0)
        {
            throw new ArgumentException("A dataset needs at least one feature.", nameof(featureNames));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var featureName in featureNames)
        {
            if (string.IsNullOrWhiteSpace(featureName) || !seen.Add(featureName))
            {
                throw new ArgumentException($"Feature names must be non-empty and unique; '{featureName}' is not.", nameof(featureNames));
            }
        }

        if (classCount < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "A classification dataset needs at least 2 classes.");
        }

        if ((long)labels.Length * featureNames.Length != features.Length)
        {
            throw new ArgumentException(
                $"Features hold {features.Length} values but {labels.Length} rows x {featureNames.Length} columns need {(long)labels.Length * featureNames.Length}.",
                nameof(features));
        }

        for (var i = 0; i < features.Length; i++)
        {
            if (!float.IsFinite(features[i]))
            {
                throw new ArgumentException($"Feature value at row {i / featureNames.Length}, column {i % featureNames.Length} is not finite.", nameof(features));
            }
        }

        for (var i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
            {
                throw new ArgumentException($"Label at row {i} is {labels[i]}, outside [0, {classCount}).", nameof(labels));
            }
        }
    }
}
