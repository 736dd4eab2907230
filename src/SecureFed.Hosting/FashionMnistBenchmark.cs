using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SecureFed.Coordinator;
using SecureFed.Privacy;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>Settings of <see cref="FashionMnistBenchmark"/> (checked by <see cref="Validate"/>).</summary>
public sealed record FashionMnistBenchmarkOptions
{
    /// <summary>Number of silos the training images are split over.</summary>
    public int Silos { get; init; } = 10;

    /// <summary>Partition spec: <c>iid</c> or <c>label-skew:ALPHA</c> (Dirichlet, as <see cref="Partitioner"/> spells it).</summary>
    public string Partition { get; init; } = "iid";

    /// <summary>Rounds; 0 runs the study's rounds.</summary>
    public int Rounds { get; init; }

    /// <summary>Seed of the partition, the initial model and training.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Folder of <c>train-images-idx3-ubyte.gz</c> and its labels file (the Debian package's by default).</summary>
    public string TrainDirectory { get; init; } = BundledStudies.FashionMnistTrainDirectory;

    /// <summary>Output folder of the federation (store, log, summary.json, bench.json); must not hold a federation.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Folder of the bundled datasets (the study and the 10,000-image test split); null searches upwards for data/.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Deadline of each silo's local training (the silos of one process train one at a time).</summary>
    public TimeSpan TrainTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Record-level epsilon (at <see cref="RecordDelta"/>) each silo's DP-SGD is calibrated to over the rounds run; 0
    /// trains without record-level privacy, as the bundled study does.
    /// </summary>
    public double RecordEpsilon { get; init; }

    /// <summary>The record-level delta of <see cref="RecordEpsilon"/>.</summary>
    public double RecordDelta { get; init; } = 1e-5;

    /// <summary>DP-SGD's expected (Poisson) batch: q = this over a silo's training rows. Only with <see cref="RecordEpsilon"/>.</summary>
    public int ExpectedBatch { get; init; } = 64;

    /// <summary>DP-SGD's per-example clip norm. Only with <see cref="RecordEpsilon"/>.</summary>
    public double Clip { get; init; } = 1.0;

    /// <summary>The local learning rate instead of the study's; null keeps the study's.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The local SGD momentum instead of the study's; null keeps the study's.</summary>
    public double? Momentum { get; init; }

    /// <summary>Local epochs per round instead of the study's; null keeps the study's.</summary>
    public int? Epochs { get; init; }

    /// <summary>
    /// The model's activation (<c>relu</c>, <c>tanh</c> or <c>sigmoid</c>) instead of the study's; null keeps the study's.
    /// Bounded activations such as tanh suit DP-SGD's clipped gradients (Papernot et al., "Tempered Sigmoid Activations
    /// for Deep Learning with Differential Privacy", AAAI 2021).
    /// </summary>
    public string? Activation { get; init; }

    /// <summary>Whether the run trains a variant of the bundled study (record privacy, changed local training or model).</summary>
    public bool ChangesStudy => RecordEpsilon > 0 || LearningRate is not null || Momentum is not null || Epochs is not null || Activation is not null;

    /// <summary>The training images file: <c>train-images-idx3-ubyte.gz</c>, or the uncompressed one, in <see cref="TrainDirectory"/>.</summary>
    public string TrainImages
    {
        get
        {
            var gz = Path.Combine(TrainDirectory, "train-images-idx3-ubyte.gz");
            var raw = Path.Combine(TrainDirectory, "train-images-idx3-ubyte");
            return !File.Exists(gz) && File.Exists(raw) ? raw : gz;
        }
    }

    /// <summary>Checks every option; throws naming the option, its value and the fix.</summary>
    public FashionMnistBenchmarkOptions Validate()
    {
        if (Silos is < 2 or > 200)
        {
            throw new ArgumentException($"--silos {Silos} is invalid: must be within 2..200 (secure aggregation needs at least 2)");
        }

        if (Rounds is < 0 or > 10_000)
        {
            throw new ArgumentException($"--rounds {Rounds} is invalid: must be within 1..10000 (or 0 for the study's rounds)");
        }

        if (PartitionSpec.Parse(Partition).Kind == PartitionKind.Feature)
        {
            throw new ArgumentException($"--partition {Partition} is invalid: use iid or label-skew:ALPHA (a pixel is no natural split)");
        }

        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new ArgumentException("--out is empty: must name a folder");
        }

        ValidateStudyChanges();
        if (!File.Exists(TrainImages))
        {
            throw new FileNotFoundException(
                $"the Fashion-MNIST training images are not in {Path.GetFullPath(TrainDirectory)} (looked for train-images-idx3-ubyte.gz); install them with `apt-get install -y dataset-fashion-mnist`, or give --train-dir",
                TrainImages);
        }

        return this;
    }

    private void ValidateStudyChanges()
    {
        // The study parser checks the variant again and has the last word; these name the option that was wrong.
        if (!double.IsFinite(RecordEpsilon) || RecordEpsilon < 0 || RecordEpsilon > 1e3 || (RecordEpsilon > 0 && RecordEpsilon < 1e-3))
        {
            throw new ArgumentException(Invariant($"--record-epsilon {RecordEpsilon} is invalid: must be within 0.001..1000 (or 0 for no record-level privacy)"));
        }

        if (RecordDelta is < 1e-12 or > 0.1 || double.IsNaN(RecordDelta))
        {
            throw new ArgumentException(Invariant($"--record-delta {RecordDelta} is invalid: must be within 1e-12..0.1"));
        }

        if (RecordEpsilon == 0 && (ExpectedBatch != 64 || Clip != 1.0 || RecordDelta != 1e-5))
        {
            throw new ArgumentException("--expected-batch, --clip and --record-delta are DP-SGD settings: they need --record-epsilon");
        }

        if (ExpectedBatch is < 1 or > 65_536)
        {
            throw new ArgumentException(Invariant($"--expected-batch {ExpectedBatch} is invalid: must be within 1..65536"));
        }

        if (!double.IsFinite(Clip) || Clip < 1e-6 || Clip > 1e6)
        {
            throw new ArgumentException(Invariant($"--clip {Clip} is invalid: must be within 1e-6..1e6"));
        }

        if (LearningRate is { } rate && (!double.IsFinite(rate) || rate <= 0 || rate > 10))
        {
            throw new ArgumentException(Invariant($"--learning-rate {rate} is invalid: must be within (0, 10]"));
        }

        if (Momentum is { } momentum && (!double.IsFinite(momentum) || momentum < 0 || momentum > 0.999))
        {
            throw new ArgumentException(Invariant($"--momentum {momentum} is invalid: must be within 0..0.999"));
        }

        if (Epochs is < 1 or > 1000)
        {
            throw new ArgumentException(Invariant($"--epochs {Epochs} is invalid: must be within 1..1000"));
        }

        if (Activation is { } activation && !Activations.Contains(activation, StringComparer.Ordinal))
        {
            throw new ArgumentException($"--activation {activation} is invalid: must be one of {string.Join(", ", Activations)}");
        }
    }

    /// <summary>The activations a study's model may name (the study parser has the last word).</summary>
    private static readonly string[] Activations = ["relu", "tanh", "sigmoid"];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The Fashion-MNIST study at real size: the in-process federation of <see cref="FederationSimulation"/> (secure
/// aggregation, no privacy, federated statistics and evaluation) over the 60,000 training images split over the silos,
/// then the final model evaluated centrally on the official 10,000-image test split, encoded with the federation's
/// statistics. Reports accuracy by round, wall time per round, peak memory and the parameter count; it measures and
/// never asserts (figures vary by machine).
/// </summary>
public static class FashionMnistBenchmark
{
    /// <summary>The held-out accuracy the issue asks the IID study to reach.</summary>
    public const double TargetAccuracy = 0.89;

    /// <summary>Runs the benchmark and returns one JSON object; <paramref name="progress"/> gets one line per stage and round.</summary>
    public static async Task<JsonObject> RunAsync(FashionMnistBenchmarkOptions options, TextWriter? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        progress ??= TextWriter.Null;
        var (studyPath, testImages) = BundledStudies.Locate(BundledStudies.FashionMnist, options.DataDirectory);
        var study = Study.Load(studyPath);
        var dataDirectory = options.DataDirectory;
        if (options.ChangesStudy)
        {
            (study, dataDirectory) = WriteVariant(study, testImages, options);
        }

        var spec = ModelMapping.SpecOf(study);
        var rounds = options.Rounds > 0 ? options.Rounds : study.Rounds;
        progress.WriteLine(Invariant($"fashion-mnist: {study.Model.Kind} of {spec.ParameterCount} parameters, {options.Silos} silos ({options.Partition}), {rounds} rounds, training images {options.TrainImages}"));

        var clock = Stopwatch.StartNew();
        var recorder = new RoundRecorder(clock, progress);
        var result = await FederationSimulation.RunAsync(
            new SimulationOptions
            {
                Dataset = BundledStudies.FashionMnist,
                DataFile = options.TrainImages,
                DataDirectory = dataDirectory,
                Silos = options.Silos,
                Partition = options.Partition,
                Rounds = rounds,
                Seed = options.Seed,
                OutputDirectory = options.OutputDirectory,
                TrainTimeout = options.TrainTimeout,
                PlanTimeout = TimeSpan.FromMinutes(5),
            },
            recorder,
            cancellationToken).ConfigureAwait(false);
        var federationSeconds = clock.Elapsed.TotalSeconds;

        progress.WriteLine("evaluating the final model on the 10,000-image test split");
        var test = EvaluateCentrally(study, spec, result, testImages);
        var training = result.Outcome.Rounds.Where(r => r.Kind == Protocol.RoundKinds.Training).ToList();
        var reached = recorder.Rounds.FirstOrDefault(r => r.Accuracy >= TargetAccuracy);
        var json = new JsonObject
        {
            ["benchmark"] = "fashion-mnist",
            ["study"] = study.Name,
            ["study_hash"] = study.Hash,
            ["model"] = study.Model.Kind,
            ["parameters"] = spec.ParameterCount,
            ["silos"] = options.Silos,
            ["partition"] = options.Partition,
            ["seed"] = options.Seed,
            ["aggregation"] = result.Aggregation,
            ["privacy"] = study.Privacy is { RecordLevel: true } ? "record" : "off",
            ["train_images"] = test.TrainRows,
            ["train_file"] = Path.GetFullPath(options.TrainImages),
            ["holdout"] = study.Holdout,
            ["rounds_completed"] = result.Outcome.RoundsCompleted,
            ["statistics_round_s"] = Seconds(result.Outcome.Rounds.FirstOrDefault(r => r.Kind == Protocol.RoundKinds.Statistics)?.Duration),
            ["rounds"] = new JsonArray([.. training.Select(r => (JsonNode)new JsonObject
            {
                ["round"] = r.Round,
                ["completed"] = r.Completed,
                ["accuracy"] = Finite(AccuracyOf(r)),
                ["loss"] = Finite(r.Evaluation?.Loss ?? r.Loss),
                ["seconds"] = Seconds(r.Duration),
                ["elapsed_s"] = recorder.Rounds.FirstOrDefault(x => x.Round == r.Round)?.ElapsedSeconds,
            })]),
            ["final_federated_accuracy"] = Finite(result.Outcome.FinalAccuracy),
            ["target_accuracy"] = TargetAccuracy,
            ["rounds_to_target"] = reached?.Round,
            ["elapsed_s_to_target"] = reached?.ElapsedSeconds,
            ["test_images"] = test.Result.Examples,
            ["test_accuracy"] = Math.Round(test.Result.Accuracy, 6),
            ["test_loss"] = Math.Round(test.Result.Loss, 6),
            ["mean_round_s"] = training.Count > 0 ? Math.Round(training.Average(r => r.Duration.TotalSeconds), 3) : null,
            ["federation_s"] = Math.Round(federationSeconds, 3),
            ["total_s"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
            ["peak_working_set_mb"] = Math.Round(PeakWorkingSetBytes() / (1024.0 * 1024.0), 1),
            ["processors"] = Environment.ProcessorCount,
            ["final_model_hash"] = result.Outcome.FinalModelHash,
            ["out"] = Path.GetFullPath(options.OutputDirectory),
        };
        if (options.ChangesStudy)
        {
            json["local_training"] = new JsonObject
            {
                ["epochs"] = study.Training.Epochs,
                ["optimizer"] = study.Training.Optimizer,
                ["learning_rate"] = study.Training.LearningRate,
                ["momentum"] = study.Training.Momentum,
                ["batch_size"] = study.Training.BatchSize,
                ["activation"] = study.Model.Activation,
            };
        }

        if (study.Privacy is { RecordLevel: true } record)
        {
            json["record_privacy"] = new JsonObject
            {
                ["epsilon_target"] = record.Epsilon,
                ["delta"] = record.Delta,
                ["clip"] = record.Clip,
                ["expected_batch"] = record.ExpectedBatch,
                ["accountant"] = record.Accountant,
                ["planned_rounds"] = study.Rounds,
            };
            json["record_epsilon"] = result.RecordEpsilon is { } spent
                ? new JsonObject(spent.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Finite(kv.Value))))
                : null;
            json["record_ledgers"] = RecordLedgers(options.OutputDirectory, options.Silos, record.Delta);
        }

        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "bench.json"), json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), cancellationToken).ConfigureAwait(false);
        return json;
    }

    /// <summary>
    /// The bundled study with the options' changes (a record-level <c>privacy</c> section whose noise is calibrated to the
    /// rounds run, the local learning rate, momentum, epochs, the model's activation), built from its canonical JSON as
    /// <see cref="ModelMapping.WithModelKind"/> builds a model variant: its own hash, and the bundled file untouched. It
    /// is written to <c>study/fashion_mnist/study.json</c> under the output folder next to links to the bundled test
    /// split, which is then the data folder of the run, so the run folder shows what was trained.
    /// </summary>
    private static (Study Study, string DataDirectory) WriteVariant(Study bundled, string testImages, FashionMnistBenchmarkOptions options)
    {
        var outDir = Path.GetFullPath(options.OutputDirectory);
        if (File.Exists(Path.Combine(outDir, "federation.db")))
        {
            // Checked again by the simulation; here so that nothing is written into another run's folder.
            throw new InvalidOperationException($"{outDir} already holds a federation (federation.db); choose another --out");
        }

        var document = JsonNode.Parse(bundled.CanonicalJson)!.AsObject();
        var training = document["training"] as JsonObject ?? [];
        document["training"] = training;
        if (options.LearningRate is { } rate)
        {
            training["learning_rate"] = rate;
        }

        if (options.Momentum is { } momentum)
        {
            training["momentum"] = momentum;
        }

        if (options.Epochs is { } epochs)
        {
            training["epochs"] = epochs;
        }

        if (options.Activation is { } activation)
        {
            var model = document["model"] as JsonObject ?? [];
            document["model"] = model;
            model["activation"] = activation;
        }

        if (options.RecordEpsilon > 0)
        {
            // Each silo calibrates its noise to the study's rounds, so the study says the rounds this run trains.
            if (options.Rounds > 0)
            {
                document["rounds"] = options.Rounds;
            }

            document["privacy"] = new JsonObject
            {
                ["unit"] = "record",
                ["epsilon"] = options.RecordEpsilon,
                ["delta"] = options.RecordDelta,
                ["clip"] = options.Clip,
                ["expected_batch"] = options.ExpectedBatch,
                ["accountant"] = "rdp",
            };
        }

        var text = document.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var study = Study.Parse(text, $"study {bundled.Name} of the benchmark's options");
        var folder = Path.Combine(outDir, "study", Path.GetFileName(Path.GetDirectoryName(testImages)!));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "study.json"), text);
        foreach (var name in new[] { Path.GetFileName(testImages), Path.GetFileName(testImages).Replace("images-idx3", "labels-idx1", StringComparison.Ordinal) })
        {
            var link = Path.Combine(folder, name);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, Path.Combine(Path.GetDirectoryName(testImages)!, name));
            }
        }

        return (study, Path.Combine(outDir, "study"));
    }

    /// <summary>
    /// Each silo's record-level epsilon recomputed from its own ledger (the (sigma, q, steps) of every DP-SGD run it
    /// recorded) by both accountants: the silos calibrate by RDP, and PLD is the tighter bound of the same steps.
    /// </summary>
    private static JsonObject RecordLedgers(string outputDirectory, int silos, double delta)
    {
        var ledgers = new JsonObject();
        for (var i = 1; i <= silos; i++)
        {
            var path = Path.Combine(Path.GetFullPath(outputDirectory), "silos", $"silo-{i}.ledger.jsonl");
            if (!File.Exists(path))
            {
                continue;
            }

            var entries = new Agent.SiloPrivacyLedger(path).Entries.Where(e => e.Task == Agent.SiloPrivacyLedger.RecordTask).ToList();
            var history = entries.Select(e => (e.NoiseMultiplier, e.SamplingRate, checked((int)e.Steps))).ToList();
            ledgers[$"silo-{i}"] = new JsonObject
            {
                ["entries"] = entries.Count,
                ["steps"] = entries.Sum(e => e.Steps),
                ["noise_multiplier"] = entries.Count > 0 ? Math.Round(entries[0].NoiseMultiplier, 6) : null,
                ["sampling_rate"] = entries.Count > 0 ? Math.Round(entries[0].SamplingRate, 8) : null,
                ["epsilon_rdp"] = history.Count > 0 ? Finite(PrivacyAccountants.ComputeEpsilon(AccountantKind.Rdp, history, delta)) : 0,
                ["epsilon_pld"] = history.Count > 0 ? Finite(PrivacyAccountants.ComputeEpsilon(AccountantKind.Pld, history, delta)) : 0,
            };
        }

        return ledgers;
    }

    /// <summary>
    /// The process's peak resident set: <c>VmHWM</c> of <c>/proc/self/status</c> on Linux (what the kernel counted,
    /// native torch memory included), else the runtime's peak working set.
    /// </summary>
    public static long PeakWorkingSetBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                // "VmHWM:	  123456 kB"
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal)
                    && long.TryParse(line["VmHWM:".Length..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                {
                    return kb * 1024;
                }
            }
        }

        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>
    /// The final model on the test split, encoded as every silo encoded its rows: with the federated statistics the
    /// store holds (the sum of the silos' shares, post-processed as the silos did).
    /// </summary>
    private static (EvaluationResult Result, long TrainRows) EvaluateCentrally(Study study, ModelSpec spec, SimulationResult result, string testImages)
    {
        var store = FederationStore.Open(result.StorePath, $"sim-{study.Name}-{result.Seed}");
        var statistics = store.Statistics() ?? throw new InvalidOperationException("the federation stored no feature statistics; it ended before its statistics round");
        var model = (result.Outcome.FinalModelHash is { } hash ? store.ModelByHash(hash) : store.LatestModel())
            ?? throw new InvalidOperationException("the federation stored no model");
        var global = FeatureStatistics.FromSum(study, FeatureStatistics.PostProcess(study, statistics.Vector));
        var encoder = new StudyEncoder(study, global);
        var table = SiloTable.Read(study, testImages);
        var names = study.Inputs.Select(i => i.Column).ToArray();
        var data = new TabularDataset($"{study.Name}/test", names, encoder.Encode(table), encoder.Labels(table), study.ClassCount);
        return (Evaluator.Evaluate(spec, model.Parameters, data), (long)Math.Round(global.Rows));
    }

    private static double AccuracyOf(RoundReport r) => r.Evaluation?.Accuracy ?? r.Accuracy;

    private static double? Finite(double value) => double.IsFinite(value) ? Math.Round(value, 6) : null;

    private static double? Seconds(TimeSpan? duration) => duration is { } d ? Math.Round(d.TotalSeconds, 3) : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record RecordedRound(long Round, double Accuracy, double ElapsedSeconds);

    /// <summary>
    /// Takes each round's report as the coordinator publishes it (synchronously, so the elapsed time is the round's
    /// end, not a later thread-pool callback) and prints one line per round.
    /// </summary>
    private sealed class RoundRecorder(Stopwatch clock, TextWriter progress) : IProgress<RoundReport>
    {
        private readonly Lock _lock = new();
        private readonly List<RecordedRound> _rounds = [];

        public IReadOnlyList<RecordedRound> Rounds
        {
            get
            {
                lock (_lock)
                {
                    return [.. _rounds];
                }
            }
        }

        public void Report(RoundReport value)
        {
            var elapsed = Math.Round(clock.Elapsed.TotalSeconds, 3);
            var accuracy = AccuracyOf(value);
            if (value.Kind == Protocol.RoundKinds.Training && value.Completed)
            {
                lock (_lock)
                {
                    _rounds.Add(new RecordedRound(value.Round, accuracy, elapsed));
                }
            }

            var peak = PeakWorkingSetBytes() / (1024 * 1024);
            progress.WriteLine(value.Kind == Protocol.RoundKinds.Training
                ? Invariant($"round {value.Round}: {(value.Completed ? "" : "aborted, ")}held-out accuracy {accuracy:F4}, {value.Duration.TotalSeconds:F1} s (elapsed {elapsed:F1} s, peak {peak} MB)")
                : Invariant($"{value.Kind} round: {value.Duration.TotalSeconds:F1} s (elapsed {elapsed:F1} s, peak {peak} MB)"));
        }
    }
}
