using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Privacy;
using SecureFed.Protocol;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>
/// A silo's local work under a study (DESIGN section 7): reads the silo's own file against the study the plan
/// carries, computes its share of the feature statistics, encodes its rows with the federated statistics (the same
/// encoding every silo and the exported model use), holds out <c>evaluation.holdout</c> of them (seeded), trains on
/// the rest and evaluates models on the held-out rows. Only vectors leave: statistics, deltas, evaluation sums. The
/// rows stay inside this object. Calls come from the agent's read loop, one at a time.
/// </summary>
public sealed class StudyTrainer : ILocalTrainer
{
    private readonly string? _dataPath;
    private readonly DataReadOptions? _readOptions;
    private readonly SemaphoreSlim _torch;
    private readonly ILogger _logger;
    private SiloTable? _table;
    private Prepared? _prepared;

    /// <summary>A trainer over rows already read under their study (simulations split one file over silos this way).</summary>
    public StudyTrainer(SiloTable table, SemaphoreSlim? torchGate = null, ILogger? logger = null)
    {
        _table = table ?? throw new ArgumentNullException(nameof(table));
        _torch = torchGate ?? new SemaphoreSlim(1, 1);
        _logger = logger ?? NullLogger.Instance;
        Dataset = table.Study.Name;
    }

    /// <summary>
    /// A trainer over the silo's own file, read when the first plan brings its study (the silo needs no copy of the
    /// study; its policy may pin the study hashes it accepts). <paramref name="pinned"/>, when given, is the only
    /// study this silo serves, and the file is checked against it at once.
    /// </summary>
    public StudyTrainer(string dataPath, DataReadOptions? options = null, Study? pinned = null, SemaphoreSlim? torchGate = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataPath);
        _dataPath = Path.GetFullPath(dataPath);
        _readOptions = options;
        _torch = torchGate ?? new SemaphoreSlim(1, 1);
        _logger = logger ?? NullLogger.Instance;
        if (!File.Exists(_dataPath))
        {
            throw new FileNotFoundException($"the silo's data file {_dataPath} does not exist (option Agent:Data:Path)", _dataPath);
        }

        if (pinned is not null)
        {
            _table = SiloTable.Read(pinned, _dataPath, _readOptions);
            Log.RowsRead(_logger, _table.RowCount, _dataPath, pinned.Name);
        }

        Dataset = pinned?.Name ?? string.Empty;
    }

    /// <inheritdoc />
    /// <remarks>The study's name; empty when the silo serves whatever study its file fits.</remarks>
    public string Dataset { get; }

    /// <summary>Rows this silo holds (null until a study was read).</summary>
    public int? RowCount => _table?.RowCount;

    /// <inheritdoc />
    public void CheckPlan(RoundPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var study = TableFor(plan).Study;
        if (plan.Kind != RoundKinds.Statistics)
        {
            if (plan.Model.InputDim != study.InputWidth || plan.Model.ClassCount != study.ClassCount)
            {
                throw new PolicyRefusedException(
                    $"the plan's model takes {plan.Model.InputDim} inputs and {plan.Model.ClassCount} classes; study {study.Name} encodes {study.InputWidth} inputs and {study.ClassCount} classes");
            }

            ModelMapping.SpecFor(plan, study);
            ModelMapping.ToSettings(plan.Training);
            Prepare(plan);
        }
    }

    /// <inheritdoc />
    public double[] ComputeStatistics(RoundPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var local = FeatureStatistics.Local(TableFor(plan));
        var bound = plan.Task(SumTask.Statistics)?.MaxAbsValue ?? SumTask.CountBound;
        var largest = FeatureStatistics.MaxAbsEntry(local);
        if (largest > bound)
        {
            // Refuse rather than let secure aggregation clamp a sum: the federated statistics would be silently wrong.
            throw new PolicyRefusedException(
                $"a feature sum or sum of squares of this silo's data ({largest:G3}) exceeds the statistics bound {bound:G3}; rescale that column (for example to thousands) in the data and the study");
        }

        return local;
    }

    /// <inheritdoc />
    public async Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var prepared = Prepare(plan);
        var spec = ModelMapping.SpecFor(plan, prepared.Study);
        var settings = ModelMapping.ToSettings(plan.Training);
        var record = RecordPrivacyFor(plan);
        if (record is not null)
        {
            settings = settings with
            {
                RecordPrivacy = new RecordPrivacySettings
                {
                    ClipNorm = prepared.Study.Privacy!.Clip, NoiseMultiplier = record.NoiseMultiplier, SamplingRate = record.SamplingRate,
                },
            };
        }

        await _torch.WaitAsync(cancellationToken);
        try
        {
            var result = await Task.Run(() => LocalTrainer.Train(spec, globalParameters, prepared.Train, settings), cancellationToken);
            return new LocalUpdate(result.Delta, result.Examples)
            {
                RecordPrivacy = result.RecordPrivacy is { } spent && record is not null ? record with { Steps = spent.Steps } : null,
                TrainLoss = result.TrainLoss,
            };
        }
        finally
        {
            _torch.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// q is the study's expected batch over this silo's training rows; each round runs epochs x round(1/q) steps. With a
    /// fixed noise multiplier that is used; with an epsilon target the silo calibrates, once, the smallest noise that keeps
    /// the study's planned rounds within the target by RDP (never below PLD, so the target holds under either).
    /// </remarks>
    public RecordSpend? RecordPrivacyFor(RoundPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Kind != RoundKinds.Training)
        {
            return null;
        }

        var prepared = Prepare(plan);
        if (prepared.Study.Privacy is not { RecordLevel: true } privacy)
        {
            return null;
        }

        if (_record is { } cached && cached.Key == (prepared.StudyHash, prepared.Train.RowCount, plan.Training.Epochs))
        {
            return cached.Spend;
        }

        var q = RecordPrivacySettings.SamplingRateFor(privacy.ExpectedBatch, prepared.Train.RowCount);
        var steps = (long)plan.Training.Epochs * RecordPrivacySettings.StepsPerEpochFor(q);
        double z;
        try
        {
            z = privacy.NoiseMultiplier
                ?? NoiseCalibrator.Calibrate(privacy.Epsilon!.Value, privacy.Delta, checked((int)(steps * prepared.Study.Rounds)), q, AccountantKind.Rdp);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new PolicyRefusedException(FormattableString.Invariant(
                $"no DP-SGD noise keeps {prepared.Study.Rounds} rounds of {steps} steps at q = {q:G4} within record-level epsilon {privacy.Epsilon} for this silo's {prepared.Train.RowCount} rows; the study needs a larger epsilon, fewer rounds or a smaller expected batch"));
        }

        var spend = new RecordSpend(z, q, steps, privacy.Delta, privacy.Accountant) { Target = privacy.Epsilon };
        _record = ((prepared.StudyHash, prepared.Train.RowCount, plan.Training.Epochs), spend);
        return spend;
    }

    /// <inheritdoc />
    public async Task<double[]> EvaluateAsync(RoundPlan plan, float[] model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var prepared = Prepare(plan);
        var spec = ModelMapping.SpecFor(plan, prepared.Study);
        await _torch.WaitAsync(cancellationToken);
        try
        {
            var counts = await Task.Run(() => Evaluator.Count(spec, model, prepared.Holdout), cancellationToken);
            return EvaluationSums.Encode(counts.Examples, counts.Correct, counts.LossSum, counts.Confusion, spec.ClassCount);
        }
        finally
        {
            _torch.Release();
        }
    }

    /// <summary>The silo's rows under the plan's study; refuses a plan whose study this silo's file does not fit.</summary>
    private SiloTable TableFor(RoundPlan plan)
    {
        if (string.IsNullOrEmpty(plan.StudyHash))
        {
            throw new PolicyRefusedException("the plan declares no study; this silo serves studies only");
        }

        if (_table is { } table && string.Equals(table.Study.Hash, plan.StudyHash, StringComparison.Ordinal))
        {
            return table;
        }

        if (_dataPath is null || (_table is not null && Dataset.Length > 0))
        {
            throw new PolicyRefusedException($"study {Short(plan.StudyHash)} is not the study this silo serves ({Short(_table?.Study.Hash ?? "")})");
        }

        Study study;
        try
        {
            study = Study.Parse(plan.StudyDocument, "the plan's study");
        }
        catch (StudyFormatException ex)
        {
            throw new PolicyRefusedException($"the plan's study does not parse: {ex.Message}");
        }

        if (!string.Equals(study.Hash, plan.StudyHash, StringComparison.Ordinal))
        {
            throw new PolicyRefusedException("the plan's study document does not match its study hash");
        }

        try
        {
            _table = SiloTable.Read(study, _dataPath, _readOptions);
            _prepared = null;
            Log.RowsRead(_logger, _table.RowCount, _dataPath, study.Name);
            return _table;
        }
        catch (DataFormatException ex)
        {
            // The full message (with the offending value) stays in the silo's own log; the coordinator learns only where.
            Log.DataRefused(_logger, ex.Message);
            throw new PolicyRefusedException(
                $"this silo's data does not fit study {study.Name}: {(ex.IsRowNumber ? "row" : "line")} {ex.Line}{(ex.Column is null ? "" : $", column '{Cut(ex.Column)}'")} (details in the silo's log)");
        }
    }

    /// <summary>The encoded train and held-out rows under the plan's federated statistics (cached per statistics hash).</summary>
    private Prepared Prepare(RoundPlan plan)
    {
        var table = TableFor(plan);
        if (_prepared is { } p && p.StatisticsHash == plan.StatisticsHash && p.StudyHash == plan.StudyHash)
        {
            return p;
        }

        if (plan.Statistics is not { Count: > 0 } stats)
        {
            throw new PolicyRefusedException("the plan carries no federated statistics to encode this silo's rows with");
        }

        GlobalStatistics global;
        try
        {
            // Under differential privacy the sum carries noise; post-processing makes it consistent at no privacy cost.
            global = FeatureStatistics.FromSum(table.Study, FeatureStatistics.PostProcess(table.Study, [.. stats]));
        }
        catch (ArgumentException ex)
        {
            throw new PolicyRefusedException($"the plan's federated statistics do not fit study {table.Study.Name}: {ex.Message}");
        }

        var study = table.Study;
        var encoder = new StudyEncoder(study, global);
        var features = encoder.Encode(table);
        var labels = encoder.Labels(table);
        var names = study.Inputs.Select(i => i.Category is { } c ? $"{i.Column}={c}" : i.MissingLevel ? $"{i.Column}=(missing)" : i.Column).ToArray();
        var all = new TabularDataset($"{study.Name}/{Path.GetFileName(table.Source)}", names, features, labels, study.ClassCount);
        var (train, holdout) = HoldoutSplit.Split(labels, study.ClassCount, study.Holdout, study.EvaluationSeed);
        _prepared = new Prepared(study, plan.StudyHash, plan.StatisticsHash, all.Subset(train, all.Name + "/train"), all.Subset(holdout, all.Name + "/holdout"));
        Log.RowsUsed(_logger, table.RowCount, _prepared.Train.RowCount, _prepared.Holdout.RowCount, study.Holdout);
        return _prepared;
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;

    private static string Cut(string s) => s.Length <= 64 ? s : s[..64];

    private ((string StudyHash, int Rows, int Epochs) Key, RecordSpend Spend)? _record;

    private sealed record Prepared(Study Study, string StudyHash, string StatisticsHash, TabularDataset Train, TabularDataset Holdout);
}

/// <summary>
/// The coordinator's model provider when it holds no data (a study's federation): the initial parameters only; the
/// round's quality comes from the silos' federated evaluation sums.
/// </summary>
public sealed class InitialModelOnly(ModelSpec spec, int seed) : IModelEvaluator
{
    /// <summary>The initial parameters of a descriptor's model (a federation without a study).</summary>
    public InitialModelOnly(ModelDescriptor model, int seed)
        : this(ModelMapping.ToSpec(model), seed)
    {
    }

    /// <inheritdoc />
    public bool HoldsTestData => false;

    /// <inheritdoc />
    public float[] InitialParameters() => ModelFactory.InitialParameters(spec, seed);

    /// <inheritdoc />
    public ModelQuality Evaluate(float[] parameters) => new(double.NaN, double.NaN);
}

internal static partial class Log
{
    [LoggerMessage(2101, LogLevel.Warning, "This silo's data does not fit the plan's study: {Problem}")]
    public static partial void DataRefused(ILogger logger, string problem);

    [LoggerMessage(2102, LogLevel.Information, "This silo's data: {Rows} rows read from {File} for study {Study}")]
    public static partial void RowsRead(ILogger logger, int rows, string file, string study);

    [LoggerMessage(2103, LogLevel.Information, "This silo's data: of {Rows} rows, {Train} used for training and {Holdout} held out for evaluation (the study's holdout {Fraction:G3})")]
    public static partial void RowsUsed(ILogger logger, int rows, int train, int holdout, double fraction);

    [LoggerMessage(2104, LogLevel.Information, "This silo's data: share {Index} of {Count} of the demonstration split of {Dataset}, {Rows} rows, all used for training")]
    public static partial void DemoShare(ILogger logger, int index, int count, string dataset, int rows);
}
