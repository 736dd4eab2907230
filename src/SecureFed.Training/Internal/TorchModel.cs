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

    /// <summary>One parameterised layer's step of a forward pass (its input and output, still on the autograd graph).</summary>
    internal sealed record LayerTrace(ModelLayer Layer, Tensor Input, Tensor Output);

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
        var optimizer = new Optimizer(theta, settings);
        var lr = settings.LearningRate;
        using var dropout = spec.Dropout > 0 ? new TorchSharp.torch.Generator(unchecked((ulong)settings.Seed) ^ 0x5DEECE66DUL) : null;

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
                var logits = Forward(spec, theta, x.index_select(0, index), dropout);
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
                    optimizer.Step(theta, grad);
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
        var chunk = ChunkRows(spec);
        for (var start = 0; start < n; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            var size = Math.Min(chunk, n - start);
            var x = tensor(data.RawFeatures.AsSpan(start * cols, size * cols).ToArray(), [size, cols], ScalarType.Float32);
            var y = tensor(ToInt64(data.RawLabels.AsSpan(start, size)), [size], ScalarType.Int64);
            var logits = Forward(spec, theta, x, null);
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

    /// <summary>The class probabilities of rows already encoded as the model's input (softmax of the logits), row-major [n, C].</summary>
    internal static float[] Probabilities(ModelSpec spec, float[] parameters, float[] inputs, int rows)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var theta = tensor(parameters, [parameters.Length], ScalarType.Float32);
        var result = new float[checked(rows * spec.ClassCount)];
        var chunk = ChunkRows(spec);
        for (var start = 0; start < rows; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            var size = Math.Min(chunk, rows - start);
            var x = tensor(inputs.AsSpan(start * spec.InputDim, size * spec.InputDim).ToArray(), [size, spec.InputDim], ScalarType.Float32);
            var p = nn.functional.softmax(Forward(spec, theta, x, null), 1).data<float>().ToArray();
            p.CopyTo(result, start * spec.ClassCount);
        }

        return result;
    }

    /// <summary>Rows per evaluation chunk: up to <see cref="EvaluationChunk"/>, fewer when one row's widest activation is large.</summary>
    private static int ChunkRows(ModelSpec spec)
    {
        long widest = spec.InputDim;
        if (spec.InputShape is { } shape)
        {
            var (h, w) = ((long)shape.Height, (long)shape.Width);
            foreach (var layer in spec.Layers)
            {
                switch (layer)
                {
                    case ConvLayer c:
                        h = ((h + (2 * c.Padding) - c.Kernel) / c.Stride) + 1;
                        w = ((w + (2 * c.Padding) - c.Kernel) / c.Stride) + 1;
                        widest = Math.Max(widest, c.OutChannels * h * w);
                        break;
                    case MaxPoolLayer p:
                        h /= p.Size;
                        w /= p.Size;
                        break;
                }
            }
        }

        return (int)Math.Clamp((1L << 24) / Math.Max(1, widest), 16, EvaluationChunk);
    }

    /// <summary>
    /// The logits of <paramref name="input"/> [n, InputDim]; <paramref name="dropout"/> non-null means training mode. A
    /// non-null <paramref name="trace"/> receives every parameterised layer's input and output (DP-SGD's per-example gradients).
    /// </summary>
    internal static Tensor Forward(ModelSpec spec, Tensor theta, Tensor input, TorchSharp.torch.Generator? dropout, List<LayerTrace>? trace = null)
    {
        var h = input;
        long offset = 0;
        foreach (var layer in spec.Layers)
        {
            switch (layer)
            {
                case ImageInputLayer image:
                    h = h.view(-1, image.Shape.Channels, image.Shape.Height, image.Shape.Width);
                    break;
                case ConvLayer c:
                    {
                        var weight = theta.narrow(0, offset, c.WeightCount).view(c.OutChannels, c.InChannels, c.Kernel, c.Kernel);
                        offset += c.WeightCount;
                        var bias = theta.narrow(0, offset, c.OutChannels);
                        offset += c.OutChannels;
                        var output = nn.functional.conv2d(h, weight, bias, strides: [c.Stride, c.Stride], padding: [c.Padding, c.Padding]);
                        trace?.Add(new LayerTrace(c, h, output));
                        h = output;
                        break;
                    }

                case DenseLayer d:
                    {
                        var weight = theta.narrow(0, offset, d.WeightCount).view(d.Out, d.In);
                        offset += d.WeightCount;
                        var bias = theta.narrow(0, offset, d.Out);
                        offset += d.Out;
                        var output = nn.functional.linear(h, weight, bias);
                        trace?.Add(new LayerTrace(d, h, output));
                        h = output;
                        break;
                    }

                case ActivationLayer a:
                    h = a.Function switch
                    {
                        Activation.Relu => nn.functional.relu(h),
                        Activation.Tanh => h.tanh(),
                        Activation.Sigmoid => h.sigmoid(),
                        _ => throw new InvalidOperationException($"unknown activation {a.Function}"),
                    };
                    break;
                case MaxPoolLayer p:
                    h = nn.functional.max_pool2d(h, [p.Size, p.Size], [p.Size, p.Size]);
                    break;
                case FlattenLayer:
                    h = h.flatten(1);
                    break;
                case DropoutLayer drop when dropout is not null:
                    {
                        // Inverted dropout with a seeded generator, so training stays deterministic.
                        var keep = rand(h.shape, ScalarType.Float32, generator: dropout).ge_(drop.Rate).to_type(ScalarType.Float32);
                        h = h.mul(keep).div_(1 - drop.Rate);
                        break;
                    }

                case DropoutLayer:
                    break;
                default:
                    throw new InvalidOperationException($"unknown layer {layer}");
            }
        }

        return h;
    }

    internal static long[] ToInt64(ReadOnlySpan<int> values)
    {
        var result = new long[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            result[i] = values[i];
        }

        return result;
    }
}
