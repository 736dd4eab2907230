using System.Text.Json.Nodes;
using SecureFed.Training;

namespace SecureFed.ModelExport.Tests;

/// <summary><see cref="ModelCard"/>'s JSON: it round-trips, and a file that is not a card is refused naming the key.</summary>
public sealed class ModelCardTests
{
    private static readonly ModelSpec Spec = ModelSpec.Convolutional(
        new ImageShape(1, 4, 4), [new ConvBlock(3, 3, 1, 1, 2)], [5], 2, Activation.Sigmoid, 0.1);

    [Fact]
    public void ToJson_Parse_RoundTripsEveryField()
    {
        var card = Card();

        var parsed = ModelCard.Parse(card.ToJson(), "model.json");

        Assert.Equal(card.ToJson(), parsed.ToJson());
        Assert.Equal(Spec.Layers, parsed.Architecture.Layers);
        Assert.Equal(card.Privacy!.SiloCaps, parsed.Privacy!.SiloCaps);
        Assert.Null(parsed.Privacy.EpsilonExact);
        Assert.Equal(card.ExportedAt, parsed.ExportedAt);
    }

    [Fact]
    public void ToJson_Keys_AreSnakeCase()
    {
        var json = JsonNode.Parse(Card().ToJson())!.AsObject();

        Assert.Equal(
            ["format", "study", "study_hash", "label", "classes", "inputs", "architecture", "rounds", "metrics", "privacy", "model_hash", "federation_id",
             "ledger_head_hash", "ledger_entries", "statistics_hash", "preprocessing", "onnx", "exported_at", "study_document"],
            json.Select(p => p.Key));
        Assert.Equal("{\"column\":\"ward\",\"category\":\"north\"}", json["inputs"]![1]!.ToJsonString());
    }

    [Fact]
    public void Parse_OtherJson_RefusedNamingFormat()
    {
        var error = Assert.Throws<InvalidDataException>(() => ModelCard.Parse("""{"study": "x"}""", "card.json"));

        Assert.Contains("card.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"format\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingKey_RefusedNamingIt()
    {
        var json = JsonNode.Parse(Card().ToJson())!.AsObject();
        json.Remove("model_hash");

        var error = Assert.Throws<InvalidDataException>(() => ModelCard.Parse(json.ToJsonString(), "card.json"));

        Assert.Contains("\"model_hash\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NotJson_RefusedAsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => ModelCard.Parse("not json", "card.json"));
    }

    private static ModelCard Card() => new()
    {
        Study = "s",
        StudyHash = new string('1', 64),
        StudyDocument = """{"study":"s"}""",
        Label = "y",
        Classes = ["a", "b, c"],
        Inputs = [new ModelInput("age", null), new ModelInput("ward", "north")],
        Architecture = new ModelCardArchitecture(Spec.Kind, Spec.Describe(), Spec.ParameterCount, Spec.Layers),
        Rounds = new ModelCardRounds(10, 3),
        Metrics = new ModelCardMetrics(3, "training", new string('2', 64), 120, 0.75, 0.5, 3),
        Privacy = new ModelCardPrivacy("gaussian", "rdp", 1.25, 1.25, double.PositiveInfinity, 1e-5, 8, 1.1, 1.0,
            new Dictionary<string, double> { ["silo-1"] = 2.5 }),
        ModelHash = new string('2', 64),
        FederationId = "fed",
        LedgerHeadHash = new string('3', 64),
        LedgerEntries = 4,
        StatisticsHash = new string('4', 64),
        Preprocessing = [new NumericScaling("age", 50.25, 10.5)],
        Onnx = new ModelCardOnnx("model.onnx", new string('5', 64), 13, "input", ["probabilities", "class_index"]),
        ExportedAt = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
    };
}
