using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureFed.ModelExport.Internal;
using SecureFed.Training;

namespace SecureFed.ModelExport;

/// <summary>The architecture of an exported model.</summary>
/// <param name="Kind"><c>logreg</c>, <c>mlp</c> or <c>cnn</c>.</param>
/// <param name="Description">The one-line <see cref="ModelSpec.Describe"/>.</param>
/// <param name="ParameterCount">Length of the parameter vector.</param>
/// <param name="Layers">The forward pass, as <see cref="ModelSpec.Layers"/>.</param>
public sealed record ModelCardArchitecture(string Kind, string Description, int ParameterCount, IReadOnlyList<ModelLayer> Layers);

/// <summary>Training rounds of the federation.</summary>
/// <param name="Planned">Rounds the study declares (a coordinator may have been told to stop sooner).</param>
/// <param name="Completed">Completed training rounds.</param>
public sealed record ModelCardRounds(int Planned, int Completed);

/// <summary>The federated evaluation of the last completed round that has one (from the signed ledger).</summary>
/// <param name="Round">The round.</param>
/// <param name="Kind"><c>training</c> or <c>evaluation</c>.</param>
/// <param name="ModelHash">The model evaluated.</param>
/// <param name="Examples">Held-out rows, summed over the silos.</param>
/// <param name="Accuracy">Federated accuracy.</param>
/// <param name="Loss">Federated mean cross-entropy.</param>
/// <param name="Contributors">Silos whose sums are in the totals.</param>
public sealed record ModelCardMetrics(int Round, string Kind, string ModelHash, long Examples, double Accuracy, double Loss, int Contributors);

/// <summary>The differential privacy the federation spent (from the signed ledger).</summary>
/// <param name="Mechanism"><c>gaussian</c> or <c>discrete-gaussian</c>.</param>
/// <param name="Accountant">The accountant the budget is enforced with (<c>rdp</c> or <c>exact</c>).</param>
/// <param name="Epsilon">Epsilon spent under <paramref name="Accountant"/> (null when infinite).</param>
/// <param name="EpsilonRdp">Epsilon under the RDP accountant (null when infinite).</param>
/// <param name="EpsilonExact">Epsilon under the exact Gaussian accountant (null when infinite).</param>
/// <param name="Delta">The delta of the guarantee.</param>
/// <param name="EpsilonBudget">The consortium's budget (null: none).</param>
/// <param name="NoiseMultiplier">The planned noise multiplier.</param>
/// <param name="ClipNorm">The L2 clipping norm.</param>
/// <param name="SiloCaps">Each silo's own epsilon cap, when recorded; null when unknown (silo policies are local and not
/// in the coordinator's store or ledger).</param>
public sealed record ModelCardPrivacy(
    string Mechanism, string Accountant, double? Epsilon, double? EpsilonRdp, double? EpsilonExact, double Delta, double? EpsilonBudget,
    double NoiseMultiplier, double ClipNorm, IReadOnlyDictionary<string, double>? SiloCaps);

/// <summary>The ONNX file a card describes.</summary>
/// <param name="File">File name, beside the card.</param>
/// <param name="Sha256">SHA-256 of the file, lowercase hex.</param>
/// <param name="Opset">ONNX operator set.</param>
/// <param name="Input">The input's name.</param>
/// <param name="Outputs">The outputs' names, probabilities first.</param>
public sealed record ModelCardOnnx(string File, string Sha256, int Opset, string Input, IReadOnlyList<string> Outputs);

/// <summary>
/// <c>model.json</c>: what an exported model is, where it came from and what it expects. Every hash in it was checked
/// at export against the coordinator's store and the verified, signed ledger. Immutable; <see cref="ToJson"/> and
/// <see cref="Parse"/> round-trip.
/// </summary>
public sealed record ModelCard
{
    /// <summary>The value of the <c>format</c> key.</summary>
    public const string FormatName = "securefed-model-card/1";

    /// <summary>The study's name.</summary>
    public required string Study { get; init; }

    /// <summary>The study's canonical hash.</summary>
    public required string StudyHash { get; init; }

    /// <summary>The study's canonical JSON (so prediction reads rows under exactly this schema).</summary>
    public required string StudyDocument { get; init; }

    /// <summary>The study's label column.</summary>
    public required string Label { get; init; }

    /// <summary>The classes, in the order of the probabilities.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>The ONNX input's columns, in order.</summary>
    public required IReadOnlyList<ModelInput> Inputs { get; init; }

    /// <summary>The architecture.</summary>
    public required ModelCardArchitecture Architecture { get; init; }

    /// <summary>Planned and completed rounds.</summary>
    public required ModelCardRounds Rounds { get; init; }

    /// <summary>The final federated metrics, or null when no round was evaluated.</summary>
    public ModelCardMetrics? Metrics { get; init; }

    /// <summary>The privacy spent, or null when the federation ran without differential privacy.</summary>
    public ModelCardPrivacy? Privacy { get; init; }

    /// <summary>SHA-256 of the parameter vector (<c>ModelHash.Compute</c>).</summary>
    public required string ModelHash { get; init; }

    /// <summary>The federation the model was trained in.</summary>
    public required string FederationId { get; init; }

    /// <summary>The hash of the ledger's last entry at export (compare with a head published out of band).</summary>
    public required string LedgerHeadHash { get; init; }

    /// <summary>Entries in the ledger at export.</summary>
    public required int LedgerEntries { get; init; }

    /// <summary>Hash of the federated statistics the encoding was built from.</summary>
    public required string StatisticsHash { get; init; }

    /// <summary>The standardization of each numeric input (the graph applies it).</summary>
    public required IReadOnlyList<NumericScaling> Preprocessing { get; init; }

    /// <summary>The ONNX file.</summary>
    public required ModelCardOnnx Onnx { get; init; }

    /// <summary>When the card was written.</summary>
    public required DateTimeOffset ExportedAt { get; init; }

    /// <summary>Reads a card file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model card; the message names the file and the key.</exception>
    public static ModelCard Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model card not found: {Path.GetFullPath(path)} (export writes model.json beside model.onnx; or give --card)", path);
        }

        return Parse(File.ReadAllText(path, Encoding.UTF8), path);
    }

    /// <summary>Parses a card.</summary>
    /// <param name="json">The card's text.</param>
    /// <param name="source">Its origin, for error messages.</param>
    /// <exception cref="InvalidDataException">The text is not a model card; the message names the source and the key.</exception>
    public static ModelCard Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return ModelCardJson.Read(document.RootElement, source);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source} is not JSON ({ex.Message}); give the model.json written by securefed model export");
        }
    }

    /// <summary>The card as indented JSON with snake_case keys.</summary>
    public string ToJson() => ModelCardJson.Write(this);

    /// <summary>A short line per numeric input saying what the graph does to it.</summary>
    public IEnumerable<string> DescribePreprocessing() => Preprocessing.Select(p => string.Create(
        CultureInfo.InvariantCulture, $"{p.Column}: (x - {p.Mean:G6}) / {p.Scale:G6}, missing -> {p.Mean:G6}"));
}
