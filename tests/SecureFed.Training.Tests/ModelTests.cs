namespace SecureFed.Training.Tests;

public sealed class ModelTests
{
    [Theory]
    [InlineData("logreg", 30, 2, 32, 62)]
    [InlineData("LogReg", 64, 10, 32, 650)]
    [InlineData("mlp", 64, 10, 32, 2410)]
    [InlineData("mlp", 30, 2, 8, 266)]
    public void ParameterCount_KnownArchitectures_MatchesLayerSizes(string kind, int input, int classes, int hidden, int expected)
    {
        var spec = new ModelSpec(kind, input, classes, hidden);

        Assert.Equal(expected, spec.ParameterCount);
        Assert.Equal(kind.ToLowerInvariant(), spec.Kind);
    }

    [Theory]
    [InlineData("cnn", 4, 2, 8)]
    [InlineData("mlp", 0, 2, 8)]
    [InlineData("mlp", 4, 1, 8)]
    [InlineData("mlp", 4, 2, 0)]
    [InlineData("mlp", 1_000_000, 10, 65_536)]
    public void Constructor_InvalidArguments_Throws(string kind, int input, int classes, int hidden)
    {
        Assert.ThrowsAny<ArgumentException>(() => new ModelSpec(kind, input, classes, hidden));
    }

    [Fact]
    public void InitialParameters_SameSeed_IdenticalAndRightLength()
    {
        var spec = new ModelSpec(ModelSpec.Mlp, 64, 10);

        var a = ModelFactory.InitialParameters(spec, 9);
        var b = ModelFactory.InitialParameters(spec, 9);
        var c = ModelFactory.InitialParameters(spec, 10);

        Assert.Equal(spec.ParameterCount, a.Length);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void InitialParameters_EachLayer_WithinPyTorchDefaultBound()
    {
        var spec = new ModelSpec(ModelSpec.Mlp, 64, 10, hidden: 16);

        var p = ModelFactory.InitialParameters(spec, 1);

        var firstLayer = (64 * 16) + 16;
        Assert.All(p[..firstLayer], v => Assert.InRange(Math.Abs(v), 0, 1 / 8f));
        Assert.All(p[firstLayer..], v => Assert.InRange(Math.Abs(v), 0, 1 / 4f));
        Assert.Contains(p[..firstLayer], v => Math.Abs(v) > 1 / 4f * 0.9f * 0.5f);
        Assert.Contains(p[firstLayer..], v => Math.Abs(v) > 1 / 8f);
    }

    [Fact]
    public void DefaultFor_UnknownModelKind_Throws()
    {
        Assert.Throws<ArgumentException>(() => TrainingSettings.DefaultFor(DatasetCatalog.Digits, "resnet"));
    }

    [Theory]
    [InlineData(0, 32, 0.1, 0.0, "Epochs")]
    [InlineData(1, 0, 0.1, 0.0, "BatchSize")]
    [InlineData(1, 32, 0.0, 0.0, "LearningRate")]
    [InlineData(1, 32, double.NaN, 0.0, "LearningRate")]
    [InlineData(1, 32, 0.1, 1.0, "Momentum")]
    public void Validate_OutOfRangeSetting_ThrowsNamingIt(int epochs, int batch, double lr, double momentum, string name)
    {
        var settings = new TrainingSettings { Epochs = epochs, BatchSize = batch, LearningRate = lr, Momentum = momentum };

        var ex = Assert.ThrowsAny<ArgumentException>(settings.Validate);

        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void Validate_UnknownOptimizer_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(new TrainingSettings { Optimizer = "lion" }.Validate);

        Assert.Contains("lion", ex.Message, StringComparison.Ordinal);
    }
}
