namespace SecureFed.Studies;

/// <summary>
/// Pooled statistics of all silos, derived from the securely summed vector of <see cref="FeatureStatistics"/>.
/// Per numeric feature a mean and population standard deviation for standardization (a feature with no values gets
/// mean 0 and std 1; a constant feature, std ≤ 1e-12, gets std 1); per categorical feature the level and missing
/// counts. Immutable and thread-safe.
/// </summary>
public sealed class GlobalStatistics
{
    /// <summary>Standard deviations at or below this are treated as 1 (a constant feature is only centred).</summary>
    public const double MinStandardDeviation = 1e-12;

    private readonly double[] _vector;
    private readonly double[] _means;
    private readonly double[] _stds;
    private readonly double[] _counts;
    private readonly double[] _missing;
    private readonly double[]?[] _levels;

    internal GlobalStatistics(Study study, double[] vector)
    {
        Study = study;
        _vector = vector;
        var features = study.Features.Count;
        _means = new double[features];
        _stds = new double[features];
        _counts = new double[features];
        _missing = new double[features];
        _levels = new double[]?[features];
        Rows = vector[0];
        var offset = 1;
        for (var f = 0; f < features; f++)
        {
            var feature = study.Features[f];
            if (feature.Type == FeatureType.Numeric)
            {
                var count = vector[offset];
                var mean = count > 0 ? vector[offset + 1] / count : 0.0;
                var std = count > 0 ? Math.Sqrt(Math.Max(0.0, (vector[offset + 2] / count) - (mean * mean))) : 1.0;
                _counts[f] = count;
                _means[f] = mean;
                _stds[f] = std <= MinStandardDeviation ? 1.0 : std;
                _missing[f] = Math.Max(0.0, Rows - count);
                offset += 3;
            }
            else
            {
                var levels = feature.Categories.Count;
                _levels[f] = vector.AsSpan(offset, levels).ToArray();
                _missing[f] = vector[offset + levels];
                _counts[f] = _levels[f]!.Sum();
                _means[f] = double.NaN;
                _stds[f] = double.NaN;
                offset += levels + 1;
            }
        }

        LabelCounts = vector.AsSpan(offset, study.ClassCount).ToArray();
        Hash = FeatureStatistics.HashVector(vector);
    }

    /// <summary>The study the statistics belong to.</summary>
    public Study Study { get; }

    /// <summary>Total rows over all silos.</summary>
    public double Rows { get; }

    /// <summary>Rows per label class.</summary>
    public IReadOnlyList<double> LabelCounts { get; }

    /// <summary>A copy of the summed vector.</summary>
    public double[] Vector => (double[])_vector.Clone();

    /// <summary>Lowercase hex SHA-256 over the vector's little-endian doubles (<see cref="FeatureStatistics.HashVector"/>).</summary>
    public string Hash { get; }

    /// <summary>Mean of numeric feature <paramref name="feature"/> over its non-missing values (0 when it has none).</summary>
    /// <exception cref="ArgumentException">The feature is categorical.</exception>
    public double Mean(int feature) => Numeric(feature, _means);

    /// <summary>Population standard deviation of numeric feature <paramref name="feature"/> (1 when constant or empty).</summary>
    /// <exception cref="ArgumentException">The feature is categorical.</exception>
    public double StandardDeviation(int feature) => Numeric(feature, _stds);

    /// <summary>Non-missing values of feature <paramref name="feature"/>.</summary>
    public double Count(int feature) => _counts[feature];

    /// <summary>Missing values of feature <paramref name="feature"/>.</summary>
    public double MissingCount(int feature) => _missing[feature];

    /// <summary>Rows per declared category of categorical feature <paramref name="feature"/>.</summary>
    /// <exception cref="ArgumentException">The feature is numeric.</exception>
    public IReadOnlyList<double> LevelCounts(int feature) =>
        _levels[feature] ?? throw new ArgumentException($"feature {feature} ({Study.Features[feature].Column}) is not categorical", nameof(feature));

    private double Numeric(int feature, double[] values) =>
        Study.Features[feature].Type == FeatureType.Numeric
            ? values[feature]
            : throw new ArgumentException($"feature {feature} ({Study.Features[feature].Column}) is not numeric", nameof(feature));
}
