using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SecureFed.Audit;
using SecureFed.Coordinator;
using SecureFed.Identity;
using SecureFed.ModelExport.Internal;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.ModelExport;

/// <summary>What an export wrote.</summary>
/// <param name="OnnxPath">The ONNX model.</param>
/// <param name="CardPath">The model card.</param>
/// <param name="Card">The card's content.</param>
public sealed record ExportResult(string OnnxPath, string CardPath, ModelCard Card);

/// <summary>
/// Exports a completed federation's model: verifies the ledger (<see cref="LedgerVerifier"/>: chain, signatures against
/// the consortium CA, epsilons), checks that the store and the ledger agree (every finished round, the final model
/// hash, the study and statistics hashes), then writes <see cref="OnnxFileName"/> (<see cref="OnnxModelWriter"/>) and
/// <see cref="CardFileName"/> (<see cref="ModelCard"/>). Nothing is written when a check fails. Stateless and thread-safe.
/// </summary>
public static class FederationExporter
{
    /// <summary>File name of the ONNX model.</summary>
    public const string OnnxFileName = "model.onnx";

    /// <summary>File name of the model card.</summary>
    public const string CardFileName = "model.json";

    /// <summary>Verifies the federation of <paramref name="source"/> and writes its model into <paramref name="outputDirectory"/>.</summary>
    /// <param name="source">The store, ledger and certificates.</param>
    /// <param name="specOf">The architecture a study declares (the host's study-to-model mapping).</param>
    /// <param name="outputDirectory">Folder to write into (created if missing; an earlier export there is replaced).</param>
    /// <param name="time">The clock certificates are judged at and the card is dated by (default: the system clock).</param>
    /// <exception cref="FileNotFoundException">An input file does not exist.</exception>
    /// <exception cref="InvalidDataException">An input file is unreadable (not a store, not a ledger).</exception>
    /// <exception cref="ExportRefusedException">A check failed; the message names what differs.</exception>
    public static ExportResult Export(ExportSource source, Func<Study, ModelSpec> specOf, string outputDirectory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(specOf);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        time ??= TimeProvider.System;
        Require(source.StorePath, "coordinator store");
        Require(source.LedgerPath, "ledger");
        Require(source.CoordinatorCertificatePath, "coordinator certificate");
        Require(source.CaPath, "CA certificate");

        var (federationId, running) = StoreLedgerCheck.Probe(source.StorePath);
        if (running > 0)
        {
            throw new ExportRefusedException($"the store of federation {federationId} has a round still running; export a finished federation (stop its coordinator first)");
        }

        var entries = AuditLedger.Read(source.LedgerPath);
        LedgerVerificationResult verification;
        using (var coordinator = CertificateStore.LoadCertificate(source.CoordinatorCertificatePath))
        using (var root = CertificateStore.LoadCertificate(source.CaPath))
        {
            verification = LedgerVerifier.Verify(entries, coordinator, root, time);
        }

        if (!verification.Ok)
        {
            throw new ExportRefusedException($"the ledger {source.LedgerPath} does not verify: {verification.Reason}");
        }

        if (source.ExpectedLedgerHead is { } published && !string.Equals(published.Trim(), verification.HeadHash, StringComparison.OrdinalIgnoreCase))
        {
            throw new ExportRefusedException($"ledger head differs: the ledger ends at {verification.HeadHash}, not at the published head {published.Trim()}");
        }

        var federation = entries.Where(e => e.FederationId == federationId).ToList();
        if (federation.Count == 0)
        {
            throw new ExportRefusedException($"ledger head differs from the store: the ledger {source.LedgerPath} has no entry of federation {federationId}, which the store holds");
        }

        // Read-only and lock-free: a coordinator may be running on this store; nothing here may change it.
        var store = FederationStore.OpenReadOnly(source.StorePath);
        try
        {
            store.VerifyIntegrity();
        }
        catch (FederationStoreException ex) when (ex.Problem == FederationStoreProblem.Corrupt)
        {
            throw new ExportRefusedException(ex.Message);
        }

        var (studyHash, document) = store.Study()
            ?? throw new ExportRefusedException($"federation {federationId} declares no study; only a study's model can be exported (the study defines its inputs)");
        if (document is null)
        {
            throw new ExportRefusedException($"the store of federation {federationId} keeps its study's hash but not its document (an older store); run the federation again to export it");
        }

        var study = Study.Parse(document, "the store's study");
        if (study.Hash != studyHash)
        {
            throw new ExportRefusedException($"study hash differs: the store's study document hashes to {study.Hash}, but the store records {studyHash}");
        }

        var latest = store.LatestModel();
        var completed = store.CompletedRounds();
        if (latest is null || latest.Version == 0 || completed == 0)
        {
            throw new ExportRefusedException($"federation {federationId} has no completed training round: there is no trained model to export");
        }

        var (vector, statisticsHash, _) = store.Statistics()
            ?? throw new ExportRefusedException($"federation {federationId} has no federated statistics, so the model's encoding is unknown");
        StoreLedgerCheck.Rounds(store.Rounds(), federation, federationId);
        var final = StoreLedgerCheck.FinalModel(latest, federation, federationId);
        StoreLedgerCheck.Hashes(studyHash, statisticsHash, federation, final);
        if (source.SummaryPath is { } summary)
        {
            CheckSummary(summary, latest.Hash, studyHash);
        }

        var spec = specOf(study);
        if (spec.ParameterCount != latest.Parameters.Length || spec.InputDim != study.InputWidth || spec.ClassCount != study.ClassCount)
        {
            throw new ExportRefusedException(
                $"the study's model ({spec.Describe()}) does not fit the stored model of {latest.Parameters.Length} parameters; export with the SecureFed version that trained it");
        }

        // The silos encoded with the post-processed sum (a no-op without privacy); so does the graph.
        var statistics = FeatureStatistics.FromSum(study, FeatureStatistics.PostProcess(study, vector));
        var preprocessing = new ModelPreprocessing(new ModelInputs(study), statistics);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["securefed.study"] = study.Name,
            ["securefed.study_hash"] = studyHash,
            ["securefed.model_hash"] = latest.Hash,
            ["securefed.statistics_hash"] = statisticsHash,
            ["securefed.federation_id"] = federationId,
            ["securefed.ledger_head_hash"] = verification.HeadHash,
            ["securefed.classes"] = JsonSerializer.Serialize(study.Label.Classes),
        };
        var onnx = OnnxModelWriter.Write(spec, latest.Parameters, preprocessing, metadata);
        var card = new ModelCard
        {
            Study = study.Name,
            StudyHash = studyHash,
            StudyDocument = document,
            Label = study.Label.Column,
            Classes = study.Label.Classes,
            Inputs = preprocessing.Inputs.Inputs,
            Architecture = new ModelCardArchitecture(spec.Kind, spec.Describe(), spec.ParameterCount, spec.Layers),
            Rounds = new ModelCardRounds(study.Rounds, completed),
            Metrics = Metrics(federation),
            Privacy = Privacy(federation),
            ModelHash = latest.Hash,
            FederationId = federationId,
            LedgerHeadHash = verification.HeadHash,
            LedgerEntries = verification.Entries,
            StatisticsHash = statisticsHash,
            Preprocessing = preprocessing.Numeric,
            Onnx = new ModelCardOnnx(OnnxFileName, Convert.ToHexStringLower(SHA256.HashData(onnx)), OnnxModelWriter.Opset, OnnxModelWriter.InputName,
                [OnnxModelWriter.ProbabilitiesName, OnnxModelWriter.ClassIndexName]),
            ExportedAt = time.GetUtcNow(),
        };

        Directory.CreateDirectory(outputDirectory);
        var onnxPath = Path.Combine(outputDirectory, OnnxFileName);
        var cardPath = Path.Combine(outputDirectory, CardFileName);
        WriteAtomically(onnxPath, onnx);
        WriteAtomically(cardPath, Encoding.UTF8.GetBytes(card.ToJson()));
        return new ExportResult(onnxPath, cardPath, card);
    }

    private static ModelCardMetrics? Metrics(IReadOnlyList<LedgerEntry> federation) =>
        federation.LastOrDefault(e => e.Status == RoundStatus.Completed && e.Evaluation is not null) is { Evaluation: { } m } e
            ? new ModelCardMetrics(e.Round, StoreLedgerCheck.Kind(e), m.ModelHash, m.Examples, m.Accuracy, m.Loss, m.Contributors)
            : null;

    private static ModelCardPrivacy? Privacy(IReadOnlyList<LedgerEntry> federation)
    {
        if (federation.LastOrDefault(e => e.Privacy is not null) is not { Privacy: { } p })
        {
            return null;
        }

        var spent = federation.LastOrDefault(e => e.CumulativeEpsilon is not null)?.CumulativeEpsilon;
        static double? Finite(double? x) => x is { } v && double.IsFinite(v) ? v : null;
        var chosen = p.Accountant == "exact" ? spent?.Exact : spent?.Rdp;
        return new ModelCardPrivacy(
            p.Mechanism, p.Accountant, Finite(chosen), Finite(spent?.Rdp), Finite(spent?.Exact), p.Delta,
            p.EpsilonBudget > 0 ? p.EpsilonBudget : null, p.NoiseMultiplier, p.ClipNorm, SiloCaps: null);
    }

    /// <summary>summary.json is unsigned, so it only has to agree: a summary of another run is refused.</summary>
    private static void CheckSummary(string path, string modelHash, string studyHash)
    {
        JsonDocument summary;
        try
        {
            summary = JsonDocument.Parse(File.ReadAllText(path, Encoding.UTF8));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not JSON ({ex.Message}); give the summary.json of securefed simulate, or leave it out");
        }

        using var owned = summary;
        var root = summary.RootElement;
        if (root.TryGetProperty("final_model_hash", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() != modelHash)
        {
            throw new ExportRefusedException($"model hash differs: {path} names the final model {m.GetString()}, the store's latest model is {modelHash}");
        }

        if (root.TryGetProperty("study_hash", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() != studyHash)
        {
            throw new ExportRefusedException($"study hash differs: {path} names study {s.GetString()}, the store holds study {studyHash}");
        }
    }

    private static void Require(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{what} not found: {Path.GetFullPath(path)}", path);
        }
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
