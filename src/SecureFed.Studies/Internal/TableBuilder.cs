using System.Globalization;

namespace SecureFed.Studies.Internal;

/// <summary>
/// Turns cells into a <see cref="SiloTable"/>, one row at a time, refusing each bad cell with a
/// <see cref="DataFormatException"/> that names the line (or Parquet row), column, value and fix.
/// </summary>
internal sealed class TableBuilder
{
    private const NumberStyles NumberStyle = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    private readonly Study _study;
    private readonly string _file;
    private readonly bool _rowNumbers;
    private readonly bool _featuresOnly;
    private readonly List<double>?[] _numeric;
    private readonly List<int>?[] _categories;
    private readonly List<int> _labels = [];
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _classes;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>>[] _levels;
    private int _line;
    private int _rows;

    /// <summary>A builder for <paramref name="file"/>; with <paramref name="featuresOnly"/> (rows to predict) slot 0 is never read and the table has no labels.</summary>
    public TableBuilder(Study study, string file, bool rowNumbers, bool featuresOnly = false)
    {
        _study = study;
        _file = file;
        _rowNumbers = rowNumbers;
        _featuresOnly = featuresOnly;
        var features = study.Features.Count;
        _numeric = new List<double>?[features];
        _categories = new List<int>?[features];
        _levels = new Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>>[features];
        for (var f = 0; f < features; f++)
        {
            var spec = study.Features[f];
            if (spec.Type == FeatureType.Numeric)
            {
                _numeric[f] = [];
            }
            else
            {
                _categories[f] = [];
                _levels[f] = Index(spec.Categories).GetAlternateLookup<ReadOnlySpan<char>>();
            }
        }

        _classes = Index(study.Label.Classes).GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int RowCount => _rows;

    /// <summary>Adds one row; <paramref name="cell"/> gives the raw text of slot 0 (label) or 1 + feature index, null for a null cell.</summary>
    public void AddRow<TState>(int line, TState state, CellSource<TState> cell)
        where TState : allows ref struct
    {
        _line = line;
        var labelIndex = _featuresOnly ? -1 : ParseLabel(cell(state, 0, out var labelNull).Trim(), labelNull);

        // Parse every cell before storing any, so a refused row leaves the builder unchanged.
        var features = _study.Features.Count;
        var parsed = new double[features];
        for (var f = 0; f < features; f++)
        {
            var spec = _study.Features[f];
            var raw = cell(state, f + 1, out var isNull).Trim();
            var missing = isNull || _study.IsMissing(raw);
            switch (spec.Type)
            {
                case FeatureType.Numeric:
                    parsed[f] = missing ? double.NaN : ParseNumber(spec.Column, raw);
                    break;
                case FeatureType.Categorical:
                    if (missing)
                    {
                        parsed[f] = -1;
                    }
                    else if (_levels[f].TryGetValue(raw, out var level))
                    {
                        parsed[f] = level;
                    }
                    else
                    {
                        throw Error(spec.Column, raw.ToString(), $"is not one of the categories {List(spec.Categories)} (exact, case-sensitive text); fix the cell or add the category to the feature in the study");
                    }

                    break;
                default:
                    throw new InvalidOperationException($"unknown feature type {spec.Type}");
            }
        }

        for (var f = 0; f < features; f++)
        {
            if (_numeric[f] is { } values)
            {
                values.Add(parsed[f]);
            }
            else
            {
                _categories[f]!.Add((int)parsed[f]);
            }
        }

        if (!_featuresOnly)
        {
            _labels.Add(labelIndex);
        }

        _rows++;
    }

    public SiloTable Build(string source, int lineAfterLast)
    {
        if (_rows == 0)
        {
            _line = lineAfterLast;
            throw Error(null, null, "the file has no data rows; export the table with its rows, not only the header");
        }

        double[]?[] numeric = [.. _numeric.Select(v => v?.ToArray())];
        int[]?[] categories = [.. _categories.Select(v => v?.ToArray())];
        return _featuresOnly
            ? new SiloTable(_study, source, numeric, categories, _rows)
            : new SiloTable(_study, source, numeric, categories, [.. _labels]);
    }

    private int ParseLabel(ReadOnlySpan<char> label, bool isNull)
    {
        if (isNull || _study.IsMissing(label))
        {
            throw Error(_study.Label.Column, isNull ? null : label.ToString(), $"the label is missing; every row needs one of the classes {List(_study.Label.Classes)}");
        }

        if (!_classes.TryGetValue(label, out var index))
        {
            throw Error(_study.Label.Column, label.ToString(), $"is not one of the label classes {List(_study.Label.Classes)} (exact, case-sensitive text); fix the cell or add the class to label.classes in the study");
        }

        return index;
    }

    public DataFormatException Error(string? column, string? value, string problem) =>
        new(_file, _line, column, value, problem, _rowNumbers);

    private double ParseNumber(string column, ReadOnlySpan<char> raw)
    {
        // Invariant culture without AllowThousands: "1,5" and "1,000" are refused, never read as 15 or 1000.
        if (!double.TryParse(raw, NumberStyle, CultureInfo.InvariantCulture, out var value))
        {
            var hint = raw.Contains(',')
                ? "is not a number: write '.' as the decimal point and no digit grouping (1000.5, not 1,000.5 or 1000,5)"
                : "is not a number; write a number such as 42, -0.5 or 1.5e3, or leave the cell empty if it is missing";
            throw Error(column, raw.ToString(), hint);
        }

        if (!double.IsFinite(value))
        {
            throw Error(column, raw.ToString(), "is not a finite number; write a finite value, or leave the cell empty if it is missing");
        }

        return value;
    }

    private static Dictionary<string, int> Index(IReadOnlyList<string> levels)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < levels.Count; i++)
        {
            index.Add(levels[i], i);
        }

        return index;
    }

    internal static string List(IReadOnlyList<string> names, int max = 10)
    {
        var shown = names.Take(max).Select(n => $"\"{TextSanitizer.Clip(n, 40)}\"");
        var more = names.Count > max ? string.Create(CultureInfo.InvariantCulture, $", ... ({names.Count - max} more)") : string.Empty;
        return $"[{string.Join(", ", shown)}{more}]";
    }
}

/// <summary>The raw text of cell <paramref name="slot"/> of the current row (0 = label, 1 + i = feature i).</summary>
internal delegate ReadOnlySpan<char> CellSource<TState>(TState state, int slot, out bool isNull)
    where TState : allows ref struct;
