using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using SecureFed.Studies;
using SecureFed.Training;
using Xunit.Abstractions;

namespace SecureFed.ModelExport.Tests;

/// <summary>
/// The ONNX graph against TorchSharp: for each model kind and layer variant, random parameters, rows with missing
/// values; ONNX Runtime gets the raw input (NaN, one-hot without the missing level), TorchSharp the encoder's
/// output, and their probabilities agree to 1e-5.
/// </summary>
public sealed class OnnxParityTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-5;
    private readonly TempFolder _files = new();

    public static TheoryData<string, string> TabularModels => new()
    {
        { "logreg", "" },
        { "mlp", "relu" },
        { "mlp", "tanh" },
        { "mlp", "sigmoid" },
    };

    public void Dispose() => _files.Dispose();

    [Theory]
    [MemberData(nameof(TabularModels))]
    public void Write_TabularModel_OrtProbabilitiesEqualTorch(string kind, string activation)
    {
        var study = Study.Parse(TestData.ClinicStudy(TestData.LogRegModel), "clinic.json");
        var table = SiloTable.Read(study, _files.Write("clinic.csv", TestData.ClinicCsv(64, seed: 5)));
        var spec = kind == "logreg"
            ? ModelSpec.LogisticRegression(study.InputWidth, study.ClassCount)
            : ModelSpec.Perceptron(study.InputWidth, study.ClassCount, [7, 5, 4], ModelSpec.ParseActivation(activation), dropout: 0.3);

        var difference = MaxDifference(spec, table, seed: 11);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{spec.Describe()}: max |ORT - Torch| = {difference:E2}"));
        Assert.InRange(difference, 0, Tolerance);
    }

    public static TheoryData<int, int, int, int, int, int, int, int> ConvolutionModels => new()
    {
        // channels, height, width, out channels, kernel, stride, padding, pool
        { 1, 4, 4, 3, 3, 1, 1, 2 },
        { 2, 5, 5, 4, 3, 2, 1, 1 },
        { 1, 5, 5, 2, 3, 1, 1, 2 },
    };

    [Theory]
    [MemberData(nameof(ConvolutionModels))]
    public void Write_ConvolutionalModel_OrtProbabilitiesEqualTorch(int channels, int height, int width, int outChannels, int kernel, int stride, int padding, int pool)
    {
        var shape = new ImageShape(channels, height, width);
        var pixels = (int)shape.Size;
        var study = Study.Parse(TestData.ImageStudy(pixels, TestData.LogRegModel), "images.json");
        var table = SiloTable.Read(study, _files.Write("images.csv", TestData.ImageCsv(pixels, width, 40, seed: 3)));
        var spec = ModelSpec.Convolutional(
            shape, [new ConvBlock(outChannels, kernel, stride, padding, pool), new ConvBlock(2, 2, 1, 0, 1)], [6], study.ClassCount, Activation.Relu, dropout: 0.25);

        var difference = MaxDifference(spec, table, seed: 17);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{spec.Describe()}: max |ORT - Torch| = {difference:E2}"));
        Assert.InRange(difference, 0, Tolerance);
    }

    [Fact]
    public void Write_MissingValues_GraphImputesTheFederatedMeanAndTheMissingLevel()
    {
        var study = Study.Parse(TestData.ClinicStudy(TestData.LogRegModel), "clinic.json");
        var table = SiloTable.Read(study, _files.Write("clinic.csv", TestData.ClinicCsv(64, seed: 5)));
        var stats = TestData.StatisticsOf(table);
        var spec = ModelSpec.LogisticRegression(study.InputWidth, study.ClassCount);
        var theta = RandomParameters(spec, seed: 2);
        var inputs = new ModelInputs(study);
        using var session = Session(spec, theta, new ModelPreprocessing(inputs, stats));

        // A row with every value missing is the encoder's all-mean row with every missing level set.
        float[] missing = [float.NaN, 0, 0, 0, float.NaN];
        var encoded = new float[study.InputWidth];
        encoded[1 + 3] = 1; // ward's missing level (age, north, south, east, missing, dose)
        var expected = Evaluator.Probabilities(spec, theta, encoded, 1);

        var actual = Run(session, missing, 1, inputs.Width, study.ClassCount);

        Assert.Equal(["age", "ward", "ward", "ward", "dose"], inputs.Inputs.Select(i => i.Column));
        for (var c = 0; c < study.ClassCount; c++)
        {
            Assert.InRange(Math.Abs(actual[c] - expected[c]), 0, Tolerance);
        }
    }

    private double MaxDifference(ModelSpec spec, SiloTable table, int seed)
    {
        var stats = TestData.StatisticsOf(table);
        var theta = RandomParameters(spec, seed);
        var inputs = new ModelInputs(table.Study);
        var raw = inputs.Raw(table);
        Assert.Contains(raw, float.IsNaN); // the imputation in the graph is exercised

        var torch = Evaluator.Probabilities(spec, theta, new StudyEncoder(table.Study, stats).Encode(table), table.RowCount);
        using var session = Session(spec, theta, new ModelPreprocessing(inputs, stats));
        var onnx = Run(session, raw, table.RowCount, inputs.Width, spec.ClassCount);

        Assert.Equal(torch.Length, onnx.Length);
        // Not a degenerate model: its rows do not all get the same probabilities.
        Assert.Contains(Enumerable.Range(1, table.RowCount - 1), r => Math.Abs(torch[r * spec.ClassCount] - torch[0]) > 1e-3);
        return torch.Zip(onnx, (t, o) => (double)Math.Abs(t - o)).Max();
    }

    internal static float[] RandomParameters(ModelSpec spec, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, spec.ParameterCount).Select(_ => (float)((random.NextDouble() * 2) - 1))];
    }

    private static InferenceSession Session(ModelSpec spec, float[] theta, ModelPreprocessing preprocessing)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        return new InferenceSession(OnnxModelWriter.Write(spec, theta, preprocessing), options);
    }

    private static float[] Run(InferenceSession session, float[] raw, int rows, int width, int classes)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(raw, [rows, width]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, [OnnxModelWriter.InputName], [input], [OnnxModelWriter.ProbabilitiesName, OnnxModelWriter.ClassIndexName]);
        var probabilities = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var index = outputs[1].GetTensorDataAsSpan<long>().ToArray();
        Assert.Equal(rows * classes, probabilities.Length);
        for (var r = 0; r < rows; r++)
        {
            var row = probabilities.AsSpan(r * classes, classes);
            Assert.InRange(row.ToArray().Sum(), 1 - 1e-5, 1 + 1e-5);
            Assert.Equal(row.IndexOf(row.ToArray().Max()), (int)index[r]);
        }

        return probabilities;
    }
}
