namespace SecureFed.Hosting;

/// <summary>Settings of an in-process federation (validated by <see cref="Validate"/>).</summary>
public sealed record SimulationOptions
{
    /// <summary>Bundled dataset name.</summary>
    public string Dataset { get; init; } = "breast-cancer";

    /// <summary>Number of silos.</summary>
    public int Silos { get; init; } = 5;

    /// <summary>Rounds to complete.</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>The study file (JSON); null runs the bundled study of <see cref="Dataset"/> split over <see cref="Silos"/> silos.</summary>
    public string? StudyPath { get; init; }

    /// <summary>
    /// The file the bundled study of <see cref="Dataset"/> reads instead of its bundled one (for example the 60,000
    /// Fashion-MNIST training images of the Debian package), split over <see cref="Silos"/> silos; null: the bundled file.
    /// </summary>
    public string? DataFile { get; init; }

    /// <summary>One data file per silo (CSV or Parquet) under <see cref="StudyPath"/>; the silo count is their number.</summary>
    public IReadOnlyList<string> SiloData { get; init; } = [];

    /// <summary>CSV separator of the silo files (null: detected from each file's header).</summary>
    public char? Separator { get; init; }

    /// <summary>Evaluation only: evaluate this stored model (by hash) of the federation in <see cref="OutputDirectory"/> on the silos' held-out rows.</summary>
    public string? EvaluateModelHash { get; init; }

    /// <summary>The number of silos: one per data file when <see cref="SiloData"/> is given, else <see cref="Silos"/>.</summary>
    public int SiloCount => SiloData.Count > 0 ? SiloData.Count : Silos;

    /// <summary>Partition spec: iid, label-skew:ALPHA, feature:NAME.</summary>
    public string Partition { get; init; } = "iid";

    /// <summary>Seed of data split, partition, initial model and training.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Model kind (logreg, mlp); null picks the dataset's default.</summary>
    public string? Model { get; init; }

    /// <summary>Output folder (store, logs, summary.json).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Data folder; null searches upwards for data/.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Deadline for plan decisions.</summary>
    public TimeSpan PlanTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for uploads.</summary>
    public TimeSpan TrainTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Central noise multiplier z; 0 turns differential privacy off.</summary>
    public double NoiseMultiplier { get; init; }

    /// <summary>L2 clip norm of each silo's delta.</summary>
    public double ClipNorm { get; init; } = 1.0;

    /// <summary>Target delta.</summary>
    public double Delta { get; init; } = 1e-5;

    /// <summary>The consortium's epsilon budget (0: none).</summary>
    public double EpsilonBudget { get; init; }

    /// <summary>Accountant: rdp or exact.</summary>
    public string Accountant { get; init; } = "rdp";

    /// <summary>Mechanism: gaussian or discrete-gaussian.</summary>
    public string Mechanism { get; init; } = "gaussian";

    /// <summary>Colluding silos tolerated (kappa).</summary>
    public int Colluding { get; init; }

    /// <summary>A silo's own epsilon cap, applied to the silos listed in <see cref="StrictSilos"/> (0: none).</summary>
    public double SiloEpsilonCap { get; init; }

    /// <summary>Silos (1-based) that apply <see cref="SiloEpsilonCap"/>.</summary>
    public IReadOnlyList<int> StrictSilos { get; init; } = [];

    /// <summary>Aggregation: secure (the default; the coordinator sees only the sum) or plain (baseline only).</summary>
    public string Aggregation { get; init; } = "secure";

    /// <summary>Ring size 2^k of secure aggregation: 32 or 64.</summary>
    public int RingBits { get; init; } = 32;

    /// <summary>Probability that a silo drops out of a round at a random secure-aggregation stage.</summary>
    public double Dropout { get; init; }

    /// <summary>Spans as JSON lines; null writes <c>traces.jsonl</c> in the output folder.</summary>
    public string? TraceFile { get; init; }

    /// <summary>Whether differential privacy is on.</summary>
    public bool PrivacyEnabled => NoiseMultiplier > 0;

    /// <summary>The threshold t: floor(2n/3) + 1 (DESIGN section 3), never more than n.</summary>
    public int Threshold => Protocol.SecureAggregationPlan.ThresholdFor(SiloCount, 0);

    /// <summary>Checks every option; throws naming the option, value and limit.</summary>
    public SimulationOptions Validate()
    {
        if (Silos is < 1 or > 200)
        {
            throw new ArgumentException($"--silos {Silos} is invalid: must be within 1..200 for an in-process simulation");
        }

        if (Rounds is < 0 or > 10_000)
        {
            throw new ArgumentException($"--rounds {Rounds} is invalid: must be within 1..10000 (or 0 for the study's rounds)");
        }

        if (SiloData.Count > 0 && StudyPath is null)
        {
            throw new ArgumentException("--silo-data needs --study: the study file says which columns each silo's file must have");
        }

        if (StudyPath is not null && DataFile is not null)
        {
            throw new ArgumentException("a data file for the bundled study cannot be combined with --study: give each silo's file with --silo-data instead");
        }

        if (StudyPath is not null && SiloData.Count == 0)
        {
            throw new ArgumentException("--study needs at least one --silo-data FILE (one per silo)");
        }

        if (SiloData.Count > 200)
        {
            throw new ArgumentException($"{SiloData.Count} --silo-data files is invalid: at most 200 silos in an in-process simulation");
        }

        if (EvaluateModelHash is { } h && (h.Length != 64 || !h.All(char.IsAsciiHexDigit)))
        {
            throw new ArgumentException($"--evaluate '{(h.Length <= 70 ? h : h[..70])}' is invalid: must be a model hash (64 hex characters, e.g. summary.json's final_model_hash)");
        }

        if (Model is not (null or "logreg" or "mlp"))
        {
            throw new ArgumentException($"--model '{Model}' is invalid: must be logreg or mlp (a cnn, or any other layout, is declared in a study's \"model\" section)");
        }

        if (!double.IsFinite(NoiseMultiplier) || NoiseMultiplier < 0)
        {
            throw new ArgumentException($"--noise-multiplier {NoiseMultiplier} is invalid: must be 0 (off) or positive");
        }

        if (!double.IsFinite(ClipNorm) || ClipNorm <= 0)
        {
            throw new ArgumentException($"--clip {ClipNorm} is invalid: must be positive");
        }

        if (Delta is <= 0 or >= 1)
        {
            throw new ArgumentException($"--delta {Delta} is invalid: must be in (0, 1)");
        }

        if (!double.IsFinite(EpsilonBudget) || EpsilonBudget < 0)
        {
            throw new ArgumentException($"--epsilon-budget {EpsilonBudget} is invalid: must be 0 (none) or positive");
        }

        if (Accountant is not ("rdp" or "exact"))
        {
            throw new ArgumentException($"--accountant '{Accountant}' is invalid: must be rdp or exact (client-level rounds are unsampled, where exact is tight; pld is the record-level accountant a study's \"privacy\" section may name)");
        }

        if (Mechanism is not ("gaussian" or "discrete-gaussian"))
        {
            throw new ArgumentException($"--mechanism '{Mechanism}' is invalid: must be gaussian or discrete-gaussian");
        }

        if (Colluding < 0 || Colluding >= Threshold)
        {
            throw new ArgumentException($"--colluding {Colluding} is invalid: must be within 0..{Threshold - 1} (threshold {Threshold} for {SiloCount} silos)");
        }

        if (Aggregation is not ("secure" or "plain"))
        {
            throw new ArgumentException($"--aggregation '{Aggregation}' is invalid: must be secure or plain");
        }

        if (RingBits is not (32 or 64))
        {
            throw new ArgumentException($"--ring-bits {RingBits} is invalid: must be 32 or 64");
        }

        if (Dropout is < 0 or > 1 || double.IsNaN(Dropout))
        {
            throw new ArgumentException($"--dropout {Dropout} is invalid: must be within 0..1");
        }

        if (Aggregation == "secure" && SiloCount < 2)
        {
            throw new ArgumentException($"{(SiloData.Count > 0 ? "1 --silo-data file" : "--silos 1")} is invalid with secure aggregation: it needs at least 2 silos (use --aggregation plain)");
        }

        if (EpsilonBudget > 0 && !PrivacyEnabled)
        {
            throw new ArgumentException("--epsilon-budget needs --noise-multiplier > 0: without noise no budget can be kept");
        }

        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new ArgumentException("--out is empty: must name a folder");
        }

        return this;
    }
}
