using TorchSharp;

namespace SecureFed.Training.Tests;

public sealed class TrainingTests
{
    public TrainingTests() => TorchRuntime.EnsureInitialized(threads: 1);

    private static (ModelSpec Spec, TabularDataset Data, float[] Initial) BreastCancerSetup(string kind = ModelSpec.LogReg)
    {
        var data = Standardizer.Fit(TestData.BreastCancer).Apply(TestData.BreastCancer);
        var spec = ModelSpec.For(data, kind);
        return (spec, data, ModelFactory.InitialParameters(spec, 1));
    }

    [Theory]
    [InlineData(ModelSpec.LogReg)]
    [InlineData(ModelSpec.Mlp)]
    public void Train_OneEpochOnBreastCancer_ReducesLoss(string kind)
    {
        var (spec, data, initial) = BreastCancerSetup(kind);
        var before = Evaluator.Evaluate(spec, initial, data);

        var result = LocalTrainer.Train(spec, initial, data, new TrainingSettings { Epochs = 1, LearningRate = 0.1, Seed = 3 });
        var after = Evaluator.Evaluate(spec, result.NewParameters, data);

        Assert.True(after.Loss < before.Loss * 0.5, $"loss {before.Loss:F4} -> {after.Loss:F4}");
        Assert.True(result.TrainLoss < before.Loss, $"train loss {result.TrainLoss:F4} vs initial {before.Loss:F4}");
        Assert.True(after.Accuracy > 0.9);
        Assert.Equal(data.RowCount, result.Examples);
    }

    [Fact]
    public void Train_Result_DeltaIsNewMinusGlobalAndGlobalUntouched()
    {
        var (spec, data, initial) = BreastCancerSetup(ModelSpec.Mlp);
        var copy = (float[])initial.Clone();

        var result = LocalTrainer.Train(spec, initial, data, new TrainingSettings { Epochs = 2, LearningRate = 0.05, Momentum = 0.9, Seed = 5 });

        Assert.Equal(copy, initial);
        Assert.Equal(spec.ParameterCount, result.Delta.Length);
        for (var i = 0; i < initial.Length; i++)
        {
            Assert.Equal(result.NewParameters[i] - initial[i], result.Delta[i]);
        }

        Assert.Contains(result.Delta, d => d != 0f);
    }

    [Fact]
    public void Train_SameSeed_IdenticalResultAndOtherSeedDiffers()
    {
        var (spec, data, initial) = BreastCancerSetup(ModelSpec.Mlp);
        var settings = new TrainingSettings { Epochs = 1, LearningRate = 0.1, Seed = 8 };

        var a = LocalTrainer.Train(spec, initial, data, settings);
        var b = LocalTrainer.Train(spec, initial, data, settings);
        var c = LocalTrainer.Train(spec, initial, data, settings with { Seed = 9 });

        Assert.Equal(a.NewParameters, b.NewParameters);
        Assert.Equal(a.TrainLoss, b.TrainLoss);
        Assert.NotEqual(a.NewParameters, c.NewParameters);
    }

    [Fact]
    public void Train_FiveSilosOnParallelThreads_MatchesSequentialResults()
    {
        var (spec, data, initial) = BreastCancerSetup(ModelSpec.Mlp);
        var silos = Partitioner.Partition(data, 5, PartitionSpec.Iid, seed: 2);
        var settings = new TrainingSettings { Epochs = 2, LearningRate = 0.1, Momentum = 0.5 };

        var sequential = silos.Select((s, i) => LocalTrainer.Train(spec, initial, s, settings with { Seed = i })).ToArray();
        var parallel = new LocalTrainingResult[silos.Count];
        Parallel.For(0, silos.Count, new ParallelOptions { MaxDegreeOfParallelism = 5 }, i =>
            parallel[i] = LocalTrainer.Train(spec, initial, silos[i], settings with { Seed = i }));

        for (var i = 0; i < silos.Count; i++)
        {
            Assert.Equal(sequential[i].NewParameters, parallel[i].NewParameters);
            Assert.Equal(sequential[i].TrainLoss, parallel[i].TrainLoss);
        }
    }

    [Fact]
    public void Train_NaNInGlobalParameters_ThrowsWithoutTraining()
    {
        var (spec, data, initial) = BreastCancerSetup();
        initial[10] = float.NaN;

        var ex = Assert.Throws<ArgumentException>(() => LocalTrainer.Train(spec, initial, data, new TrainingSettings()));

        Assert.Equal("globalParameters", ex.ParamName);
    }

    [Fact]
    public void Train_DataWithOtherFeatureCount_Throws()
    {
        var spec = new ModelSpec(ModelSpec.LogReg, 10, 2);

        var ex = Assert.Throws<ArgumentException>(() =>
            LocalTrainer.Train(spec, ModelFactory.InitialParameters(spec, 0), TestData.BreastCancer, new TrainingSettings()));

        Assert.Contains("30 features", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_HugeFeaturesAndLearningRate_ThrowsDivergenceInsteadOfReturningNonFinite()
    {
        var data = new TabularDataset("huge", ["a", "b"], [1e20f, -1e20f, -1e20f, 1e20f, 3e20f, 1e20f], [0, 1, 0], classCount: 2);
        var spec = ModelSpec.For(data, ModelSpec.LogReg);

        var ex = Assert.Throws<ArithmeticException>(() =>
            LocalTrainer.Train(spec, ModelFactory.InitialParameters(spec, 0), data, new TrainingSettings { Epochs = 5, LearningRate = 100, BatchSize = 1 }));

        Assert.Contains("learning rate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_TwentyRoundsOfFiveSilos_LeavesNoLiveTensors()
    {
        var (spec, data, initial) = BreastCancerSetup(ModelSpec.Mlp);
        var silos = Partitioner.Partition(data, 5, PartitionSpec.Iid, seed: 1);
        LocalTrainer.Train(spec, initial, silos[0], new TrainingSettings()); // warm-up
        Evaluator.Evaluate(spec, initial, data);
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var rssBefore = Environment.WorkingSet;

        var global = initial;
        for (var round = 0; round < 20; round++)
        {
            var deltas = silos.Select((s, i) => LocalTrainer.Train(spec, global, s, new TrainingSettings { Seed = (round * 10) + i }).Delta).ToArray();
            global = global.Select((g, j) => g + deltas.Average(d => d[j])).ToArray();
            Evaluator.Evaluate(spec, global, data);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        var growth = Environment.WorkingSet - rssBefore;
        Assert.True(growth < 64L << 20, $"working set grew by {growth >> 20} MiB over 100 local trainings");
    }

    [Fact]
    public void Evaluate_HandSetLogisticRegression_GivesExactAccuracyAndLoss()
    {
        var spec = new ModelSpec(ModelSpec.LogReg, 2, 2);
        float[] parameters = [1, 0, 0, 1, 0, 0]; // W = I, b = 0: logits = x
        var data = new TabularDataset("known", ["a", "b"], [2, 0, 0, 1, 0, 3], [0, 0, 1], classCount: 2);

        var result = Evaluator.Evaluate(spec, parameters, data);

        // rows: logits (2,0) label 0 right; (0,1) label 0 wrong; (0,3) label 1 right
        var expectedLoss = (Math.Log(1 + Math.Exp(-2)) + Math.Log(1 + Math.Exp(1)) + Math.Log(1 + Math.Exp(-3))) / 3;
        Assert.Equal(2.0 / 3.0, result.Accuracy, 12);
        Assert.Equal(expectedLoss, result.Loss, 5);
        Assert.Equal(3, result.Examples);
    }

    [Fact]
    public void Evaluate_HandSetMlp_UsesDocumentedParameterLayout()
    {
        var spec = new ModelSpec(ModelSpec.Mlp, 2, 2, hidden: 1);
        float[] parameters = [1, -1, 0, 1, -1, 0, 0]; // W1 = [1 -1], b1 = 0, W2 = [1; -1], b2 = 0
        var data = new TabularDataset("known", ["a", "b"], [3, 1, 1, 3], [0, 1], classCount: 2);

        var result = Evaluator.Evaluate(spec, parameters, data);

        // row 1: h = relu(2) = 2, logits (2, -2), label 0 right; row 2: h = relu(-2) = 0, logits (0, 0), arg-max 0, label 1 wrong
        Assert.Equal(0.5, result.Accuracy, 12);
        Assert.Equal((Math.Log(1 + Math.Exp(-4)) + Math.Log(2)) / 2, result.Loss, 5);
    }

    [Fact]
    public void Evaluate_WrongParameterLength_Throws()
    {
        var spec = new ModelSpec(ModelSpec.LogReg, 30, 2);

        Assert.Throws<ArgumentException>(() => Evaluator.Evaluate(spec, new float[61], TestData.BreastCancer));
    }
}
