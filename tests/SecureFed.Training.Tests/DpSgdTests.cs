using SecureFed.Training.Internal;
using static TorchSharp.torch;

namespace SecureFed.Training.Tests;

/// <summary>Record-level DP-SGD: per-example gradients, clipping, noise, Poisson sampling, accounting and learning.</summary>
public sealed class DpSgdTests
{
    public DpSgdTests() => TorchRuntime.EnsureInitialized(threads: 1);

    public static TheoryData<string> Models => ["logreg", "mlp2", "cnn"];

    [Theory]
    [MemberData(nameof(Models))]
    public void PerExampleGradients_EqualOneBackwardPassPerExample(string model)
    {
        var spec = Spec(model);
        var parameters = ModelFactory.InitialParameters(spec, 11);
        var (features, labels) = RandomBatch(spec, rows: 7, seed: 3);
        using var scope = NewDisposeScope();
        var x = tensor(features, [7, spec.InputDim]);
        var y = tensor(labels, [7]);
        var theta = tensor(parameters).requires_grad_(true);

        var batch = PerExampleGradients.Compute(spec, theta, x, y, null);
        var perExample = batch.Materialize();
        var naive = Naive(spec, parameters, x, y);

        Assert.Equal(new long[] { 7, spec.ParameterCount }, perExample.shape);
        Assert.True(MaxAbs(perExample - naive) < 1e-5, $"max difference {MaxAbs(perExample - naive)}");

        // Their sum is the ordinary batch gradient, and the loss is the batch's summed cross-entropy.
        var full = tensor(parameters).requires_grad_(true);
        var loss = nn.functional.cross_entropy(TorchModel.Forward(spec, full, x, null), y, reduction: nn.Reduction.Sum);
        loss.backward();
        Assert.True(MaxAbs(perExample.sum(dim: 0) - full.grad!) < 1e-5, $"sum differs by {MaxAbs(perExample.sum(dim: 0) - full.grad!)}");
        Assert.Equal(loss.item<float>(), batch.LossSum, 4);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void NormsAndClippedSum_WithoutMaterializing_MatchTheNaiveGradients(string model)
    {
        var spec = Spec(model);
        var parameters = ModelFactory.InitialParameters(spec, 12);
        var (features, labels) = RandomBatch(spec, rows: 9, seed: 4);
        using var scope = NewDisposeScope();
        var x = tensor(features, [9, spec.InputDim]);
        var y = tensor(labels, [9]);
        var naive = Naive(spec, parameters, x, y);
        var naiveNorms = naive.square().sum(1);

        var batch = PerExampleGradients.Compute(spec, tensor(parameters).requires_grad_(true), x, y, null);
        using var noGrad = no_grad();
        var norms = batch.SquaredNorms();
        // A clip between the smallest and the largest norm, so some examples are clipped and some are not.
        var clip = naiveNorms.sqrt().median().item<float>();
        var factors = DpSgd.ClipFactors(norms, clip);
        var clipped = batch.ClippedSum(factors);

        Assert.True(MaxAbs((norms - naiveNorms) / naiveNorms) < 1e-4, $"relative norm error {MaxAbs((norms - naiveNorms) / naiveNorms)}");
        var expectedFactors = (clip / (naiveNorms.sqrt() + 1e-6)).clamp_max(1);
        Assert.True(MaxAbs(factors - expectedFactors) < 1e-5);
        Assert.True(factors.lt(1).any().item<bool>() && factors.eq(1).any().item<bool>());
        var expected = (naive * expectedFactors.unsqueeze(1)).sum(dim: 0);
        Assert.True(MaxAbs(clipped - expected) < 1e-5, $"clipped sum differs by {MaxAbs(clipped - expected)}");

        // Every clipped example is within C.
        var clippedNorms = (naive * expectedFactors.unsqueeze(1)).square().sum(1).sqrt();
        Assert.True(clippedNorms.max().item<float>() <= clip * (1 + 1e-5));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Train_NoNoiseAllRows_EachStepMovesAtMostLrTimesClip(int epochs)
    {
        // q = 1: every step uses all n rows, so the bound lr C batch / (q n) is lr C per step.
        var (train, _) = Separable(400, seed: 1);
        var spec = ModelSpec.Perceptron(train.FeatureCount, 2, [8, 4]);
        var initial = ModelFactory.InitialParameters(spec, 2);
        const double lr = 0.5;
        const double clip = 0.01;
        var privacy = new RecordPrivacySettings { ClipNorm = clip, NoiseMultiplier = 0, SamplingRate = 1, Random = RecordPrivacyRandom.Seeded(1) };

        var current = initial;
        for (var e = 0; e < epochs; e++)
        {
            var result = LocalTrainer.Train(spec, current, train, new TrainingSettings { LearningRate = lr, RecordPrivacy = privacy });
            var step = Norm(result.Delta);
            Assert.True(step <= lr * clip * (1 + 1e-4), $"step {e}: |delta| = {step} > lr C = {lr * clip}");
            Assert.True(step > 0);
            current = result.NewParameters;
        }

        // The bound bites: the unclipped full-batch gradient step is far larger.
        var plain = LocalTrainer.Train(spec, initial, train, new TrainingSettings { LearningRate = lr, BatchSize = train.RowCount });
        Assert.True(Norm(plain.Delta) > 10 * lr * clip, $"unclipped step {Norm(plain.Delta)}");
    }

    [Fact]
    public void Train_SeededSource_IsDeterministicAndTheSeedMatters()
    {
        var (train, _) = Separable(300, seed: 2);
        var spec = ModelSpec.LogisticRegression(train.FeatureCount, 2);
        var initial = ModelFactory.InitialParameters(spec, 1);
        TrainingSettings Settings(IRecordPrivacyRandom random) => new()
        {
            Epochs = 2,
            LearningRate = 0.2,
            Momentum = 0.5,
            RecordPrivacy = new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 1, SamplingRate = 0.1, Random = random },
        };

        var a = LocalTrainer.Train(spec, initial, train, Settings(RecordPrivacyRandom.Seeded(7)));
        var b = LocalTrainer.Train(spec, initial, train, Settings(RecordPrivacyRandom.Seeded(7)));
        var c = LocalTrainer.Train(spec, initial, train, Settings(RecordPrivacyRandom.Seeded(8)));
        var secure1 = LocalTrainer.Train(spec, initial, train, Settings(RecordPrivacyRandom.Secure));
        var secure2 = LocalTrainer.Train(spec, initial, train, Settings(RecordPrivacyRandom.Secure));

        Assert.Equal(a.NewParameters, b.NewParameters);
        Assert.NotEqual(a.NewParameters, c.NewParameters);
        Assert.NotEqual(secure1.NewParameters, secure2.NewParameters);
    }

    [Fact]
    public void Train_Noise_HasStandardDeviationSigmaCOverExpectedBatch()
    {
        // One plain-SGD step with q = 1 and lr = 1: the noisy run minus the noiseless run is -noise / (q n) exactly.
        var (train, _) = Separable(50, seed: 3);
        var spec = ModelSpec.Perceptron(train.FeatureCount, 2, [200, 20]);
        var initial = ModelFactory.InitialParameters(spec, 4);
        const double sigma = 2;
        const double clip = 0.5;
        TrainingSettings Settings(double noise) => new()
        {
            LearningRate = 1,
            RecordPrivacy = new RecordPrivacySettings { ClipNorm = clip, NoiseMultiplier = noise, SamplingRate = 1, Random = RecordPrivacyRandom.Seeded(5) },
        };

        var noisy = LocalTrainer.Train(spec, initial, train, Settings(sigma));
        var clean = LocalTrainer.Train(spec, initial, train, Settings(0));
        var noise = noisy.NewParameters.Zip(clean.NewParameters, (p, r) => (double)p - r).ToArray();

        AssertStandardNormal(noise, sigma * clip / train.RowCount);
    }

    [Fact]
    public void Normals_FromTheSecureSource_HaveTheRequestedSpread()
    {
        var samples = new float[20_000];
        PrivacyDraws.Normals(RecordPrivacyRandom.Secure, samples, 3.0);

        AssertStandardNormal([.. samples.Select(s => (double)s)], 3.0);
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.5)]
    public void PoissonSample_BatchSizesAverageQn(double q)
    {
        const int n = 400;
        const int draws = 2000;
        var random = RecordPrivacyRandom.Seeded(9);
        var (uniforms, selected) = (new double[n], new long[n]);
        var sizes = new double[draws];
        var hits = new int[n];
        for (var d = 0; d < draws; d++)
        {
            var count = DpSgd.PoissonSample(random, q, uniforms, selected);
            sizes[d] = count;
            for (var i = 0; i < count; i++)
            {
                hits[selected[i]]++;
            }
        }

        // Binomial(n, q): the mean of `draws` sizes has standard error sqrt(n q (1 - q) / draws); 6 of them.
        var variance = n * q * (1 - q);
        var mean = sizes.Average();
        Assert.True(Math.Abs(mean - (n * q)) < 6 * Math.Sqrt(variance / draws), $"mean batch {mean}, expected {n * q}");
        var sampleVariance = sizes.Sum(s => (s - mean) * (s - mean)) / (draws - 1);
        Assert.True(Math.Abs((sampleVariance / variance) - 1) < 6 * Math.Sqrt(2.0 / draws), $"variance {sampleVariance}, expected {variance}");
        // Rows are chosen independently of their position: first and second half are hit equally often.
        var (first, second) = (hits.Take(n / 2).Sum(), hits.Skip(n / 2).Sum());
        Assert.True(Math.Abs(first - second) < 6 * Math.Sqrt(2 * (n / 2) * draws * q * (1 - q)), $"{first} vs {second}");
    }

    [Fact]
    public void Train_SeparableData_LearnsUnderNoise()
    {
        var (train, test) = Separable(2000, seed: 4);
        var spec = ModelSpec.LogisticRegression(train.FeatureCount, 2);
        var initial = ModelFactory.InitialParameters(spec, 3);
        var settings = new TrainingSettings
        {
            Epochs = 2,
            LearningRate = 0.5,
            RecordPrivacy = new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 0.5, SamplingRate = 0.1, Random = RecordPrivacyRandom.Seeded(2) },
        };

        var before = Evaluator.Evaluate(spec, initial, test).Accuracy;
        var result = LocalTrainer.Train(spec, initial, train, settings);
        var after = Evaluator.Evaluate(spec, result.NewParameters, test).Accuracy;

        Assert.True(after > 0.9, $"accuracy {after} (before {before})");
        Assert.True(double.IsFinite(result.TrainLoss));
    }

    [Fact]
    public void Train_Cnn_LearnsUnderNoise()
    {
        var (train, test) = Quadrants(400, seed: 5);
        var spec = ModelSpec.Convolutional(new ImageShape(1, 8, 8), [new ConvBlock(4, 3, Padding: 1, Pool: 2)], [16], 4);
        var initial = ModelFactory.InitialParameters(spec, 7);
        var settings = new TrainingSettings
        {
            Epochs = 4,
            LearningRate = 0.5,
            Momentum = 0.5,
            RecordPrivacy = new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 0.5, SamplingRate = 0.1, Random = RecordPrivacyRandom.Seeded(3) },
        };

        var result = LocalTrainer.Train(spec, initial, train, settings);

        Assert.True(Evaluator.Evaluate(spec, result.NewParameters, test).Accuracy > 0.9);
    }

    [Theory]
    [InlineData(0.1, 1, 10)]
    [InlineData(0.1, 2, 20)]
    [InlineData(0.3, 2, 6)] // round(3.33) = 3
    [InlineData(0.15, 1, 7)] // round(6.67) = 7
    [InlineData(1.0, 3, 3)]
    public void Train_CountsEpochsTimesRoundedInverseRate(double q, int epochs, long steps)
    {
        var (train, _) = Separable(60, seed: 6);
        var spec = ModelSpec.LogisticRegression(train.FeatureCount, 2);
        var privacy = new RecordPrivacySettings { ClipNorm = 2, NoiseMultiplier = 1.1, SamplingRate = q, Random = RecordPrivacyRandom.Seeded(1) };

        var result = LocalTrainer.Train(spec, ModelFactory.InitialParameters(spec, 1), train, new TrainingSettings { Epochs = epochs, RecordPrivacy = privacy });

        Assert.Equal(new RecordPrivacySpend(steps, q, 1.1, 2), result.RecordPrivacy);
    }

    [Fact]
    public void Train_EmptyPoissonBatches_AreNoiseOnlySteps()
    {
        // Six rows at q = 0.02: 50 steps, most of them on no rows at all.
        var (train, _) = Separable(8, seed: 7);
        var spec = ModelSpec.LogisticRegression(train.FeatureCount, 2);
        var initial = ModelFactory.InitialParameters(spec, 1);
        RecordPrivacySettings Privacy(double sigma) => new() { ClipNorm = 1, NoiseMultiplier = sigma, SamplingRate = 0.02, Random = RecordPrivacyRandom.Seeded(4) };

        var noisy = LocalTrainer.Train(spec, initial, train, new TrainingSettings { LearningRate = 0.01, RecordPrivacy = Privacy(1) });
        var silent = LocalTrainer.Train(spec, initial, train, new TrainingSettings { LearningRate = 0.01, RecordPrivacy = Privacy(0) });

        Assert.Equal(50, noisy.RecordPrivacy!.Steps);
        Assert.Contains(noisy.Delta, d => d != 0f);
        Assert.All(noisy.NewParameters, p => Assert.True(float.IsFinite(p)));
        Assert.Equal(50, silent.RecordPrivacy!.Steps);
        Assert.NotEqual(noisy.NewParameters, silent.NewParameters);
    }

    [Fact]
    public void Train_WithoutRecordPrivacy_ReportsNoSpendAndIgnoresNothing()
    {
        var (train, _) = Separable(100, seed: 8);
        var spec = ModelSpec.LogisticRegression(train.FeatureCount, 2);
        var initial = ModelFactory.InitialParameters(spec, 1);
        var settings = new TrainingSettings { Epochs = 2, LearningRate = 0.1, Seed = 3 };

        var a = LocalTrainer.Train(spec, initial, train, settings);
        var b = LocalTrainer.Train(spec, initial, train, settings with { RecordPrivacy = null });

        Assert.Null(settings.RecordPrivacy);
        Assert.Null(a.RecordPrivacy);
        Assert.Equal(a.NewParameters, b.NewParameters);
    }

    public static TheoryData<RecordPrivacySettings, string> InvalidPrivacy => new()
    {
        { new RecordPrivacySettings { ClipNorm = 0, NoiseMultiplier = 1, SamplingRate = 0.1 }, "ClipNorm" },
        { new RecordPrivacySettings { ClipNorm = double.NaN, NoiseMultiplier = 1, SamplingRate = 0.1 }, "ClipNorm" },
        { new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = -0.1, SamplingRate = 0.1 }, "NoiseMultiplier" },
        { new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 0, SamplingRate = 0.1 }, "NoiseMultiplier" },
        { new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 1, SamplingRate = 0 }, "SamplingRate" },
        { new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 1, SamplingRate = 1.5 }, "SamplingRate" },
        { new RecordPrivacySettings { ClipNorm = 1, NoiseMultiplier = 1, SamplingRate = 0.1, Random = null! }, "Random" },
    };

    [Theory]
    [MemberData(nameof(InvalidPrivacy))]
    public void Validate_OutOfRangeRecordPrivacy_NamesTheSetting(RecordPrivacySettings privacy, string name)
    {
        var settings = new TrainingSettings { RecordPrivacy = privacy };

        var error = Assert.ThrowsAny<ArgumentException>(settings.Validate);
        Assert.Equal(name, error.ParamName);
    }

    [Fact]
    public void SamplingRateFor_IsExpectedBatchOverRowsCappedAtOne()
    {
        Assert.Equal(0.064, RecordPrivacySettings.SamplingRateFor(64, 1000), 12);
        Assert.Equal(1.0, RecordPrivacySettings.SamplingRateFor(64, 10));
    }

    /// <summary>Mean 0, standard deviation <paramref name="std"/> and the normal's 68% inside one sd, each to 6 standard errors.</summary>
    private static void AssertStandardNormal(double[] values, double std)
    {
        var n = values.Length;
        var mean = values.Average();
        var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        var inside = values.Count(v => Math.Abs(v) < std) / (double)n;
        Assert.True(Math.Abs(mean) < 6 * std / Math.Sqrt(n), $"mean {mean}");
        // The sample sd of n normals has relative standard error about 1 / sqrt(2 n).
        Assert.True(Math.Abs((sd / std) - 1) < 6 / Math.Sqrt(2.0 * n), $"sd {sd}, expected {std}");
        const double p = 0.682689492;
        Assert.True(Math.Abs(inside - p) < 6 * Math.Sqrt(p * (1 - p) / n), $"{inside} within one sd");
    }

    /// <summary>One backward pass per example: row i is the gradient of example i's cross-entropy alone.</summary>
    private static Tensor Naive(ModelSpec spec, float[] parameters, Tensor x, Tensor y)
    {
        var rows = new List<Tensor>();
        for (var i = 0; i < x.shape[0]; i++)
        {
            var theta = tensor(parameters).requires_grad_(true);
            var loss = nn.functional.cross_entropy(TorchModel.Forward(spec, theta, x.narrow(0, i, 1), null), y.narrow(0, i, 1));
            loss.backward();
            rows.Add(theta.grad!.clone());
        }

        return stack(rows);
    }

    private static ModelSpec Spec(string model) => model switch
    {
        "logreg" => ModelSpec.LogisticRegression(12, 3),
        "mlp2" => ModelSpec.Perceptron(12, 3, [10, 6], Activation.Tanh),
        // 2x7x7 -> conv 3 k3 s2 p1 -> 3x4x4 -> conv 4 k3 p1 -> 4x4x4 -> pool 2 -> 4x2x2 -> dense 5 -> 3 classes.
        "cnn" => ModelSpec.Convolutional(new ImageShape(2, 7, 7), [new ConvBlock(3, 3, Stride: 2, Padding: 1), new ConvBlock(4, 3, Padding: 1, Pool: 2)], [5], 3),
        _ => throw new ArgumentException(model, nameof(model)),
    };

    private static (float[] Features, long[] Labels) RandomBatch(ModelSpec spec, int rows, int seed)
    {
        var random = new Random(seed);
        var features = new float[rows * spec.InputDim];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = (float)((random.NextDouble() * 4) - 2);
        }

        return (features, [.. Enumerable.Range(0, rows).Select(_ => (long)random.Next(spec.ClassCount))]);
    }

    private static double MaxAbs(Tensor t) => t.abs().max().item<float>();

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    /// <summary>Two Gaussian classes 3 standard deviations apart along every one of 10 features; 3/4 train, 1/4 test.</summary>
    private static (TabularDataset Train, TabularDataset Test) Separable(int rows, int seed)
    {
        const int features = 10;
        var random = new Random(seed);
        var x = new float[rows * features];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = r % 2;
            for (var f = 0; f < features; f++)
            {
                var z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                x[(r * features) + f] = (float)(z + (labels[r] == 1 ? 1.5 : -1.5));
            }
        }

        var all = new TabularDataset("separable", [.. Enumerable.Range(1, features).Select(i => $"f{i}")], x, labels, 2);
        var cut = Math.Max(2, rows * 3 / 4);
        return (all.Subset([.. Enumerable.Range(0, cut)], "train"), all.Subset([.. Enumerable.Range(cut, rows - cut)], "test"));
    }

    /// <summary>8x8 noise images with one bright 4x4 quadrant; the class is the quadrant.</summary>
    private static (TabularDataset Train, TabularDataset Test) Quadrants(int rows, int seed)
    {
        var random = new Random(seed);
        var features = new float[rows * 64];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            var q = random.Next(4);
            labels[r] = q;
            for (var i = 0; i < 64; i++)
            {
                var inside = (i / 8 / 4 * 2) + (i % 8 / 4) == q;
                features[(r * 64) + i] = (float)((inside ? 1.0 : 0.0) + (0.3 * ((random.NextDouble() * 2) - 1)));
            }
        }

        var all = new TabularDataset("quadrants", [.. Enumerable.Range(1, 64).Select(i => $"pixel{i}")], features, labels, 4);
        var cut = rows * 3 / 4;
        return (all.Subset([.. Enumerable.Range(0, cut)], "train"), all.Subset([.. Enumerable.Range(cut, rows - cut)], "test"));
    }
}
