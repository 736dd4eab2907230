using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>Quality of a model on a dataset.</summary>
/// <param name="Accuracy">Fraction of rows whose arg-max logit is the label, in [0, 1].</param>
/// <param name="Loss">Mean softmax cross-entropy (natural log).</param>
/// <param name="Examples">Rows evaluated.</param>
public sealed record EvaluationResult(double Accuracy, double Loss, int Examples);

/// <summary>The sums a silo contributes to a federated evaluation: rows, correct, loss sum and confusion counts.</summary>
/// <param name="Examples">Rows evaluated.</param>
/// <param name="Correct">Rows whose arg-max logit is the label.</param>
/// <param name="LossSum">Sum of the rows' softmax cross-entropy (natural log).</param>
/// <param name="Confusion">Counts by (true class, predicted class), row-major, ClassCount x ClassCount.</param>
public sealed record EvaluationCounts(long Examples, long Correct, double LossSum, long[] Confusion);

/// <summary>Evaluates flat parameter vectors with TorchSharp on the CPU. Thread-safe (stateless); frees all torch objects.</summary>
public static class Evaluator
{
    /// <summary>Accuracy and mean cross-entropy of <paramref name="parameters"/> on <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">The vector fails <see cref="ParameterVector.Validate"/>, or the data does not match the model or is empty.</exception>
    public static EvaluationResult Evaluate(ModelSpec spec, float[] parameters, TabularDataset data)
    {
        var counts = Count(spec, parameters, data);
        return new EvaluationResult((double)counts.Correct / data.RowCount, counts.LossSum / data.RowCount, data.RowCount);
    }

    /// <summary>The evaluation sums of <paramref name="parameters"/> on <paramref name="data"/> (for a federated evaluation).</summary>
    /// <exception cref="ArgumentException">As <see cref="Evaluate"/>.</exception>
    public static EvaluationCounts Count(ModelSpec spec, float[] parameters, TabularDataset data)
    {
        TorchRuntime.EnsureInitialized();
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        ParameterVector.Validate(parameters, spec.ParameterCount, nameof(parameters));
        TorchModel.CheckData(spec, data);
        var (correct, lossSum, confusion) = TorchModel.Evaluate(spec, parameters, data, confusion: true);
        return new EvaluationCounts(data.RowCount, correct, lossSum, confusion!);
    }

    /// <summary>
    /// The class probabilities (softmax of the logits, inference mode: dropout is the identity) of
    /// <paramref name="rows"/> rows already encoded as the model's input, row-major [rows, InputDim]; the result is
    /// row-major [rows, ClassCount]. The reference an exported model is checked against.
    /// </summary>
    /// <exception cref="ArgumentException">The vector fails <see cref="ParameterVector.Validate"/>, or the inputs are not rows x InputDim values.</exception>
    public static float[] Probabilities(ModelSpec spec, float[] parameters, float[] encodedInputs, int rows)
    {
        TorchRuntime.EnsureInitialized();
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(encodedInputs);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ParameterVector.Validate(parameters, spec.ParameterCount, nameof(parameters));
        if (encodedInputs.Length != (long)rows * spec.InputDim)
        {
            throw new ArgumentException($"{encodedInputs.Length} input values are not {rows} rows of {spec.InputDim}.", nameof(encodedInputs));
        }

        return TorchModel.Probabilities(spec, parameters, encodedInputs, rows);
    }
}
