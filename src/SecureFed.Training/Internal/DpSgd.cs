using static TorchSharp.torch;

namespace SecureFed.Training.Internal;

/// <summary>
/// Record-level DP-SGD (Abadi et al. 2016, Algorithm 1) with Poisson sampling and Opacus' normalisation: every step
/// selects each row with probability q, clips each selected example's gradient over all parameters to C (factor
/// min(1, C / (norm + 1e-6))), sums, adds N(0, (sigma C)^2) per coordinate, divides by the expected batch q n, and hands
/// the result to the ordinary optimizer (weight decay, momentum or Adam act on the noisy gradient, as torch.optim does
/// under Opacus). An empty Poisson batch is a step too: its update is the noise alone. Per-example gradients come from
/// <see cref="PerExampleGradients"/> (one forward and one backward per step, never one per example).
/// </summary>
internal static class DpSgd
{
    /// <summary>Added to the norm before dividing, as Opacus does, so a zero gradient does not divide by zero.</summary>
    internal const double NormEpsilon = 1e-6;

    internal static (float[] Parameters, double Loss, RecordPrivacySpend Spend) Train(ModelSpec spec, float[] initial, TabularDataset data, TrainingSettings settings)
    {
        var privacy = settings.RecordPrivacy ?? throw new InvalidOperationException("DP-SGD needs RecordPrivacy settings.");
        using var scope = NewDisposeScope();
        var n = data.RowCount;
        var x = tensor(data.RawFeatures, [n, data.FeatureCount], ScalarType.Float32);
        var y = tensor(TorchModel.ToInt64(data.RawLabels), [n], ScalarType.Int64);
        var theta = tensor(initial, [initial.Length], ScalarType.Float32).requires_grad_(true);
        var optimizer = new Optimizer(theta, settings);
        using var dropout = spec.Dropout > 0 ? new TorchSharp.torch.Generator(unchecked((ulong)settings.Seed) ^ 0x5DEECE66DUL) : null;

        var (clip, q) = (privacy.ClipNorm, privacy.SamplingRate);
        var noiseStd = privacy.NoiseMultiplier * clip;
        var expectedBatch = q * n;
        var stepsPerEpoch = privacy.StepsPerEpoch;
        var uniforms = new double[n];
        var selected = new long[n];
        var noise = new float[initial.Length];
        long steps = 0;
        double lossSum = 0;
        long lossRows = 0;
        for (var epoch = 0; epoch < settings.Epochs; epoch++)
        {
            lossSum = 0;
            lossRows = 0;
            for (var s = 0; s < stepsPerEpoch; s++)
            {
                using var step = NewDisposeScope();
                var count = PoissonSample(privacy.Random, q, uniforms, selected);
                Tensor sum;
                if (count > 0)
                {
                    var index = tensor(selected.AsSpan(0, count).ToArray(), [count], ScalarType.Int64);
                    var batch = PerExampleGradients.Compute(spec, theta, x.index_select(0, index), y.index_select(0, index), dropout);
                    if (!double.IsFinite(batch.LossSum))
                    {
                        throw new ArithmeticException(
                            $"Local training diverged (non-finite loss in epoch {epoch + 1}); lower the learning rate (now {settings.LearningRate}).");
                    }

                    lossSum += batch.LossSum;
                    lossRows += count;
                    using var noGrad = no_grad();
                    var factors = ClipFactors(batch.SquaredNorms(), clip);
                    sum = batch.ClippedSum(factors);
                }
                else
                {
                    sum = zeros(initial.Length, ScalarType.Float32);
                }

                using (no_grad())
                {
                    if (noiseStd > 0)
                    {
                        PrivacyDraws.Normals(privacy.Random, noise, noiseStd);
                        sum.add_(tensor(noise, [noise.Length], ScalarType.Float32));
                    }

                    sum.div_(expectedBatch);
                    optimizer.Step(theta, sum);
                }

                steps++;
            }
        }

        Array.Clear(noise);
        var result = theta.detach().data<float>().ToArray();
        if (ParameterVector.IndexOfNonFinite(result) >= 0)
        {
            throw new ArithmeticException($"Local training diverged (non-finite parameters); lower the learning rate (now {settings.LearningRate}).");
        }

        var loss = lossRows > 0 ? lossSum / lossRows : double.NaN;
        return (result, loss, new RecordPrivacySpend(steps, q, privacy.NoiseMultiplier, clip));
    }

    /// <summary>min(1, C / (norm + 1e-6)) per example, from the squared norms [B].</summary>
    internal static Tensor ClipFactors(Tensor squaredNorms, double clip) =>
        squaredNorms.sqrt().add_(NormEpsilon).reciprocal_().mul_(clip).clamp_max_(1.0);

    /// <summary>Selects every row independently with probability <paramref name="q"/>; the chosen row indices go to <paramref name="selected"/>.</summary>
    internal static int PoissonSample(IRecordPrivacyRandom random, double q, double[] uniforms, long[] selected)
    {
        PrivacyDraws.Uniforms(random, uniforms);
        var count = 0;
        for (var i = 0; i < uniforms.Length; i++)
        {
            if (uniforms[i] < q)
            {
                selected[count++] = i;
            }
        }

        return count;
    }
}
