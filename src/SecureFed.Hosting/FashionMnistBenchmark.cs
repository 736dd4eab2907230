using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SecureFed.Coordinator;
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

        if (!File.Exists(TrainImages))
        {
            throw new FileNotFoundException(
                $"the Fashion-MNIST training images are not in {Path.GetFullPath(TrainDirectory)} (looked for train-images-idx3-ubyte.gz); install them with `apt-get install -y dataset-fashion-mnist`, or give --train-dir",
                TrainImages);
        }

        return this;
    }
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
                DataDirectory = options.DataDirectory,
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
            ["privacy"] = "off",
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
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "bench.json"), json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), cancellationToken).ConfigureAwait(false);
        return json;
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
