using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using SecureFed.Studies;

namespace SecureFed.ModelExport;

/// <summary>Class probabilities of a table's rows.</summary>
/// <param name="Classes">The classes, in the order of each row's probabilities.</param>
/// <param name="Rows">Rows predicted.</param>
/// <param name="Probabilities">Row-major [Rows, Classes.Count].</param>
public sealed record PredictionResult(IReadOnlyList<string> Classes, int Rows, float[] Probabilities)
{
    /// <summary>The index of row <paramref name="row"/>'s most probable class (the first on a tie, as ONNX ArgMax).</summary>
    public int PredictedIndex(int row)
    {
        var p = Probabilities.AsSpan(row * Classes.Count, Classes.Count);
        var best = 0;
        for (var c = 1; c < p.Length; c++)
        {
            if (p[c] > p[best])
            {
                best = c;
            }
        }

        return best;
    }

    /// <summary>The name of row <paramref name="row"/>'s most probable class.</summary>
    public string Predicted(int row) => Classes[PredictedIndex(row)];
}

/// <summary>
/// An exported model loaded for prediction with ONNX Runtime: checks that the card describes the ONNX file (by its
/// SHA-256) and that the card's study, inputs and classes agree, then runs rows read under that study. Not
/// thread-safe for concurrent <see cref="Predict"/> calls on one instance; dispose it to free the native session.
/// </summary>
public sealed class ModelPredictor : IDisposable
{
    /// <summary>Rows per ONNX Runtime call.</summary>
    public const int ChunkRows = 4096;

    private readonly InferenceSession _session;

    private ModelPredictor(ModelCard card, Study study, InferenceSession session)
    {
        Card = card;
        Study = study;
        Inputs = new ModelInputs(study);
        _session = session;
    }

    /// <summary>The model card.</summary>
    public ModelCard Card { get; }

    /// <summary>The study the model was trained under (rebuilt from the card and checked against its hash).</summary>
    public Study Study { get; }

    /// <summary>The input layout.</summary>
    public ModelInputs Inputs { get; }

    /// <summary>Loads <paramref name="onnxPath"/> with its card.</summary>
    /// <param name="onnxPath">The model.onnx file.</param>
    /// <param name="cardPath">The model card; null for <c>model.json</c> beside the ONNX file.</param>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 for its default.</param>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">The card is not a model card, does not describe this ONNX file, or contradicts itself.</exception>
    public static ModelPredictor Load(string onnxPath, string? cardPath = null, int threads = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        if (!File.Exists(onnxPath))
        {
            throw new FileNotFoundException($"model not found: {Path.GetFullPath(onnxPath)} (securefed model export writes model.onnx)", onnxPath);
        }

        cardPath ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(onnxPath))!, FederationExporter.CardFileName);
        var card = ModelCard.Load(cardPath);
        var bytes = File.ReadAllBytes(onnxPath);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, card.Onnx.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{cardPath} does not describe {onnxPath}: the card is of an ONNX file with SHA-256 {card.Onnx.Sha256}, this one has {sha}; give the card exported with it (--card)");
        }

        Study study;
        try
        {
            study = Study.Parse(card.StudyDocument, $"{cardPath} (study_document)");
        }
        catch (StudyFormatException ex)
        {
            throw new InvalidDataException($"{cardPath}: its study does not parse ({ex.Message}); export the model again");
        }

        if (study.Hash != card.StudyHash)
        {
            throw new InvalidDataException($"{cardPath}: its study document hashes to {study.Hash}, not to its study_hash {card.StudyHash}; export the model again");
        }

        if (!new ModelInputs(study).Inputs.SequenceEqual(card.Inputs) || !study.Label.Classes.SequenceEqual(card.Classes))
        {
            throw new InvalidDataException($"{cardPath}: its inputs or classes are not those of its study {study.Name}; export the model again");
        }

        using var options = new SessionOptions { IntraOpNumThreads = Math.Max(0, threads), LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        var session = new InferenceSession(bytes, options);
        try
        {
            if (!session.InputMetadata.TryGetValue(card.Onnx.Input, out var input) || input.Dimensions is not [_, var width] || width != card.Inputs.Count)
            {
                throw new InvalidDataException($"{onnxPath} has no input \"{card.Onnx.Input}\" of {card.Inputs.Count} columns, which its card describes; export the model again");
            }

            return new ModelPredictor(card, study, session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The class probabilities of <paramref name="table"/>'s rows (read under <see cref="Study"/>).</summary>
    /// <param name="table">The rows, for example from <see cref="SiloTable.ReadFeatures"/>.</param>
    /// <param name="progress">Receives the number of rows done after each chunk.</param>
    /// <exception cref="ArgumentException">The table was read under another study.</exception>
    public PredictionResult Predict(SiloTable table, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        var raw = Inputs.Raw(table);
        return new PredictionResult(Card.Classes, table.RowCount, Run(raw, table.RowCount, progress));
    }

    /// <summary>The class probabilities [rows, C] of a raw input [rows, F] (NaN for a missing numeric value).</summary>
    /// <exception cref="ArgumentException">The input is not rows x F values.</exception>
    public float[] Run(float[] raw, int rows, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var width = Inputs.Width;
        var classes = Card.Classes.Count;
        if (rows < 0 || raw.Length != (long)rows * width)
        {
            throw new ArgumentException($"{raw.Length} values are not {rows} rows of {width} inputs", nameof(raw));
        }

        var result = new float[checked(rows * classes)];
        using var run = new RunOptions();
        string[] inputNames = [Card.Onnx.Input];
        string[] outputNames = [OnnxModelWriter.ProbabilitiesName];
        for (var start = 0; start < rows; start += ChunkRows)
        {
            var size = Math.Min(ChunkRows, rows - start);
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, raw.AsMemory(start * width, size * width), [size, width]);
            using var outputs = _session.Run(run, inputNames, [input], outputNames);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(result.AsSpan(start * classes, size * classes));
            progress?.Report(start + size);
        }

        return result;
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}
