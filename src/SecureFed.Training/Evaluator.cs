using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>Quality of a model on a dataset.</summary>
/// <param name="Accuracy">Fraction of rows whose arg-max logit is the label, in [0, 1].</param>
/// <param name="Loss">Mean softmax cross-entropy (natural log).</param>
/// <param name="Examples">Rows evaluated.</param>
public sealed record EvaluationResult(double Accuracy, double Loss, int Examples);

/// <summary>Evaluates flat parameter vectors with TorchSharp on the CPU. Thread-safe (stateless); frees all torch objects.</summary>
public static class Evaluator
{
    /// <summary>Accuracy and mean cross-entropy of <paramref name="parameters"/> on <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">The vector fails <see cref="ParameterVector.Validate"/>, or the data does not match the model or is empty.</exception>
    public static EvaluationResult Evaluate(ModelSpec spec, float[] parameters, TabularDataset data)
    {
        TorchRuntime.EnsureInitialized();
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        ParameterVector.Validate(parameters, spec.ParameterCount, nameof(parameters));
        TorchModel.CheckData(spec, data);
        var (correct, lossSum) = TorchModel.Evaluate(spec, parameters, data);
        return new EvaluationResult((double)correct / data.RowCount, lossSum / data.RowCount, data.RowCount);
    }
}
