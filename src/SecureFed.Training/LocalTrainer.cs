using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>The outcome of one local training run.</summary>
/// <param name="NewParameters">The locally trained parameters.</param>
/// <param name="Delta">NewParameters - global parameters, element-wise in float (what a silo clips, noises and masks).</param>
/// <param name="TrainLoss">Mean cross-entropy over the minibatches of the last local epoch, weighted by batch size,
/// each measured before that batch's update.</param>
/// <param name="Examples">Rows in the silo's dataset (the FedAvg weight).</param>
/// <remarks>With record privacy, TrainLoss is the mean over the rows the last epoch's Poisson batches drew (NaN when they
/// drew none); it is computed from the silo's raw data without noise, so it must not leave the silo.</remarks>
public sealed record LocalTrainingResult(float[] NewParameters, float[] Delta, double TrainLoss, int Examples)
{
    /// <summary>What DP-SGD spent in this run, for the silo's accountant; null when <see cref="TrainingSettings.RecordPrivacy"/> was null.</summary>
    public RecordPrivacySpend? RecordPrivacy { get; init; }
}

/// <summary>
/// A silo's local step: start from the global parameters, run minibatch SGD (or, with
/// <see cref="TrainingSettings.RecordPrivacy"/>, DP-SGD) over the silo's data, return the new parameters and the delta.
/// Runs on the CPU with TorchSharp; all torch objects live in a dispose scope and are freed before returning.
/// Deterministic for equal inputs and seed (with record privacy only under a fresh <see cref="RecordPrivacyRandom.Seeded"/>
/// source, which is for tests). Calls on different threads are independent (thread-safe); torch's intra-op thread count
/// is process-wide (<see cref="TorchRuntime.EnsureInitialized"/>).
/// </summary>
public static class LocalTrainer
{
    /// <summary>Trains <paramref name="spec"/> from <paramref name="globalParameters"/> on <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">The vector fails <see cref="ParameterVector.Validate"/>, the data does not match
    /// the model, the data is empty, or a setting is out of range.</exception>
    /// <exception cref="ArithmeticException">Training diverged (a non-finite loss or parameter); lower the learning rate.</exception>
    public static LocalTrainingResult Train(ModelSpec spec, float[] globalParameters, TabularDataset data, TrainingSettings settings)
    {
        TorchRuntime.EnsureInitialized();
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(settings);
        ParameterVector.Validate(globalParameters, spec.ParameterCount, nameof(globalParameters));
        TorchModel.CheckData(spec, data);
        settings.Validate();

        float[] updated;
        double loss;
        RecordPrivacySpend? spend = null;
        if (settings.RecordPrivacy is null)
        {
            (updated, loss) = TorchModel.Train(spec, globalParameters, data, settings);
        }
        else
        {
            (updated, loss, spend) = DpSgd.Train(spec, globalParameters, data, settings);
        }
        var delta = new float[updated.Length];
        for (var i = 0; i < delta.Length; i++)
        {
            delta[i] = updated[i] - globalParameters[i];
        }

        return new LocalTrainingResult(updated, delta, loss, data.RowCount) { RecordPrivacy = spend };
    }
}
