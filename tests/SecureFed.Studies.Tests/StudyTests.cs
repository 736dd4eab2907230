namespace SecureFed.Studies.Tests;

public sealed class StudyTests
{
    [Fact]
    public void Parse_Example_ReadsEveryKeyAndDefaults()
    {
        var study = TestFiles.Example;

        Assert.Equal("readmission-2026", study.Name);
        Assert.Equal("readmitted", study.Label.Column);
        Assert.Equal(["no", "yes"], study.Label.Classes);
        Assert.Equal(2, study.ClassCount);
        Assert.Equal(2, study.Features.Count);
        Assert.Equal(new FeatureSpec("age", FeatureType.Numeric, []).Column, study.Features[0].Column);
        Assert.Empty(study.Features[0].Categories);
        Assert.Equal(FeatureType.Categorical, study.Features[1].Type);
        Assert.Equal(["north", "south", "east"], study.Features[1].Categories);
        Assert.Equal(new StudyModel("logreg", 0), study.Model);
        Assert.Equal(new StudyTraining(1, 32, 0.1), study.Training);
        Assert.Equal(30, study.Rounds);
        Assert.Equal(0.2, study.Holdout);
        Assert.Equal(0, study.EvaluationSeed);
        Assert.Equal(["", "NA", "?"], study.MissingTokens);
        Assert.Equal(
            [
                new EncodedInput("age", null, false),
                new EncodedInput("ward", "north", false),
                new EncodedInput("ward", "south", false),
                new EncodedInput("ward", "east", false),
                new EncodedInput("ward", null, true),
            ],
            study.Inputs);
        Assert.Equal(5, study.InputWidth);
        Assert.Equal(1 + 3 + 4 + 2, study.StatisticsLength);
        Assert.Matches("^[0-9a-f]{64}$", study.Hash);
        Assert.Equal(
            """{"evaluation":{"holdout":0.2,"seed":0},"features":[{"column":"age","type":"numeric"},{"categories":["north","south","east"],"column":"ward","type":"categorical"}],"label":{"classes":["no","yes"],"column":"readmitted"},"missing":[],"model":{"kind":"logreg"},"rounds":30,"study":"readmission-2026","training":{"batch_size":32,"epochs":1,"learning_rate":0.1,"momentum":0,"optimizer":"sgd","server":{"learning_rate":1,"optimizer":"fedavg"},"weight_decay":0}}""",
            study.CanonicalJson);
    }

    [Fact]
    public void Parse_OptionalKeys_AreRead()
    {
        var study = Study.Parse("""
            {"study":"s","label":{"column":"y","classes":["0","1"]},"features":[{"column":"x","type":"numeric"}],
             "missing":["-","n/a"],"model":{"kind":"mlp"},"training":{"epochs":3,"batch_size":8,"learning_rate":0.5},
             "evaluation":{"holdout":0.25,"seed":7}}
            """, "s.json");

        Assert.Equal(["", "NA", "?", "-", "n/a"], study.MissingTokens);
        Assert.Equal(new StudyModel("mlp", 32), study.Model);
        Assert.Equal(new StudyTraining(3, 8, 0.5), study.Training);
        Assert.Equal(20, study.Rounds);
        Assert.Equal(0.25, study.Holdout);
        Assert.Equal(7, study.EvaluationSeed);
    }

    [Fact]
    public void Hash_WhitespaceKeyOrderAndExplicitDefaults_Unchanged()
    {
        var reordered = Study.Parse("""
            {"rounds":30,"evaluation":{"seed":0,"holdout":0.2},"model":{"kind":"logreg"},
            "features":[{"type":"numeric","column":"age"},{"categories":["north","south","east"],"type":"categorical","column":"ward"}],
            "label":{"classes":["no","yes"],"column":"readmitted"},"study":"readmission-2026",
            "training":{"epochs":1,"batch_size":32,"learning_rate":0.1},"missing":["NA"]}
            """, "b.json");

        Assert.Equal(TestFiles.Example.Hash, reordered.Hash);
        Assert.Equal(TestFiles.Example.CanonicalJson, reordered.CanonicalJson);
    }

    [Theory]
    [InlineData("\"east\"]", "\"east\", \"west\"]")]
    [InlineData("\"rounds\": 30", "\"rounds\": 31")]
    [InlineData("\"holdout\": 0.2", "\"holdout\": 0.3")]
    [InlineData("[\"no\", \"yes\"]", "[\"yes\", \"no\"]")]
    [InlineData("\"kind\": \"logreg\"", "\"kind\": \"mlp\"")]
    public void Hash_SemanticChange_Changes(string from, string to)
    {
        var changed = Study.Parse(TestFiles.ExampleStudy.Replace(from, to, StringComparison.Ordinal), "c.json");

        Assert.NotEqual(TestFiles.Example.Hash, changed.Hash);
    }

    [Theory]
    [InlineData("\"categories\": [\"north\"", "\"catgories\": [\"north\"", "features[1].catgories")]
    [InlineData("\"label\": { \"column\": \"readmitted\", \"classes\": [\"no\", \"yes\"] },", "", "label")]
    [InlineData("{ \"column\": \"age\"", "{ \"column\": \"readmitted\"", "features[0].column")]
    [InlineData("[\"no\", \"yes\"]", "[]", "label.classes")]
    [InlineData("[\"no\", \"yes\"]", "[\"no\", \"no\"]", "label.classes[1]")]
    [InlineData("\"holdout\": 0.2", "\"holdout\": 1.5", "evaluation.holdout")]
    [InlineData("\"rounds\": 30", "\"rounds\": 0", "rounds")]
    [InlineData("\"rounds\": 30", "\"rounds\": \"30\"", "rounds")]
    [InlineData("\"rounds\": 30", "\"rounds\": 2.5", "rounds")]
    [InlineData("\"type\": \"numeric\"", "\"type\": \"number\"", "features[0].type")]
    [InlineData("\"kind\": \"logreg\"", "\"kind\": \"logreg\", \"hidden\": 8", "model.hidden")]
    [InlineData("\"south\", \"east\"", "\"south\", \"NA\"", "features[1].categories[2]")]
    [InlineData("\"south\", \"east\"", "\"south\", \" east\"", "features[1].categories[2]")]
    [InlineData("\"rounds\": 30", "\"rounds\": 30, \"data\": \"/srv/x.csv\"", "data")]
    public void Parse_Malformed_NamesKeyPathAndFile(string from, string to, string keyPath)
    {
        var json = TestFiles.ExampleStudy.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(TestFiles.ExampleStudy, json);

        var error = Assert.Throws<StudyFormatException>(() => Study.Parse(json, "bad/study.json"));

        Assert.Equal(keyPath, error.KeyPath);
        Assert.StartsWith($"bad/study.json: {keyPath}: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Parse_InvalidJson_NamesLine()
    {
        var error = Assert.Throws<StudyFormatException>(() => Study.Parse("{\n\"study\": \"x\",,\n}", "broken.json"));

        Assert.Contains("broken.json: not valid JSON at line 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFoundWithFullPath()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "study.json");

        var error = Assert.Throws<FileNotFoundException>(() => Study.Load(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("breast_cancer", "breast_cancer.csv", 569, 30, 2)]
    [InlineData("german_credit", "german_credit.csv", 1000, 20, 2)]
    [InlineData("digits", "digits.csv", 1797, 64, 10)]
    public void BundledStudy_ReadsBundledFile(string folder, string file, int rows, int features, int classes)
    {
        var dir = Path.Combine(TestFiles.RepoRoot, "data", folder);
        var study = Study.Load(Path.Combine(dir, "study.json"));

        var table = SiloTable.Read(study, Path.Combine(dir, file));

        Assert.Equal(rows, table.RowCount);
        Assert.Equal(features, study.Features.Count);
        Assert.Equal(classes, study.ClassCount);
        Assert.Equal(rows, table.LabelCounts.Sum());
        Assert.All(table.MissingCounts, m => Assert.Equal(0, m));
    }

    [Fact]
    public void BundledGermanCredit_InputWidthCountsEveryLevelPlusMissing()
    {
        var dir = Path.Combine(TestFiles.RepoRoot, "data", "german_credit");
        var study = Study.Load(Path.Combine(dir, "study.json"));
        var categorical = study.Features.Where(f => f.Type == FeatureType.Categorical).ToList();

        Assert.Equal(7, study.Features.Count(f => f.Type == FeatureType.Numeric));
        Assert.Equal(13, categorical.Count);
        Assert.Equal(7 + categorical.Sum(f => f.Categories.Count + 1), study.InputWidth);
        Assert.Equal(74, study.InputWidth);
        Assert.Contains("0<=X<200", study.Features[0].Categories);
        Assert.Contains("critical/other existing credit", study.Features[2].Categories);
        Assert.Equal(["good", "bad"], study.Label.Classes);
        Assert.Equal(0.05, study.Training.LearningRate);
        var table = SiloTable.Read(study, Path.Combine(dir, "german_credit.csv"));
        Assert.Equal([700, 300], table.LabelCounts);
    }

    [Fact]
    public void BundledDigits_IsMlp()
    {
        var study = Study.Load(Path.Combine(TestFiles.RepoRoot, "data", "digits", "study.json"));

        Assert.Equal(new StudyModel("mlp", 32), study.Model);
        Assert.Equal(new StudyTraining(2, 32, 0.2), study.Training);
        Assert.Equal(12, study.Rounds);
    }
}
