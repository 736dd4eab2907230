using System.Collections.ObjectModel;

namespace SecureFed.Training;

/// <summary>
/// Per-feature z-score statistics (population mean and standard deviation, computed in double). A feature whose
/// standard deviation is 0 (constant on the fitted rows) is scaled by 1, i.e. only centred. In federated use each silo
/// fits and applies its own statistics; <see cref="Pool"/> combines silo statistics exactly, for example to standardize
/// a held-out set. Immutable and thread-safe.
/// </summary>
public sealed class Standardizer
{
    /// <summary>Standard deviations at or below this are treated as 0.</summary>
    public const double ZeroStdThreshold = 1e-12;

    private readonly double[] _means;
    private readonly double[] _variances;
    private readonly float[] _floatMeans;
    private readonly float[] _scales;

    private Standardizer(double[] means, double[] variances, long count)
    {
        _means = means;
        _variances = variances;
        Count = count;
        _floatMeans = [.. means.Select(m => (float)m)];
        _scales = [.. variances.Select(v => Math.Sqrt(v) <= ZeroStdThreshold ? 1f : (float)Math.Sqrt(v))];
        Means = Array.AsReadOnly(_floatMeans);
        StandardDeviations = Array.AsReadOnly(_scales);
    }

    /// <summary>Number of rows the statistics were computed from.</summary>
    public long Count { get; }

    /// <summary>Number of features.</summary>
    public int FeatureCount => _means.Length;

    /// <summary>Per-feature means.</summary>
    public ReadOnlyCollection<float> Means { get; }

    /// <summary>Per-feature divisors: the standard deviation, or 1 where it is 0.</summary>
    public ReadOnlyCollection<float> StandardDeviations { get; }

    /// <summary>Computes the statistics of every feature of <paramref name="data"/> (at least one row).</summary>
    public static Standardizer Fit(TabularDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.RowCount == 0)
        {
            throw new ArgumentException($"Cannot fit a standardizer on the empty dataset '{data.Name}'.", nameof(data));
        }

        var cols = data.FeatureCount;
        var features = data.RawFeatures;
        var means = new double[cols];
        var m2 = new double[cols];
        for (var r = 0; r < data.RowCount; r++)
        {
            // Welford's update: stable for features with a large offset (e.g. german-credit's amounts).
            var n = r + 1;
            for (var c = 0; c < cols; c++)
            {
                var x = (double)features[(r * cols) + c];
                var delta = x - means[c];
                means[c] += delta / n;
                m2[c] += delta * (x - means[c]);
            }
        }

        return new Standardizer(means, [.. m2.Select(v => Math.Max(0, v / data.RowCount))], data.RowCount);
    }

    /// <summary>
    /// The exact statistics of the union of the rows behind <paramref name="parts"/> (row-weighted means; variances
    /// combined with the between-part term), as if <see cref="Fit"/> had seen all of them.
    /// </summary>
    public static Standardizer Pool(IReadOnlyCollection<Standardizer> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("Nothing to pool.", nameof(parts));
        }

        var cols = parts.First().FeatureCount;
        if (parts.Any(p => p.FeatureCount != cols))
        {
            throw new ArgumentException("All standardizers must have the same feature count.", nameof(parts));
        }

        var total = parts.Sum(p => p.Count);
        var means = new double[cols];
        var variances = new double[cols];
        for (var c = 0; c < cols; c++)
        {
            means[c] = parts.Sum(p => p._means[c] * p.Count) / total;
            variances[c] = parts.Sum(p => p.Count * (p._variances[c] + Math.Pow(p._means[c] - means[c], 2))) / total;
        }

        return new Standardizer(means, variances, total);
    }

    /// <summary>A new dataset with (x - mean) / std applied to every feature; labels and name unchanged.</summary>
    /// <exception cref="ArgumentException">The feature count differs from the fitted one.</exception>
    public TabularDataset Apply(TabularDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != FeatureCount)
        {
            throw new ArgumentException($"Dataset '{data.Name}' has {data.FeatureCount} features; the standardizer was fitted on {FeatureCount}.", nameof(data));
        }

        var source = data.RawFeatures;
        var result = new float[source.Length];
        var cols = FeatureCount;
        for (var i = 0; i < source.Length; i++)
        {
            var c = i % cols;
            result[i] = (source[i] - _floatMeans[c]) / _scales[c];
            if (!float.IsFinite(result[i]))
            {
                throw new ArgumentException($"Standardizing '{data.Name}' overflows at row {i / cols}, column {c}.", nameof(data));
            }
        }

        return data.WithFeatures(result);
    }
}
