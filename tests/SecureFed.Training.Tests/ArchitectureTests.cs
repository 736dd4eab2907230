namespace SecureFed.Training.Tests;

/// <summary>The architectures a study declares (deep mlp, cnn), the optimizers and dropout, trained for real.</summary>
public sealed class ArchitectureTests
{
    [Fact]
    public void Convolutional_ParameterLayout_FollowsTheLayers()
    {
        // 1x8x8 -> conv 4 k3 p1 -> 4x8x8 -> pool 2 -> 4x4x4 -> conv 6 k3 -> 6x2x2 -> flatten 24 -> dense 5 -> 3 classes.
        var spec = ModelSpec.Convolutional(new ImageShape(1, 8, 8), [new ConvBlock(4, 3, Padding: 1, Pool: 2), new ConvBlock(6, 3)], [5], 3);

        var expected = ((4 * 1 * 9) + 4) + ((6 * 4 * 9) + 6) + ((24 * 5) + 5) + ((5 * 3) + 3);
        Assert.Equal(expected, spec.ParameterCount);
        Assert.Equal(64, spec.InputDim);
        Assert.Equal(24, spec.Layers.OfType<FlattenLayer>().Single().Features);
        Assert.Equal(expected, ModelFactory.InitialParameters(spec, 1).Length);
    }

    [Fact]
    public void Perceptron_OneHiddenLayer_IsTheLegacyMlp()
    {
        var legacy = new ModelSpec(ModelSpec.Mlp, 30, 2, 8);
        var declared = ModelSpec.Perceptron(30, 2, [8]);

        Assert.Equal(legacy.ParameterCount, declared.ParameterCount);
        Assert.Equal(ModelFactory.InitialParameters(legacy, 3), ModelFactory.InitialParameters(declared, 3));
    }

    [Theory]
    [InlineData(4, 5, 0, 1)] // kernel larger than the 4x4 map
    [InlineData(4, 3, 0, 4)] // pool larger than the 2x2 map
    [InlineData(4, 3, 3, 1)] // padding >= kernel
    public void Convolutional_LayersThatDoNotFit_AreRefused(int side, int kernel, int padding, int pool)
    {
        Assert.ThrowsAny<ArgumentException>(() =>
            ModelSpec.Convolutional(new ImageShape(1, side, side), [new ConvBlock(2, kernel, Padding: padding, Pool: pool)], [], 2));
    }

    [Fact]
    public void Convolutional_TrainsOnImagesItCanSeparate()
    {
        var (train, test) = Quadrants(600, seed: 1);
        var spec = ModelSpec.Convolutional(new ImageShape(1, 8, 8), [new ConvBlock(4, 3, Padding: 1, Pool: 2)], [16], 4);
        var initial = ModelFactory.InitialParameters(spec, 7);
        var before = Evaluator.Evaluate(spec, initial, test);

        var result = LocalTrainer.Train(spec, initial, train, new TrainingSettings { Epochs = 4, BatchSize = 16, LearningRate = 0.05, Momentum = 0.9, Seed = 3 });
        var after = Evaluator.Evaluate(spec, result.NewParameters, test);

        Assert.True(after.Accuracy > 0.95, $"accuracy {after.Accuracy} (before {before.Accuracy})");
        Assert.True(after.Loss < before.Loss / 4, $"loss {after.Loss} vs {before.Loss}");
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    public void DeepPerceptron_WithAdam_LearnsEveryActivation(Activation activation)
    {
        var (train, test) = Flat(Quadrants(600, seed: 2));
        var spec = ModelSpec.Perceptron(64, 4, [16, 8], activation);

        var result = LocalTrainer.Train(spec, ModelFactory.InitialParameters(spec, 5), train,
            new TrainingSettings { Epochs = 5, BatchSize = 16, LearningRate = 0.01, Optimizer = TrainingSettings.Adam, Seed = 4 });

        Assert.True(Evaluator.Evaluate(spec, result.NewParameters, test).Accuracy > 0.9);
    }

    [Fact]
    public void Dropout_IsSeededAndOnlyActiveInTraining()
    {
        var (train, test) = Flat(Quadrants(200, seed: 3));
        var spec = ModelSpec.Perceptron(64, 4, [16], Activation.Relu, dropout: 0.5);
        var initial = ModelFactory.InitialParameters(spec, 5);
        TrainingSettings Settings(int seed) => new() { Epochs = 1, BatchSize = 16, LearningRate = 0.05, Seed = seed };

        var a = LocalTrainer.Train(spec, initial, train, Settings(1));
        var b = LocalTrainer.Train(spec, initial, train, Settings(1));
        var c = LocalTrainer.Train(spec, initial, train, Settings(2));

        Assert.Equal(a.NewParameters, b.NewParameters);
        Assert.NotEqual(a.NewParameters, c.NewParameters);

        // At inference dropout is the identity: the same parameters give the same evaluation every time.
        Assert.Equal(Evaluator.Evaluate(spec, a.NewParameters, test), Evaluator.Evaluate(spec, a.NewParameters, test));
    }

    [Fact]
    public void WeightDecay_ShrinksTheParameters()
    {
        var (train, _) = Flat(Quadrants(200, seed: 4));
        var spec = ModelSpec.LogisticRegression(64, 4);
        var initial = ModelFactory.InitialParameters(spec, 5);
        var plain = LocalTrainer.Train(spec, initial, train, new TrainingSettings { Epochs = 3, LearningRate = 0.1, Seed = 1 });
        var decayed = LocalTrainer.Train(spec, initial, train, new TrainingSettings { Epochs = 3, LearningRate = 0.1, WeightDecay = 0.2, Seed = 1 });

        Assert.True(Norm(decayed.NewParameters) < 0.9 * Norm(plain.NewParameters), $"{Norm(decayed.NewParameters)} vs {Norm(plain.NewParameters)}");
    }

    [Fact]
    public void Probabilities_AreTheSoftmaxOfTheModel()
    {
        var (_, test) = Flat(Quadrants(100, seed: 5));
        var spec = ModelSpec.Perceptron(64, 4, [8]);
        var parameters = ModelFactory.InitialParameters(spec, 2);

        var p = Evaluator.Probabilities(spec, parameters, test.RawFeatures.ToArray(), test.RowCount);
        var counts = Evaluator.Count(spec, parameters, test);

        Assert.Equal(test.RowCount * 4, p.Length);
        long correct = 0;
        for (var r = 0; r < test.RowCount; r++)
        {
            var row = p.AsSpan(r * 4, 4);
            Assert.Equal(1.0, row.ToArray().Sum(x => (double)x), 4);
            correct += row.IndexOf(row.ToArray().Max()) == test.RawLabels[r] ? 1 : 0;
        }

        Assert.Equal(counts.Correct, correct);
    }

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    private static (TabularDataset Train, TabularDataset Test) Flat((TabularDataset Train, TabularDataset Test) d) => d;

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
            for (var y = 0; y < 8; y++)
            {
                for (var x = 0; x < 8; x++)
                {
                    var inside = (y / 4 * 2) + (x / 4) == q;
                    features[(r * 64) + (y * 8) + x] = (float)((inside ? 1.0 : 0.0) + (0.3 * ((random.NextDouble() * 2) - 1)));
                }
            }
        }

        var names = Enumerable.Range(1, 64).Select(i => $"pixel{i}").ToArray();
        var all = new TabularDataset("quadrants", names, features, labels, 4);
        var cut = rows * 3 / 4;
        return (all.Subset([.. Enumerable.Range(0, cut)], "train"), all.Subset([.. Enumerable.Range(cut, rows - cut)], "test"));
    }
}
