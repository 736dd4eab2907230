namespace SecureFed.Studies.Tests;

/// <summary>The model and training sections of a study: every kind, the server optimizer, and column ranges.</summary>
public sealed class StudyModelTests
{
    private const string Images = """
        {
          "study": "tiny-images",
          "label": {"column": "label", "classes": ["a", "b", "c"]},
          "features": [{"column_prefix": "pixel", "count": 16, "type": "numeric"}],
          "model": {"kind": "cnn", "input_shape": [1, 4, 4],
                    "conv": [{"channels": 4, "kernel": 3, "padding": 1, "pool": 2}], "dense": [8, 6], "activation": "tanh", "dropout": 0.25},
          "training": {"epochs": 2, "batch_size": 16, "optimizer": "adam", "learning_rate": 0.001, "weight_decay": 0.0001,
                       "server": {"optimizer": "fedyogi", "learning_rate": 0.03}}
        }
        """;

    [Fact]
    public void Parse_CnnStudy_ExpandsColumnsAndReadsEveryLayer()
    {
        var study = Study.Parse(Images, "images.json");

        Assert.Equal(16, study.Features.Count);
        Assert.Equal("pixel1", study.Features[0].Column);
        Assert.Equal("pixel16", study.Features[15].Column);
        Assert.All(study.Features, f => Assert.Equal(FeatureType.Numeric, f.Type));
        Assert.Equal("cnn", study.Model.Kind);
        Assert.Equal([1, 4, 4], study.Model.InputShape);
        Assert.Equal([new StudyConv(4, 3, 1, 1, 2)], study.Model.Conv);
        Assert.Equal([8, 6], study.Model.HiddenLayers);
        Assert.Equal("tanh", study.Model.Activation);
        Assert.Equal(0.25, study.Model.Dropout);
        Assert.Equal(new StudyTraining(2, 16, 0.001, "adam", 0, 0.0001, new StudyServerOptimizer("fedyogi", 0.03, 0.9, 0.99, 1e-3)), study.Training);
    }

    [Fact]
    public void Parse_MlpHiddenList_AndTheOldSingleWidth_BothRead()
    {
        var list = Study.Parse(TestFiles.ExampleStudy.Replace("\"kind\": \"logreg\"", "\"kind\": \"mlp\", \"hidden\": [16, 8], \"activation\": \"sigmoid\"", StringComparison.Ordinal), "s.json");
        var single = Study.Parse(TestFiles.ExampleStudy.Replace("\"kind\": \"logreg\"", "\"kind\": \"mlp\", \"hidden\": 16", StringComparison.Ordinal), "s.json");

        Assert.Equal([16, 8], list.Model.HiddenLayers);
        Assert.Equal("sigmoid", list.Model.Activation);
        Assert.Equal(new StudyModel("mlp", 16), single.Model);
        Assert.NotEqual(list.Hash, single.Hash);
    }

    [Fact]
    public void Hash_ExplicitDefaults_AreTheSameStudy()
    {
        var plain = Study.Parse(TestFiles.ExampleStudy, "a.json");
        var explicitDefaults = Study.Parse(TestFiles.ExampleStudy.Replace(
            "\"rounds\": 30",
            "\"rounds\": 30, \"training\": {\"optimizer\": \"sgd\", \"momentum\": 0, \"weight_decay\": 0, \"server\": {\"optimizer\": \"fedavg\", \"learning_rate\": 1}}",
            StringComparison.Ordinal), "b.json");
        var momentum = Study.Parse(TestFiles.ExampleStudy.Replace("\"rounds\": 30", "\"rounds\": 30, \"training\": {\"momentum\": 0.9}", StringComparison.Ordinal), "c.json");

        Assert.Equal(plain.Hash, explicitDefaults.Hash);
        Assert.NotEqual(plain.Hash, momentum.Hash);
    }

    [Fact]
    public void Parse_ServerAdam_GetsThePaperDefaults()
    {
        var study = Study.Parse(TestFiles.ExampleStudy.Replace("\"rounds\": 30", "\"rounds\": 30, \"training\": {\"server\": {\"optimizer\": \"fedadam\"}}", StringComparison.Ordinal), "s.json");

        Assert.Equal(new StudyServerOptimizer("fedadam", 0.01, 0.9, 0.99, 1e-3), study.Training.Server);
    }

    [Theory]
    [InlineData("\"input_shape\": [1, 4, 4]", "\"input_shape\": [1, 4, 5]", "model.input_shape")]
    [InlineData("\"input_shape\": [1, 4, 4]", "\"input_shape\": [16]", "model.input_shape")]
    [InlineData("\"input_shape\": [1, 4, 4],", "", "model.input_shape")]
    [InlineData("\"conv\": [{\"channels\": 4, \"kernel\": 3, \"padding\": 1, \"pool\": 2}], ", "", "model.conv")]
    [InlineData("\"conv\": [{\"channels\": 4, \"kernel\": 3, \"padding\": 1, \"pool\": 2}]", "\"conv\": []", "model.conv")]
    [InlineData("{\"channels\": 4, \"kernel\": 3,", "{\"channels\": 4,", "model.conv[0].kernel")]
    [InlineData("\"padding\": 1,", "\"padding\": 3,", "model.conv[0].padding")]
    [InlineData("\"pool\": 2}", "\"pool\": 2, \"dilation\": 2}", "model.conv[0].dilation")]
    [InlineData("\"activation\": \"tanh\"", "\"activation\": \"swish\"", "model.activation")]
    [InlineData("\"dropout\": 0.25", "\"dropout\": 1", "model.dropout")]
    [InlineData("\"dense\": [8, 6]", "\"dense\": [8, 0]", "model.dense[1]")]
    [InlineData("\"kind\": \"cnn\"", "\"kind\": \"mlp\"", "model.input_shape")]
    [InlineData("\"kind\": \"cnn\"", "\"kind\": \"rnn\"", "model.kind")]
    [InlineData("\"optimizer\": \"adam\"", "\"optimizer\": \"rmsprop\"", "training.optimizer")]
    [InlineData("\"weight_decay\": 0.0001", "\"weight_decay\": 0.0001, \"momentum\": 0.9", "training.momentum")]
    [InlineData("\"optimizer\": \"fedyogi\"", "\"optimizer\": \"fedprox\"", "training.server.optimizer")]
    [InlineData("\"optimizer\": \"fedyogi\", \"learning_rate\": 0.03", "\"optimizer\": \"fedavg\", \"tau\": 0.1", "training.server.tau")]
    [InlineData("\"learning_rate\": 0.03", "\"learning_rate\": 0", "training.server.learning_rate")]
    [InlineData("\"count\": 16, ", "", "features[0].count")]
    [InlineData("\"column_prefix\": \"pixel\"", "\"column_prefix\": \"pixel\", \"column\": \"x\"", "features[0].column")]
    [InlineData("{\"column\": \"label\"", "{\"column\": \"pixel3\"", "features[0].column_prefix")]
    public void Parse_MalformedModel_NamesTheKeyPath(string from, string to, string keyPath)
    {
        var json = Images.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Images, json);

        var error = Assert.Throws<StudyFormatException>(() => Study.Parse(json, "bad/images.json"));

        Assert.Equal(keyPath, error.KeyPath);
        Assert.StartsWith($"bad/images.json: {keyPath}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CnnOverACategoricalFeature_IsRefused()
    {
        var json = TestFiles.ExampleStudy.Replace("\"kind\": \"logreg\"", "\"kind\": \"cnn\", \"input_shape\": [1, 1, 2], \"conv\": [{\"channels\": 2, \"kernel\": 1}]", StringComparison.Ordinal);

        var error = Assert.Throws<StudyFormatException>(() => Study.Parse(json, "s.json"));

        Assert.Equal("model.input_shape", error.KeyPath);
        Assert.Contains("categorical", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CanonicalJson_RoundTripsEveryKey()
    {
        var study = Study.Parse(Images, "images.json");

        var again = Study.Parse(study.CanonicalJson, "canonical");

        Assert.Equal(study.Hash, again.Hash);
        Assert.Equal(study.Model, again.Model);
        Assert.Equal(study.Training, again.Training);
    }
}
