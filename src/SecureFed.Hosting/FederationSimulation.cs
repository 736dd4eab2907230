using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Hosting.Internal;
using SecureFed.Identity;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>
/// Runs a whole federation in one process: a coordinator and N agents talking gRPC over real loopback mutual TLS,
/// with certificates minted for this run (the CA's and the coordinator's kept in the output folder so an interrupted
/// run resumes under the same identity), and the coordinator's SQLite store in the output folder. Writes
/// <c>summary.json</c>, <c>simulation.json</c> and the audit report there.
/// </summary>
public static class FederationSimulation
{
    /// <summary>
    /// Secure aggregation settings for a federation: the fixed-point bound covers a clipped delta plus ten standard
    /// deviations of a silo's noise (coordinates beyond it are clamped, which is post-processing of the silo's own
    /// noised update); without privacy, deltas are bounded by 16 per coordinate.
    /// </summary>
    public static Protocol.SecureAggregationPlan SecureAggregationFor(Protocol.PrivacyPlan? privacy, int ringBits) =>
        privacy is null
            ? new Protocol.SecureAggregationPlan(ringBits, 16, 16.0)
            : new Protocol.SecureAggregationPlan(ringBits, privacy.ScaleBits, privacy.ClipNorm + (10 * Protocol.PrivacyCharge.PerClientSigma(privacy)));

    /// <summary>Runs the simulation to completion; <paramref name="progress"/> receives each round's report.</summary>
    public static Task<SimulationResult> RunAsync(SimulationOptions options, IProgress<RoundReport>? progress, CancellationToken cancellationToken) =>
        RunAsync(options, progress, cancellationToken, null);

    /// <summary>
    /// Runs the simulation to completion, or resumes the interrupted one in the output folder (same options, see
    /// <see cref="SimulationRecord"/>). When <paramref name="cancellationToken"/> fires the run stops cleanly instead of
    /// throwing: the attempt in progress is stored and signed as aborted with <paramref name="stopReason"/>'s text,
    /// summary.json and the audit report are written, and the result's <see cref="SimulationResult.Interrupted"/> says so.
    /// </summary>
    public static async Task<SimulationResult> RunAsync(
        SimulationOptions options, IProgress<RoundReport>? progress, CancellationToken cancellationToken, Func<string>? stopReason)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var outDir = Path.GetFullPath(options.OutputDirectory);
        Directory.CreateDirectory(outDir);
        var storePath = Path.Combine(outDir, "federation.db");
        var training = options.EvaluateModelHash is null;
        CheckOutput(options);
        if (!File.Exists(storePath) && options.EvaluateModelHash is not null)
        {
            throw new InvalidOperationException($"--evaluate needs the federation that trained the model: {outDir} holds no federation.db (pass that run's --out)");
        }

        TorchRuntime.EnsureInitialized();
        using var telemetry = Telemetry.Start("securefed-simulation", options.TraceFile ?? Path.Combine(outDir, "traces.jsonl"));
        var (study, tables) = LoadSiloData(options);
        var kind = study.Model.Kind;
        var spec = ModelMapping.SpecOf(study);
        var model = ModelMapping.Describe(spec);
        var silos = tables.Count;
        var siloIds = Enumerable.Range(1, silos).Select(i => $"silo-{i}").ToArray();
        var rounds = options.Rounds > 0 ? options.Rounds : study.Rounds;

        var time = TimeProvider.System;
        var (ca, coordinatorCert) = RunIdentity(outDir, time);
        using var caScope = ca;
        using var coordinatorScope = coordinatorCert;
        var siloCerts = siloIds.Select(id => ca.IssueSilo(SiloId.Parse(id), TimeSpan.FromDays(1))).ToArray();
        using var logs = new FileLoggerProvider(Path.Combine(outDir, "federation.log"), LogLevel.Information);
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));

        var privacy = options.PrivacyEnabled
            ? new Protocol.PrivacyPlan(options.ClipNorm, options.NoiseMultiplier, options.Threshold, options.Colluding, options.Mechanism, options.Accountant, options.Delta, options.EpsilonBudget)
            : null;
        StudyRequirements.Check(study, privacy, "--noise-multiplier");
        var coordinatorOptions = new CoordinatorOptions
        {
            FederationId = $"sim-{study.Name}-{options.Seed}",
            Port = 0,
            Rounds = rounds,
            MinSilos = options.PrivacyEnabled ? options.Threshold : Math.Max(1, (silos + 1) / 2),
            TargetSilos = silos,
            Members = siloIds,
            JoinTimeout = TimeSpan.FromSeconds(30),
            PlanTimeout = options.PlanTimeout,
            TrainTimeout = options.TrainTimeout,
            Dataset = study.Name,
            Model = model,
            Training = ModelMapping.TrainingOf(study, options.Seed),
            ServerOptimizer = ModelMapping.ServerOptimizerOf(study),
            StorePath = storePath,
            StudyHash = study.Hash,
            StudyDocument = study.CanonicalJson,
            StatisticsLength = study.StatisticsLength,
            FederatedEvaluation = true,
            EvaluateModelHash = options.EvaluateModelHash?.ToLowerInvariant(),
            Privacy = privacy,
            SecureAggregation = options.Aggregation == "secure" ? SecureAggregationFor(privacy, options.RingBits) : null,
            MaxConsecutiveAborts = options.Dropout > 0 ? 10 : 3,
        };
        var started = DateTimeOffset.UtcNow;
        await using var coordinator = CoordinatorHost.Create(
            coordinatorOptions, coordinatorCert, ca.Certificate, new InitialModelOnly(spec, options.Seed),
            b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information), time);
        if (progress is not null)
        {
            coordinator.RoundFinished += progress.Report;
        }

        var finished = new System.Collections.Concurrent.ConcurrentQueue<RoundReport>();
        coordinator.RoundFinished += finished.Enqueue;
        if (training)
        {
            new SimulationRecord(SimulationRecord.Running, options).Write();
        }

        await coordinator.StartAsync(cancellationToken);
        using var agentsStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var torchGate = new SemaphoreSlim(1, 1);
        var ledgers = siloIds.Select(id => new SiloPrivacyLedger(Path.Combine(outDir, "silos", $"{id}.ledger.jsonl"))).ToArray();
        var agentTasks = siloIds.Select((id, i) =>
        {
            var policy = new LocalPolicy
            {
                EpsilonCap = options.StrictSilos.Contains(i + 1) ? options.SiloEpsilonCap : 0,
                Delta = options.Delta,
                Accountant = options.Accountant,
            };
            var agent = new SiloAgent(
                new AgentOptions { Coordinator = coordinator.Address, FederationId = coordinatorOptions.FederationId, DropoutProbability = options.Dropout, DropoutSeed = options.Seed + i },
                siloCerts[i], ca.Certificate, new StudyTrainer(tables[i], torchGate, loggerFactory.CreateLogger($"SecureFed.Agent.{id}")), policy,
                loggerFactory.CreateLogger($"SecureFed.Agent.{id}"), time, ledgers[i]);
            return Task.Run(() => agent.RunOnceAsync(agentsStop.Token), CancellationToken.None);
        }).ToArray();

        FederationOutcome outcome;
        string? interrupted = null;
        try
        {
            outcome = await coordinator.Completion.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A clean stop: the attempt in progress is stored and signed as aborted (charged what it revealed) and run
            // again under the same number when `simulate --out` resumes this folder.
            interrupted = stopReason?.Invoke() ?? "the simulation was cancelled";
            await coordinator.StopAsync(interrupted);
            outcome = InterruptedOutcome(coordinator, [.. finished], interrupted, privacy);
        }
        finally
        {
            agentsStop.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                await Task.WhenAll(agentTasks);
            }
            catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException)
            {
                // agents still reconnecting when the federation ended
            }

            foreach (var c in siloCerts)
            {
                c.Dispose();
            }
        }

        var result = new SimulationResult(study.Name, kind, silos, options.SiloData.Count > 0 ? "files" : options.Partition, options.Seed, outcome, storePath, started, DateTimeOffset.UtcNow, coordinatorOptions.Privacy, options.Aggregation)
        {
            RecordEpsilon = study.Privacy is { RecordLevel: true } record
                ? siloIds.Select((id, i) => (id, ledgers[i].RecordEpsilon(record.Accountant, record.Delta))).ToDictionary(x => x.id, x => x.Item2)
                : null,
            StudyHash = study.Hash,
            StatisticsHash = coordinator.Store.Statistics()?.Hash,
        };
        result = result with { Interrupted = interrupted };
        var summary = result.ToJson();
        await File.WriteAllTextAsync(Path.Combine(outDir, "summary.json"), summary, CancellationToken.None);

        // The model leaves only a finished federation: verified against the ledger and the store, written as model.onnx
        // and its card model.json.
        var exported = interrupted is null ? ExportModel(outDir, coordinator.Store, time) : null;
        if (exported is not null)
        {
            result = result with { ExportedModel = exported };
            await File.WriteAllTextAsync(Path.Combine(outDir, "summary.json"), result.ToJson(), CancellationToken.None);
        }

        LedgerReport.Write(coordinator.LedgerPath, coordinatorCert, ca.Certificate, coordinatorOptions.FederationId, outDir, exported?.Report);
        if (training)
        {
            new SimulationRecord(interrupted is null ? SimulationRecord.Completed : SimulationRecord.Interrupted, options).Write();
        }

        return result;
    }

    /// <summary>
    /// Refuses an output folder this run cannot use: one holding a completed federation, a federation without
    /// simulation.json, or an interrupted run started with other options (the message names the option).
    /// </summary>
    public static void CheckOutput(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var outDir = Path.GetFullPath(options.OutputDirectory);
        var saved = SimulationRecord.Read(outDir);
        if (File.Exists(Path.Combine(outDir, "federation.db")) && options.EvaluateModelHash is null)
        {
            if (saved is null)
            {
                throw new InvalidOperationException($"{outDir} already holds a federation (federation.db) that cannot be resumed (no {SimulationRecord.FileName}); choose another --out");
            }

            if (!saved.Resumable)
            {
                throw new InvalidOperationException($"{outDir} holds a completed federation (see its summary.json); choose another --out, or --evaluate one of its models");
            }

            if (saved.Difference(options) is { } difference)
            {
                throw new ArgumentException(
                    $"{outDir} holds an interrupted run with other options: {difference}; resume it with the options it was started with (leave them out: they are read from {SimulationRecord.FileName}), or choose another --out");
            }
        }
    }

    /// <summary>
    /// The run's consortium CA and coordinator certificate: those in the folder when it holds them (a resumed run signs
    /// its ledger entries with the same key and its silos chain to the same CA), otherwise minted now and written there:
    /// public certificates (ca.pem, coordinator.pem) for `securefed audit verify`, keys in keys/ (mode 0600), valid one day.
    /// </summary>
    private static (ConsortiumCa Ca, System.Security.Cryptography.X509Certificates.X509Certificate2 Coordinator) RunIdentity(string outDir, TimeProvider time)
    {
        var caPem = Path.Combine(outDir, "ca.pem");
        var caKey = Path.Combine(outDir, "keys", "ca.key");
        var coordinatorPem = Path.Combine(outDir, "coordinator.pem");
        var coordinatorKey = Path.Combine(outDir, "keys", "coordinator.key");
        if (File.Exists(caKey) && File.Exists(coordinatorKey))
        {
            var loaded = ConsortiumCa.LoadFromFiles(caPem, caKey, time);
            return (loaded, CertificateStore.LoadCertificateWithKey(coordinatorPem, coordinatorKey));
        }

        var ca = ConsortiumCa.Create("securefed-simulation", time, TimeSpan.FromDays(1));
        var coordinator = ca.IssueCoordinator(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        Directory.CreateDirectory(Path.Combine(outDir, "keys"));
        CertificateStore.WriteCertificate(caPem, ca.Certificate);
        CertificateStore.WriteCertificate(coordinatorPem, coordinator);
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            key.ImportFromPem(ca.ExportPrivateKeyPem());
            CertificateStore.WritePrivateKey(caKey, key);
        }

        CertificateStore.WritePrivateKey(coordinatorKey, coordinator);
        return (ca, coordinator);
    }

    /// <summary>
    /// What an interrupted run reached: the rounds reported before the stop, the attempt the stop aborted (from the
    /// store), the newest model and the epsilon the ledger's last entry recomputes.
    /// </summary>
    private static FederationOutcome InterruptedOutcome(CoordinatorHost coordinator, List<RoundReport> reports, string reason, Protocol.PrivacyPlan? privacy)
    {
        var store = coordinator.Store;
        if (store.Rounds().LastOrDefault() is { Status: "aborted" } last && last.AbortReason == reason)
        {
            reports.Add(new RoundReport(last.Round, false, last.Participants, last.Contributors, last.Dropouts, last.Refused, last.Rejected,
                double.NaN, double.NaN, last.ModelHashBefore ?? "", TimeSpan.Zero, reason, Kind: last.Kind));
        }

        var completed = store.Rounds().LastOrDefault(r => r.Status == "completed" && r.Kind == Protocol.RoundKinds.Training);
        var epsilon = double.NaN;
        if (privacy is not null && Audit.AuditLedger.Read(coordinator.LedgerPath).LastOrDefault(e => e.CumulativeEpsilon is not null)?.CumulativeEpsilon is { } spent)
        {
            epsilon = privacy.Accountant == "exact" ? spent.Exact : spent.Rdp;
        }

        return new FederationOutcome(
            store.CompletedRounds(), store.LatestModel()?.Hash ?? "", completed?.Accuracy ?? double.NaN, completed?.Loss ?? double.NaN, reports, epsilon, reason);
    }

    /// <summary>
    /// Exports the run's final model into its folder (as <c>securefed model export --run</c> would), or returns null when
    /// no training round completed. An export this run cannot pass is a defect, reported in the summary rather than thrown.
    /// </summary>
    private static ExportedModel? ExportModel(string outDir, FederationStore store, TimeProvider time)
    {
        if (!store.Rounds().Any(r => r.Status == "completed" && r.Kind == Protocol.RoundKinds.Training))
        {
            return null;
        }

        try
        {
            var export = ModelExport.FederationExporter.Export(ModelExport.ExportSource.FromRunFolder(outDir), ModelMapping.SpecOf, outDir, time);
            var card = export.Card;
            return new ExportedModel(export.OnnxPath, card.Onnx.Sha256, card.ModelHash, card.Architecture.Description, null,
                new Audit.Reports.ReportExportedModel(card.Onnx.File, card.Onnx.Sha256, card.ModelHash, card.LedgerHeadHash, card.Architecture.Description));
        }
        catch (ModelExport.ExportRefusedException ex)
        {
            return new ExportedModel(null, null, null, null, ex.Message, null);
        }
    }

    /// <summary>The study and each silo's rows: one file per silo under --study, or the bundled study's file split over --silos.</summary>
    private static (Study Study, IReadOnlyList<SiloTable> Tables) LoadSiloData(SimulationOptions options)
    {
        var read = options.Separator is { } sep ? new DataReadOptions { Separator = sep } : null;
        if (options.StudyPath is { } path)
        {
            var study = Study.Load(path);
            if (options.Model is { } overridden && overridden != study.Model.Kind)
            {
                throw new ArgumentException(
                    $"--model {overridden} contradicts the study's model ({study.Model.Kind}); the model is part of the study (and its hash): edit the study's \"model\" section instead");
            }

            return (study, [.. options.SiloData.Select(f => SiloTable.Read(study, f, read))]);
        }

        var (studyPath, dataPath) = BundledStudies.Locate(options.Dataset, options.DataDirectory);
        var bundled = Study.Load(studyPath);
        if (options.Model is { } kind)
        {
            // The demo's --model on a bundled dataset trains a variant study (its own hash) with that kind's defaults.
            bundled = ModelMapping.WithModelKind(bundled, kind);
        }

        return (bundled, BundledStudies.Split(SiloTable.Read(bundled, options.DataFile ?? dataPath), options.Silos, options.Partition, options.Seed));
    }
}

/// <summary>What a simulation produced.</summary>
public sealed record SimulationResult(
    string Dataset, string Model, int Silos, string Partition, int Seed, FederationOutcome Outcome, string StorePath,
    DateTimeOffset StartedAt, DateTimeOffset EndedAt, Protocol.PrivacyPlan? Privacy = null, string Aggregation = "plain")
{
    /// <summary>Each silo's record-level epsilon spent (its own ledger, the study's accountant and delta); null without record-level privacy.</summary>
    public IReadOnlyDictionary<string, double>? RecordEpsilon { get; init; }

    /// <summary>Why the run stopped before its end (a signal): it can be resumed with `simulate --out`; null when it ran to its end.</summary>
    public string? Interrupted { get; init; }

    /// <summary>The model the run exported into its folder, or null when no training round completed.</summary>
    public ExportedModel? ExportedModel { get; init; }

    /// <summary>The study's canonical hash (null for a federation without a study).</summary>
    public string? StudyHash { get; init; }

    /// <summary>The hash of the federated feature statistics the silos encoded with.</summary>
    public string? StatisticsHash { get; init; }

    /// <summary>The machine-readable summary (snake_case keys) written to summary.json.</summary>
    public string ToJson()
    {
        var rounds = new JsonArray();
        foreach (var r in Outcome.Rounds)
        {
            rounds.Add(new JsonObject
            {
                ["round"] = r.Round,
                ["completed"] = r.Completed,
                ["accuracy"] = double.IsFinite(r.Accuracy) ? r.Accuracy : null,
                ["loss"] = double.IsFinite(r.Loss) ? r.Loss : null,
                ["participants"] = r.Participants.Count,
                ["contributors"] = r.Contributors,
                ["dropouts"] = r.Dropouts,
                ["refused"] = r.Refused,
                ["rejected"] = r.Rejected,
                ["model_hash"] = r.ModelHash,
                ["duration_ms"] = Math.Round(r.Duration.TotalMilliseconds, 1),
                ["noise_multiplier_charged"] = double.IsFinite(r.ChargedNoiseMultiplier) ? r.ChargedNoiseMultiplier : null,
                ["epsilon"] = double.IsFinite(r.Epsilon) ? r.Epsilon : null,
                ["secagg_survivors"] = r.StageCounts is { } sc
                    ? new JsonObject { ["advertise_keys"] = sc.AdvertiseKeys, ["share_keys"] = sc.ShareKeys, ["masked_input"] = sc.MaskedInput, ["consistency_check"] = sc.ConsistencyCheck, ["unmask"] = sc.Unmask }
                    : null,
                ["abort_reason"] = r.AbortReason,
                ["kind"] = r.Kind,
                ["evaluation"] = r.Evaluation is { } m
                    ? new JsonObject
                    {
                        ["examples"] = m.Examples,
                        ["correct"] = m.Correct,
                        ["loss_sum"] = m.LossSum,
                        ["accuracy"] = double.IsFinite(m.Accuracy) ? m.Accuracy : null,
                        ["loss"] = double.IsFinite(m.Loss) ? m.Loss : null,
                        ["contributors"] = m.Contributors,
                        ["confusion"] = new JsonArray([.. m.Confusion.Select(c => (JsonNode)c)]),
                    }
                    : null,
                ["releases"] = r.Releases is { Count: > 0 } rel
                    ? new JsonArray([.. rel.Select(x => (JsonNode)new JsonObject { ["task"] = x.Task, ["noise_multiplier"] = x.NoiseMultiplier, ["survivors"] = x.Survivors })])
                    : null,
            });
        }

        var json = new JsonObject
        {
            ["dataset"] = Dataset,
            ["study"] = StudyHash is null ? null : Dataset,
            ["study_hash"] = StudyHash,
            ["statistics_hash"] = StatisticsHash,
            ["evaluation"] = StudyHash is null ? "coordinator" : "federated",
            ["model"] = Model,
            ["silos"] = Silos,
            ["partition"] = Partition,
            ["seed"] = Seed,
            ["rounds_completed"] = Outcome.RoundsCompleted,
            ["final_accuracy"] = double.IsFinite(Outcome.FinalAccuracy) ? Outcome.FinalAccuracy : null,
            ["final_loss"] = double.IsFinite(Outcome.FinalLoss) ? Outcome.FinalLoss : null,
            ["final_model_hash"] = Outcome.FinalModelHash,
            ["exported_model"] = ExportedModel is not { } exported ? null : new JsonObject
            {
                ["file"] = exported.OnnxPath is null ? null : Path.GetFileName(exported.OnnxPath),
                ["sha256"] = exported.Sha256,
                ["model_hash"] = exported.ModelHash,
                ["architecture"] = exported.Architecture,
                ["error"] = exported.Error,
            },
            ["aggregation"] = Aggregation,
            ["privacy"] = Privacy is null ? "off" : Privacy.Mechanism,
            ["epsilon"] = double.IsFinite(Outcome.Epsilon) ? Outcome.Epsilon : null,
            ["record_epsilon"] = RecordEpsilon is null ? null : new JsonObject(RecordEpsilon.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["delta"] = Privacy?.Delta,
            ["accountant"] = Privacy?.Accountant,
            ["noise_multiplier"] = Privacy?.NoiseMultiplier,
            ["clip_norm"] = Privacy?.ClipNorm,
            ["threshold"] = Privacy?.Threshold,
            ["epsilon_budget"] = Privacy is { EpsilonBudget: > 0 } ? Privacy.EpsilonBudget : null,
            ["stop_reason"] = Outcome.StopReason,
            ["interrupted"] = Interrupted is not null,
            ["store"] = StorePath,
            ["started_at"] = StartedAt.ToString("O", CultureInfo.InvariantCulture),
            ["ended_at"] = EndedAt.ToString("O", CultureInfo.InvariantCulture),
            ["rounds"] = rounds,
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}

/// <summary>The model a simulation exported (or why it could not).</summary>
/// <param name="OnnxPath">Path of model.onnx (its card model.json is beside it); null when the export was refused.</param>
/// <param name="Sha256">SHA-256 of model.onnx.</param>
/// <param name="ModelHash">The exported parameters' model hash.</param>
/// <param name="Architecture">The model's one-line description.</param>
/// <param name="Error">Why the export was refused; null when it succeeded.</param>
/// <param name="Report">What the audit report says about it.</param>
public sealed record ExportedModel(string? OnnxPath, string? Sha256, string? ModelHash, string? Architecture, string? Error, Audit.Reports.ReportExportedModel? Report);
