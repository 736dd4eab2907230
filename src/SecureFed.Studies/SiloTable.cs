using SecureFed.Studies.Internal;

namespace SecureFed.Studies;

/// <summary>
/// A silo's rows mapped onto a study: per row the numeric feature values (NaN when missing), the categorical level
/// indices (-1 when missing) and the label class index. Only the study's columns are kept; others in the file are
/// ignored. A table read by <see cref="ReadFeatures"/> (rows to predict) has no labels: <see cref="HasLabels"/> is false.
/// Immutable and thread-safe once built.
/// </summary>
public sealed class SiloTable
{
    private readonly double[]?[] _numeric;
    private readonly int[]?[] _categories;
    private readonly int[] _labels;

    internal SiloTable(Study study, string source, double[]?[] numeric, int[]?[] categories, int[] labels)
        : this(study, source, numeric, categories, labels, labels.Length, hasLabels: true)
    {
    }

    /// <summary>A table of <paramref name="rowCount"/> rows without labels.</summary>
    internal SiloTable(Study study, string source, double[]?[] numeric, int[]?[] categories, int rowCount)
        : this(study, source, numeric, categories, [], rowCount, hasLabels: false)
    {
    }

    private SiloTable(Study study, string source, double[]?[] numeric, int[]?[] categories, int[] labels, int rowCount, bool hasLabels)
    {
        Study = study;
        Source = source;
        _numeric = numeric;
        _categories = categories;
        _labels = labels;
        RowCount = rowCount;
        HasLabels = hasLabels;
        var missing = new int[study.Features.Count];
        for (var f = 0; f < missing.Length; f++)
        {
            missing[f] = numeric[f] is { } values
                ? values.Count(double.IsNaN)
                : categories[f]!.Count(level => level < 0);
        }

        var counts = new int[study.ClassCount];
        foreach (var label in labels)
        {
            counts[label]++;
        }

        MissingCounts = missing;
        LabelCounts = counts;
    }

    /// <summary>The study the rows were read under.</summary>
    public Study Study { get; }

    /// <summary>The file the rows came from (for a subset, the original file).</summary>
    public string Source { get; }

    /// <summary>Number of data rows.</summary>
    public int RowCount { get; }

    /// <summary>False for a table read by <see cref="ReadFeatures"/>: its <see cref="Labels"/> are empty.</summary>
    public bool HasLabels { get; }

    /// <summary>Label class index per row (an index into <c>Study.Label.Classes</c>); empty when <see cref="HasLabels"/> is false.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Missing cells per study feature (indexed like <c>Study.Features</c>).</summary>
    public IReadOnlyList<int> MissingCounts { get; }

    /// <summary>Rows per label class.</summary>
    public IReadOnlyList<int> LabelCounts { get; }

    /// <summary>Reads a silo's data file (CSV, Parquet or IDX images with their labels file) and maps it onto <paramref name="study"/>.</summary>
    /// <param name="study">The study naming the columns and their types.</param>
    /// <param name="path">The data file.</param>
    /// <param name="options">Format, separator and IDX labels file; null for automatic detection.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file does not fit the study; the message names line, column, value and fix.</exception>
    public static SiloTable Read(Study study, string path, DataReadOptions? options = null) => ReadAs(study, path, options, featuresOnly: false);

    private static DataFormat FormatOf(string path)
    {
        if (string.Equals(Path.GetExtension(path), ".parquet", StringComparison.OrdinalIgnoreCase))
        {
            return DataFormat.Parquet;
        }

        return IdxTableReader.IsIdxImagesName(path) ? DataFormat.Idx : DataFormat.Csv;
    }

    /// <summary>The value of numeric feature <paramref name="feature"/> in row <paramref name="row"/>; NaN when missing.</summary>
    /// <exception cref="ArgumentException">The feature is not numeric.</exception>
    public double NumericValue(int row, int feature) =>
        (_numeric[feature] ?? throw new ArgumentException($"feature {feature} ({Study.Features[feature].Column}) is not numeric", nameof(feature)))[row];

    /// <summary>The level index of categorical feature <paramref name="feature"/> in row <paramref name="row"/>; -1 when missing.</summary>
    /// <exception cref="ArgumentException">The feature is not categorical.</exception>
    public int CategoryIndex(int row, int feature) =>
        (_categories[feature] ?? throw new ArgumentException($"feature {feature} ({Study.Features[feature].Column}) is not categorical", nameof(feature)))[row];

    /// <summary>
    /// Reads rows to predict (CSV, Parquet or IDX images) under <paramref name="study"/>: as <see cref="Read"/>, with the
    /// same dialects, header matching and refusals, but without labels: the label column (or IDX labels file) may be
    /// absent, and is ignored when present. The table's <see cref="HasLabels"/> is false.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file does not fit the study's features; the message names line, column, value and fix.</exception>
    public static SiloTable ReadFeatures(Study study, string path, DataReadOptions? options = null) => ReadAs(study, path, options, featuresOnly: true);

    /// <summary>One reader for both: rows to train on (with labels) or to predict (<paramref name="featuresOnly"/>: no labels).</summary>
    private static SiloTable ReadAs(Study study, string path, DataReadOptions? options, bool featuresOnly)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new DataReadOptions();
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"data file not found: {full}", full);
        }

        var format = options.Format switch
        {
            DataFormat.Auto => FormatOf(full),
            DataFormat.Csv or DataFormat.Parquet or DataFormat.Idx => options.Format,
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Format, "unknown data format"),
        };
        return format switch
        {
            DataFormat.Parquet => ParquetTableReader.Read(study, path, full, featuresOnly),
            // Images to predict need no labels file; one beside them is ignored.
            DataFormat.Idx => IdxTableReader.Read(study, path, options.LabelsPath, featuresOnly),
            DataFormat.Csv => CsvTableReader.Read(study, path, full, options.Separator, featuresOnly),
            _ => throw new InvalidOperationException($"format {format} has no reader"),
        };
    }

    /// <summary>A new table of the given rows, in that order (rows may repeat); used to split one file over simulated silos.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A row index is outside the table.</exception>
    public SiloTable Subset(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(row, nameof(rows));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, RowCount, nameof(rows));
        }

        var numeric = _numeric.Select(values => values is null ? null : rows.Select(r => values[r]).ToArray()).ToArray();
        var categories = _categories.Select(values => values is null ? null : rows.Select(r => values[r]).ToArray()).ToArray();
        return HasLabels
            ? new SiloTable(Study, Source, numeric, categories, [.. rows.Select(r => _labels[r])])
            : new SiloTable(Study, Source, numeric, categories, rows.Count);
    }

    /// <summary>The rows of several tables of the same study, one after another.</summary>
    /// <exception cref="ArgumentException">The tables belong to different studies (by hash), or none is given.</exception>
    public static SiloTable Concat(IReadOnlyList<SiloTable> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Count == 0)
        {
            throw new ArgumentException("give at least one table", nameof(tables));
        }

        var study = tables[0].Study;
        if (tables.Any(t => t.Study.Hash != study.Hash))
        {
            throw new ArgumentException("tables belong to different studies", nameof(tables));
        }

        if (tables.Any(t => !t.HasLabels))
        {
            throw new ArgumentException("tables without labels (read for prediction) cannot be concatenated", nameof(tables));
        }

        var features = study.Features.Count;
        var numeric = new double[]?[features];
        var categories = new int[]?[features];
        for (var f = 0; f < features; f++)
        {
            var index = f;
            numeric[f] = study.Features[f].Type == FeatureType.Numeric ? [.. tables.SelectMany(t => t._numeric[index]!)] : null;
            categories[f] = study.Features[f].Type == FeatureType.Categorical ? [.. tables.SelectMany(t => t._categories[index]!)] : null;
        }

        return new SiloTable(study, tables[0].Source, numeric, categories, [.. tables.SelectMany(t => t._labels)]);
    }
}
