namespace SecureFed.Studies;

/// <summary>
/// Encodes a <see cref="SiloTable"/> into the model's input matrix, the same way for training, evaluation and
/// prediction: a numeric value becomes (x - mean) / std with the federated mean and standard deviation, a missing
/// one the mean (so 0); a categorical value becomes a one-hot over its declared categories plus a missing level
/// (exactly one 1 per categorical feature per row). Columns follow <c>Study.Inputs</c>. Immutable and thread-safe.
/// </summary>
public sealed class StudyEncoder
{
    private readonly int[] _offsets;
    private readonly double[] _featureMeans;
    private readonly double[] _featureScales;

    /// <summary>Creates the encoder of <paramref name="study"/> with the pooled statistics.</summary>
    /// <exception cref="ArgumentException">The statistics belong to another study (by hash).</exception>
    public StudyEncoder(Study study, GlobalStatistics stats)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(stats);
        if (stats.Study.Hash != study.Hash)
        {
            throw new ArgumentException($"statistics are of study {stats.Study.Hash}, not {study.Hash}", nameof(stats));
        }

        Study = study;
        var features = study.Features.Count;
        _offsets = new int[features];
        _featureMeans = new double[features];
        _featureScales = new double[features];
        var means = new List<double>();
        var scales = new List<double>();
        var offset = 0;
        for (var f = 0; f < features; f++)
        {
            _offsets[f] = offset;
            if (study.Features[f].Type == FeatureType.Numeric)
            {
                _featureMeans[f] = stats.Mean(f);
                _featureScales[f] = stats.StandardDeviation(f);
                means.Add(_featureMeans[f]);
                scales.Add(_featureScales[f]);
                offset++;
            }
            else
            {
                offset += study.Features[f].Categories.Count + 1;
            }
        }

        Means = means;
        Scales = scales;
    }

    /// <summary>The study encoded.</summary>
    public Study Study { get; }

    /// <summary>Federated mean per numeric feature, in study order (the order numeric inputs appear in <c>Study.Inputs</c>).</summary>
    public IReadOnlyList<double> Means { get; }

    /// <summary>Federated standard deviation (divisor) per numeric feature, in study order.</summary>
    public IReadOnlyList<double> Scales { get; }

    /// <summary>Column of feature <paramref name="feature"/>'s first input in the encoded matrix.</summary>
    public int InputOffset(int feature) => _offsets[feature];

    /// <summary>The row-major <c>RowCount x Study.InputWidth</c> input matrix.</summary>
    /// <exception cref="ArgumentException">The table was read under another study.</exception>
    public float[] Encode(SiloTable table)
    {
        RequireStudy(table);
        var width = Study.InputWidth;
        var matrix = new float[checked(table.RowCount * width)];
        for (var f = 0; f < Study.Features.Count; f++)
        {
            var feature = Study.Features[f];
            var column = _offsets[f];
            for (var r = 0; r < table.RowCount; r++)
            {
                var cell = (r * width) + column;
                if (feature.Type == FeatureType.Numeric)
                {
                    var x = table.NumericValue(r, f);
                    matrix[cell] = double.IsNaN(x) ? 0f : (float)((x - _featureMeans[f]) / _featureScales[f]);
                }
                else
                {
                    var level = table.CategoryIndex(r, f);
                    matrix[cell + (level < 0 ? feature.Categories.Count : level)] = 1f;
                }
            }
        }

        return matrix;
    }

    /// <summary>The label class index per row.</summary>
    /// <exception cref="ArgumentException">The table was read under another study.</exception>
    public int[] Labels(SiloTable table)
    {
        RequireStudy(table);
        return [.. table.Labels];
    }

    private void RequireStudy(SiloTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Study.Hash != Study.Hash)
        {
            throw new ArgumentException($"table {table.Source} was read under study {table.Study.Hash}, not {Study.Hash}", nameof(table));
        }
    }
}
