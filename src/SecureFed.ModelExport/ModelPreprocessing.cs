using SecureFed.Studies;

namespace SecureFed.ModelExport;

/// <summary>The federated standardization of one numeric input: (x - <paramref name="Mean"/>) / <paramref name="Scale"/>, a missing value becomes the mean.</summary>
/// <param name="Column">The feature column.</param>
/// <param name="Mean">The federated mean.</param>
/// <param name="Scale">The federated standard deviation (1 for a constant or empty feature).</param>
public sealed record NumericScaling(string Column, double Mean, double Scale);

/// <summary>
/// The map from an exported model's raw input (<see cref="ModelInputs"/>) to the encoding the model was trained on
/// (<see cref="StudyEncoder"/>), as the ONNX graph applies it: NaN is replaced by the fill value (the mean of a
/// numeric input, 0 for a category), then x' = (x - shift) / scale per input (mean and standard deviation for a
/// numeric input, 0 and 1 for a category), then encoded = x' P + c, where the 0/±1 matrix P places each input at its
/// encoded column and subtracts every category of a feature from its missing level, whose offset c is 1. Products
/// with 0 and ±1 and sums of 0/1 are exact in float32, so only the subtraction and division round. Immutable.
/// </summary>
public sealed class ModelPreprocessing
{
    /// <summary>The preprocessing of <paramref name="inputs"/> with the federated statistics <paramref name="statistics"/>.</summary>
    /// <exception cref="ArgumentException">The statistics belong to another study.</exception>
    public ModelPreprocessing(ModelInputs inputs, GlobalStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(statistics);
        Inputs = inputs;
        var study = inputs.Study;
        var encoder = new StudyEncoder(study, statistics);
        var width = inputs.Width;
        var encoded = study.InputWidth;
        Fill = new float[width];
        Shift = new float[width];
        Scale = new float[width];
        Placement = new float[width * encoded];
        Offset = new float[encoded];
        var numeric = new List<NumericScaling>();
        var column = 0;
        for (var f = 0; f < study.Features.Count; f++)
        {
            var feature = study.Features[f];
            var at = encoder.InputOffset(f);
            if (feature.Type == FeatureType.Numeric)
            {
                var (mean, scale) = (statistics.Mean(f), statistics.StandardDeviation(f));
                numeric.Add(new NumericScaling(feature.Column, mean, scale));
                (Fill[column], Shift[column], Scale[column]) = ((float)mean, (float)mean, (float)scale);
                Placement[(column * encoded) + at] = 1f;
                column++;
                continue;
            }

            var missingLevel = at + feature.Categories.Count;
            Offset[missingLevel] = 1f;
            for (var level = 0; level < feature.Categories.Count; level++, column++)
            {
                Scale[column] = 1f;
                Placement[(column * encoded) + at + level] = 1f;
                Placement[(column * encoded) + missingLevel] = -1f;
            }
        }

        Numeric = numeric;
    }

    /// <summary>The raw input layout.</summary>
    public ModelInputs Inputs { get; }

    /// <summary>Width of the encoded input (<c>Study.InputWidth</c>).</summary>
    public int EncodedWidth => Inputs.Study.InputWidth;

    /// <summary>The standardization of each numeric input, in input order.</summary>
    public IReadOnlyList<NumericScaling> Numeric { get; }

    /// <summary>Per input, the value a NaN is replaced with.</summary>
    internal float[] Fill { get; }

    /// <summary>Per input, the value subtracted.</summary>
    internal float[] Shift { get; }

    /// <summary>Per input, the divisor.</summary>
    internal float[] Scale { get; }

    /// <summary>Row-major [Width, EncodedWidth] placement matrix P.</summary>
    internal float[] Placement { get; }

    /// <summary>The offset c [EncodedWidth]: 1 at missing-level columns.</summary>
    internal float[] Offset { get; }
}
