using static TorchSharp.torch;

namespace SecureFed.Training.Internal;

/// <summary>
/// The forward pass, SGD loop and evaluation over one flat parameter tensor <c>theta</c>: each linear layer's weight and
/// bias are views (narrow + view) into it, in the <see cref="ModelSpec"/> layout, so the gradient arrives as one flat
/// vector and the result is read back without any reshuffling. No torch RNG is used (shuffling is done here with a
/// seeded <see cref="Random"/>), which keeps runs deterministic and concurrent calls independent.
/// Every tensor is created inside a dispose scope; per-step temporaries in an inner scope, so memory stays flat.
/// </summary>
internal static class TorchModel
{
    private const int EvaluationChunk = 8192;

    internal static void CheckData(ModelSpec spec, TabularDataset data)
    {
        if (data.FeatureCount != spec.InputDim)
        {
            throw new ArgumentException($"Dataset '{data.Name}' has {data.FeatureCount} features; the model expects {spec.InputDim}.", nameof(data));
        }

        if (data.ClassCount > spec.ClassCount)
        {
            throw new ArgumentException($"Dataset '{data.Name}' has {data.ClassCount} classes; the model has {spec.ClassCount} outputs.", nameof(data));
        }

        if (data.RowCount == 0)
        {
            throw new ArgumentException($"Dataset '{data.Name}' is empty.", nameof(data));
        }
    }

    internal static (float[] Parameters, double Loss) Train(ModelSpec spec, float[] initial, TabularDataset data, TrainingSettings settings)
    {
        using var scope = NewDisposeScope();
        var n = data.RowCount;
        var x = tensor(data.RawFeatures, [n, data.FeatureCount], ScalarType.Float32);
        var y = tensor(ToInt64(data.RawLabels), [n], ScalarType.Int64);
        var theta = tensor(initial, [initial.Length], ScalarType.Float32).requires_grad_(true);
        var velocity = settings.Momentum > 0 ? zeros_like(theta) : null;
        var lr = settings.LearningRate;
        var momentum = settings.Momentum;

        var order = new long[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var random = new Random(settings.Seed);
        double lossSum = 0;
        for (var epoch = 0; epoch < settings.Epochs; epoch++)
        {
            Sampling.Shuffle(order.AsSpan(), random);
            var last = epoch == settings.Epochs - 1;
            lossSum = 0;
            using var epochScope = NewDisposeScope();
            var permutation = tensor(order, [n], ScalarType.Int64);
            for (var start = 0; start < n; start += settings.BatchSize)
            {
                var size = Math.Min(settings.BatchSize, n - start);
                using var step = NewDisposeScope();
                var index = permutation.narrow(0, start, size);
                var logits = Forward(spec, theta, x.index_select(0, index));
                var loss = nn.functional.cross_entropy(logits, y.index_select(0, index));
                loss.backward();
                var batchLoss = loss.item<float>();
                if (!float.IsFinite(batchLoss))
                {
                    throw new ArithmeticException(
                        $"Local training diverged (non-finite loss in epoch {epoch + 1}); lower the learning rate (now {lr}).");
                }

                if (last)
                {
                    lossSum += batchLoss * (double)size;
                }

                using (no_grad())
                {
                    var grad = theta.grad ?? throw new InvalidOperationException("No gradient was computed.");
                    if (velocity is not null)
                    {
                        velocity.mul_(momentum).add_(grad);
                        theta.add_(velocity, alpha: -lr);
                    }
                    else
                    {
                        theta.add_(grad, alpha: -lr);
                    }

                    grad.zero_();
                }
            }
        }

        var result = theta.detach().data<float>().ToArray();
        if (ParameterVector.IndexOfNonFinite(result) >= 0)
        {
            throw new ArithmeticException($"Local training diverged (non-finite parameters); lower the learning rate (now {lr}).");
        }

        return (result, lossSum / n);
    }

    internal static (long Correct, double LossSum) Evaluate(ModelSpec spec, float[] parameters, TabularDataset data)
    {
        var (correct, lossSum, _) = Evaluate(spec, parameters, data, confusion: false);
        return (correct, lossSum);
    }

    /// <summary>Correct count, loss sum and (optionally) the confusion counts by (true class, predicted class).</summary>
    internal static (long Correct, double LossSum, long[]? Confusion) Evaluate(ModelSpec spec, float[] parameters, TabularDataset data, bool confusion)
    {
        var counts = confusion ? new long[spec.ClassCount * spec.ClassCount] : null;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var n = data.RowCount;
        var cols = data.FeatureCount;
        var theta = tensor(parameters, [parameters.Length], ScalarType.Float32);
        long correct = 0;
        double lossSum = 0;
        for (var start = 0; start < n; start += EvaluationChunk)
        {
            using var chunkScope = NewDisposeScope();
            var size = Math.Min(EvaluationChunk, n - start);
            var x = tensor(data.RawFeatures.AsSpan(start * cols, size * cols).ToArray(), [size, cols], ScalarType.Float32);
            var y = tensor(ToInt64(data.RawLabels.AsSpan(start, size)), [size], ScalarType.Int64);
            var logits = Forward(spec, theta, x);
            lossSum += nn.functional.cross_entropy(logits.to_type(ScalarType.Float64), y, reduction: nn.Reduction.Sum).item<double>();
            var predicted = logits.argmax(1);
            correct += predicted.eq(y).sum().item<long>();
            if (counts is not null)
            {
                var p = predicted.data<long>().ToArray();
                for (var i = 0; i < size; i++)
                {
                    counts[(data.RawLabels[start + i] * spec.ClassCount) + (int)p[i]]++;
                }
            }
        }

        return (correct, lossSum, counts);
    }

    private static Tensor Forward(ModelSpec spec, Tensor theta, Tensor input)
    {
        var layers = spec.Layers;
        var h = input;
        long offset = 0;
        for (var l = 0; l < layers.Count; l++)
        {
            var (fanIn, fanOut) = layers[l];
            var weight = theta.narrow(0, offset, (long)fanIn * fanOut).view(fanOut, fanIn);
            offset += (long)fanIn * fanOut;
            var bias = theta.narrow(0, offset, fanOut);
            offset += fanOut;
            h = nn.functional.linear(h, weight, bias);
            if (l < layers.Count - 1)
            {
                h = nn.functional.relu(h);
            }
        }

        return h;
    }

    private static long[] ToInt64(ReadOnlySpan<int> values)
    {
        var result = new long[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            result[i] = values[i];
        }

        return result;
    }
}
