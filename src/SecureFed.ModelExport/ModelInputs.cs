using SecureFed.Studies;

namespace SecureFed.ModelExport;

/// <summary>
/// One column of an exported model's input: a numeric feature (<see cref="Category"/> null; its value, NaN when
/// missing), or one declared category of a categorical feature (1.0 when the row has that category, else 0.0).
/// </summary>
/// <param name="Column">The study's feature column.</param>
/// <param name="Category">The category, or null for a numeric feature.</param>
public sealed record ModelInput(string Column, string? Category);

/// <summary>
/// The input layout of an exported model, derived from a study alone: <c>Study.Inputs</c> without the missing-level
/// columns (the ONNX graph computes those as 1 - the sum of the feature's categories). Builds the raw float32
/// [N, F] input from a table read under the study, exactly as the encoding used in training sees it: a numeric
/// value or NaN, a one-hot over the declared categories, all zeros for a missing category. Immutable and thread-safe.
/// </summary>
public sealed class ModelInputs
{
    private readonly int[] _featureOfInput;

    /// <summary>The layout of <paramref name="study"/>.</summary>
    public ModelInputs(Study study)
    {
        ArgumentNullException.ThrowIfNull(study);
        Study = study;
        var inputs = new List<ModelInput>();
        var features = new List<int>();
        for (var f = 0; f < study.Features.Count; f++)
        {
            var feature = study.Features[f];
            if (feature.Type == FeatureType.Numeric)
            {
                inputs.Add(new ModelInput(feature.Column, null));
                features.Add(f);
            }
            else
            {
                foreach (var category in feature.Categories)
                {
                    inputs.Add(new ModelInput(feature.Column, category));
                    features.Add(f);
                }
            }
        }

        Inputs = inputs;
        _featureOfInput = [.. features];
    }

    /// <summary>The study the layout is of.</summary>
    public Study Study { get; }

    /// <summary>The input columns, in order (the ONNX input's second axis).</summary>
    public IReadOnlyList<ModelInput> Inputs { get; }

    /// <summary>Width F of the ONNX input.</summary>
    public int Width => Inputs.Count;

    /// <summary>Index into <c>Study.Features</c> of input <paramref name="input"/>.</summary>
    public int FeatureOf(int input) => _featureOfInput[input];

    /// <summary>The row-major [RowCount, <see cref="Width"/>] raw input of <paramref name="table"/>'s rows.</summary>
    /// <exception cref="ArgumentException">The table was read under another study (by hash).</exception>
    public float[] Raw(SiloTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Study.Hash != Study.Hash)
        {
            throw new ArgumentException($"table {table.Source} was read under study {table.Study.Hash}, not {Study.Hash}", nameof(table));
        }

        var width = Width;
        var raw = new float[checked(table.RowCount * width)];
        var column = 0;
        for (var f = 0; f < Study.Features.Count; f++)
        {
            var feature = Study.Features[f];
            for (var r = 0; r < table.RowCount; r++)
            {
                if (feature.Type == FeatureType.Numeric)
                {
                    raw[(r * width) + column] = (float)table.NumericValue(r, f);
                }
                else if (table.CategoryIndex(r, f) is var level and >= 0)
                {
                    raw[(r * width) + column + level] = 1f;
                }
            }

            column += feature.Type == FeatureType.Numeric ? 1 : feature.Categories.Count;
        }

        return raw;
    }
}
