using System.Net;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Hosting.Internal;
using SecureFed.Identity;

namespace SecureFed.Hosting;

/// <summary>
/// The coordinator's configuration file (section "Coordinator"), overridable by environment variables
/// SECUREFED_Coordinator__Name. Relative paths are resolved against the file's folder.
/// </summary>
public sealed class CoordinatorConfig
{
    /// <summary>Federation id.</summary>
    public string FederationId { get; set; } = "";

    /// <summary>Listen address.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>Listen port.</summary>
    public int Port { get; set; } = 7443;

    /// <summary>Rounds to complete.</summary>
    public int Rounds { get; set; } = 20;

    /// <summary>Fewest contributors for a round.</summary>
    public int MinSilos { get; set; } = 2;

    /// <summary>Silos to wait for before a round.</summary>
    public int TargetSilos { get; set; }

    /// <summary>Admitted silo ids (empty: any consortium silo); an entry "silo-1=sha256:&lt;hex&gt;" also pins its certificate.</summary>
    public List<string> Members { get; set; } = [];

    /// <summary>The consortium's signed deny-list (revoked.txt from <c>securefed certs revoke</c>); empty: none. Re-read when it changes.</summary>
    public string DenyList { get; set; } = "";

    /// <summary>Accept a private key file that group or others can read (refused by default).</summary>
    public bool AllowInsecureKeyPermissions { get; set; }

    /// <summary>
    /// The study file (JSON: schema, model, rounds, evaluation). With a study the coordinator holds no data: the
    /// silos' feature statistics and evaluation sums come through secure aggregation. Empty: the older demo split
    /// of <see cref="Dataset"/>, evaluated on a held-out part of the bundled file.
    /// </summary>
    public string Study { get; set; } = "";

    /// <summary>Under differential privacy: the L2 clip norm of each silo's statistics vector.</summary>
    public double StatisticsClipNorm { get; set; } = 1e6;

    /// <summary>Under differential privacy: the L2 clip norm of each silo's evaluation sums.</summary>
    public double EvaluationClipNorm { get; set; } = 1e3;

    /// <summary>Evaluation only: the stored model hash to evaluate on the silos' held-out rows (empty: train).</summary>
    public string EvaluateModel { get; set; } = "";

    /// <summary>Dataset name.</summary>
    public string Dataset { get; set; } = "breast-cancer";

    /// <summary>Model kind; empty: the dataset's default.</summary>
    public string Model { get; set; } = "";

    /// <summary>Silos in the demonstration split (for the held-out set).</summary>
    public int SiloCount { get; set; } = 3;

    /// <summary>Partition of the demonstration split.</summary>
    public string Partition { get; set; } = "iid";

    /// <summary>Seed.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Data folder.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>SQLite store.</summary>
    public string StorePath { get; set; } = "coordinator.db";

    /// <summary>Coordinator certificate (PEM).</summary>
    public string Certificate { get; set; } = "";

    /// <summary>Coordinator private key (PEM).</summary>
    public string PrivateKey { get; set; } = "";

    /// <summary>Consortium CA certificate (PEM).</summary>
    public string CaCertificate { get; set; } = "";

    /// <summary>Aggregation: secure (default) or plain (baseline only).</summary>
    public string Aggregation { get; set; } = "secure";

    /// <summary>Secure aggregation ring bits (32 or 64).</summary>
    public int RingBits { get; set; } = 32;

    /// <summary>
    /// Secure aggregation's neighbour graph: auto (the default: the complete graph below 256 silos, SecAgg+ from 256
    /// on), complete (Bonawitz et al.) or harary (SecAgg+, Bell et al. 2020, at any size).
    /// </summary>
    public string SecAggGraph { get; set; } = SecAggGraphOptions.Auto;

    /// <summary>SecAgg+: the fraction of silos assumed to collude with the coordinator (γ), which sizes the graph.</summary>
    public double SecAggCorruption { get; set; } = SecAggGraphOptions.Default.CorruptFraction;

    /// <summary>SecAgg+: the fraction of silos assumed to drop out of a round (δ), which sizes the graph.</summary>
    public double SecAggDropout { get; set; } = SecAggGraphOptions.Default.DropoutFraction;

    /// <summary>
    /// The PRG silos expand their masks with: aes-128-ctr (the default; the round's keys are at the 128-bit level) or
    /// aes-256-ctr (for a policy that names it; the keystream costs 1.4 times as much). Fixed in each round's plan.
    /// </summary>
    public string SecAggMaskPrg { get; set; } = Crypto.MaskPrgs.Aes128Ctr;

    /// <summary>Central noise multiplier z; 0 turns differential privacy off.</summary>
    public double NoiseMultiplier { get; set; }

    /// <summary>L2 clip norm.</summary>
    public double ClipNorm { get; set; } = 1.0;

    /// <summary>Target delta.</summary>
    public double Delta { get; set; } = 1e-5;

    /// <summary>The consortium's epsilon budget (0: none).</summary>
    public double EpsilonBudget { get; set; }

    /// <summary>Accountant: rdp or exact.</summary>
    public string Accountant { get; set; } = "rdp";

    /// <summary>Mechanism: gaussian or discrete-gaussian.</summary>
    public string Mechanism { get; set; } = "gaussian";

    /// <summary>
    /// Seconds each attempt of a round waits for TargetSilos; then it starts with those present if at least MinSilos may
    /// take part, else the coordinator stops with an error. The only wait for silos (see CoordinatorOptions.JoinTimeout).
    /// </summary>
    public double JoinTimeoutSeconds { get; set; } = 60;

    /// <summary>Plan stage deadline in seconds.</summary>
    public double PlanTimeoutSeconds { get; set; } = 30;

    /// <summary>Train stage deadline in seconds.</summary>
    public double TrainTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Attempts of one round that may abort in a row before the federation stops (each retry leaves out the members
    /// at fault in the attempt before).
    /// </summary>
    public int MaxConsecutiveAborts { get; set; } = 3;

    /// <summary>Section "Limits": what one connection, stream or member may cost the coordinator.</summary>
    public CoordinatorLimitsConfig Limits { get; set; } = new();

    /// <summary>
    /// Folder the coordinator writes the audit report into (report.json, report.html, the ledger verified) when the
    /// federation ends or a signal stops it; empty: none (`securefed audit report` makes one at any time).
    /// </summary>
    public string ReportDirectory { get; set; } = "";

    /// <summary>Loads and binds a configuration file.</summary>
    public static CoordinatorConfig Load(string path) => ConfigLoader.Load<CoordinatorConfig>(path, "Coordinator", (c, dir) =>
    {
        c.StorePath = ConfigLoader.Resolve(dir, c.StorePath);
        c.Certificate = ConfigLoader.Resolve(dir, c.Certificate);
        c.PrivateKey = ConfigLoader.Resolve(dir, c.PrivateKey);
        c.CaCertificate = ConfigLoader.Resolve(dir, c.CaCertificate);
        c.DenyList = ConfigLoader.Resolve(dir, c.DenyList);
        c.DataDirectory = string.IsNullOrEmpty(c.DataDirectory) ? "" : ConfigLoader.Resolve(dir, c.DataDirectory);
        c.Study = ConfigLoader.Resolve(dir, c.Study);
        c.ReportDirectory = string.IsNullOrEmpty(c.ReportDirectory) ? "" : ConfigLoader.Resolve(dir, c.ReportDirectory);
    });

    /// <summary>The graph keys (SecAggGraph, SecAggCorruption, SecAggDropout) as validated options; throws naming the key.</summary>
    public SecAggGraphOptions ToGraphOptions() => new SecAggGraphOptions(SecAggGraph.Trim().ToLowerInvariant(), SecAggCorruption, SecAggDropout).Validate();

    /// <summary>The SecAggMaskPrg key as a <see cref="Crypto.MaskPrgs"/> name; throws naming the key.</summary>
    public string ToMaskPrg()
    {
        var name = SecAggMaskPrg.Trim().ToLowerInvariant();
        return Crypto.MaskPrgs.All.Contains(name)
            ? name
            : throw new ArgumentException(
                $"option SecAggMaskPrg = '{Identity.PeerText.Bound(SecAggMaskPrg, 40)}' is invalid: must be {string.Join(" or ", Crypto.MaskPrgs.All)}");
    }

    /// <summary>The deny-list file, checked now against the CA certificate (a bad list fails at start, naming the file).</summary>
    internal static DenyListFile LoadDenyList(string path, string caCertificate)
    {
        using var root = CertificateStore.LoadCertificate(caCertificate);
        return new DenyListFile(path, root);
    }

    /// <summary>Builds the coordinator host described by this file.</summary>
    public CoordinatorHost Build(Action<Microsoft.Extensions.Logging.ILoggingBuilder>? logging = null)
    {
        if (!IPAddress.TryParse(ListenAddress, out var address))
        {
            throw new ArgumentException($"option ListenAddress = '{ListenAddress}' is invalid: must be an IP address");
        }

        Studies.Study? study = string.IsNullOrEmpty(Study) ? null : Studies.Study.Load(Study);
        PreparedData? data = study is null
            ? new FederatedData(Dataset, SiloCount, Partition, Seed, DataDirectory: string.IsNullOrEmpty(DataDirectory) ? null : DataDirectory).Prepare()
            : null;
        if (study is not null && !string.IsNullOrEmpty(Model) && Model != study.Model.Kind)
        {
            throw new ArgumentException(
                $"option Model = '{Model}' contradicts the study's model ({study.Model.Kind}); the model is part of the study (and its hash): remove Model or edit the study's \"model\" section");
        }

        var kind = !string.IsNullOrEmpty(Model) ? Model : study?.Model.Kind ?? ModelMapping.DefaultModelKind(data!.Dataset);
        var spec = study is null ? null : ModelMapping.SpecOf(study);
        var model = spec is null ? ModelMapping.Describe(kind, data!.FeatureCount, data.ClassCount) : ModelMapping.Describe(spec);
        var privacy = NoiseMultiplier > 0
            ? new Protocol.PrivacyPlan(ClipNorm, NoiseMultiplier, Protocol.SecureAggregationPlan.ThresholdFor(Math.Max(TargetSilos, MinSilos), MinSilos), 0, Mechanism, Accountant, Delta, EpsilonBudget)
            : null;
        if (study is not null)
        {
            StudyRequirements.Check(study, privacy, "Coordinator:NoiseMultiplier");
        }

        var options = new CoordinatorOptions
        {
            FederationId = FederationId,
            DenyList = string.IsNullOrEmpty(DenyList) ? null : LoadDenyList(DenyList, CaCertificate),
            ListenAddress = address,
            Port = Port,
            Rounds = Rounds,
            MinSilos = MinSilos,
            TargetSilos = TargetSilos,
            Members = Members,
            JoinTimeout = TimeSpan.FromSeconds(JoinTimeoutSeconds),
            PlanTimeout = TimeSpan.FromSeconds(PlanTimeoutSeconds),
            TrainTimeout = TimeSpan.FromSeconds(TrainTimeoutSeconds),
            MaxConsecutiveAborts = MaxConsecutiveAborts,
            Limits = Limits.ToLimits(),
            Dataset = study?.Name ?? data!.Dataset,
            Model = model,
            Training = study is null ? ModelMapping.DefaultTraining(data!.Dataset, kind, Seed) : ModelMapping.TrainingOf(study, Seed),
            ServerOptimizer = study is null ? ServerOptimizerSettings.FedAvg : ModelMapping.ServerOptimizerOf(study),
            StorePath = StorePath,
            Privacy = privacy,
            StudyHash = study?.Hash ?? "",
            StudyDocument = study?.CanonicalJson ?? "",
            StatisticsLength = study?.StatisticsLength ?? 0,
            FederatedEvaluation = study is not null,
            EvaluateModelHash = string.IsNullOrEmpty(EvaluateModel) ? null : EvaluateModel.Trim().ToLowerInvariant(),
            StatisticsClipNorm = StatisticsClipNorm,
            EvaluationClipNorm = EvaluationClipNorm,
            SecureAggregation = Aggregation switch
            {
                "secure" => FederationSimulation.SecureAggregationFor(privacy, RingBits) with { MaskPrg = ToMaskPrg() },
                "plain" => null,
                _ => throw new ArgumentException($"option Aggregation = '{Aggregation}' is invalid: must be secure or plain"),
            },
            SecureAggregationGraph = ToGraphOptions(),
        }.Validate();
        var certificate = CertificateStore.LoadCertificateWithKey(Certificate, PrivateKey, AllowInsecureKeyPermissions);
        var root = CertificateStore.LoadCertificate(CaCertificate);
        IModelEvaluator evaluator = data is null ? new InitialModelOnly(spec!, Seed) : new TrainingModelEvaluator(model, data.Test, Seed);
        return CoordinatorHost.Create(options, certificate, root, evaluator, logging);
    }
}

/// <summary>
/// The coordinator's section "Limits" (keys <c>Coordinator:Limits:Name</c>, variables
/// <c>SECUREFED_Coordinator__Limits__Name</c>); defaults as in <see cref="ConnectionLimits"/>.
/// </summary>
public sealed class CoordinatorLimitsConfig
{
    private static readonly ConnectionLimits Defaults = new();

    /// <summary>Open connections accepted at once (authenticated or not).</summary>
    public int MaxConnections { get; set; } = Defaults.MaxConnections;

    /// <summary>Concurrent HTTP/2 streams per connection.</summary>
    public int MaxStreamsPerConnection { get; set; } = Defaults.MaxStreamsPerConnection;

    /// <summary>Seconds a TLS handshake, and a request's headers, may take.</summary>
    public double HandshakeTimeoutSeconds { get; set; } = Defaults.HandshakeTimeout.TotalSeconds;

    /// <summary>Seconds a connection with no open stream is kept.</summary>
    public double IdleConnectionTimeoutSeconds { get; set; } = Defaults.IdleConnectionTimeout.TotalSeconds;

    /// <summary>Seconds an authenticated stream may take to send its Hello.</summary>
    public double HelloTimeoutSeconds { get; set; } = Defaults.HelloTimeout.TotalSeconds;

    /// <summary>Anonymous health Watch streams open at once.</summary>
    public int MaxHealthWatches { get; set; } = Defaults.MaxHealthWatches;

    /// <summary>Bytes queued for one member before its stream ends RESOURCE_EXHAUSTED.</summary>
    public int MaxSessionOutboxBytes { get; set; } = Defaults.MaxSessionOutboxBytes;

    /// <summary>HTTP/2 flow-control window, in bytes, granted to each connection and stream (what a peer may send unread).</summary>
    public int ReceiveWindowBytes { get; set; } = Defaults.ReceiveWindowBytes;

    /// <summary>Notices sent to one member per minute.</summary>
    public int NoticesPerMinute { get; set; } = Defaults.NoticesPerMinute;

    /// <summary>Seconds a closing session may take to deliver what is queued for it.</summary>
    public double DrainTimeoutSeconds { get; set; } = Defaults.DrainTimeout.TotalSeconds;

    /// <summary>Consecutive aborted rounds after which health reports NOT_SERVING.</summary>
    public int UnhealthyAfterAborts { get; set; } = Defaults.UnhealthyAfterAborts;

    /// <summary>Seconds of silence on a connection before the coordinator pings it (HTTP/2 keep-alive).</summary>
    public double KeepAlivePingDelaySeconds { get; set; } = Defaults.KeepAlivePingDelay.TotalSeconds;

    /// <summary>Seconds an unanswered ping waits before the connection is closed (and the silo's seat is free again).</summary>
    public double KeepAlivePingTimeoutSeconds { get; set; } = Defaults.KeepAlivePingTimeout.TotalSeconds;

    /// <summary>The limits, for <see cref="CoordinatorOptions.Limits"/> (validated with the other options).</summary>
    public ConnectionLimits ToLimits() => new()
    {
        MaxConnections = MaxConnections,
        MaxStreamsPerConnection = MaxStreamsPerConnection,
        HandshakeTimeout = Seconds(nameof(HandshakeTimeoutSeconds), HandshakeTimeoutSeconds),
        IdleConnectionTimeout = Seconds(nameof(IdleConnectionTimeoutSeconds), IdleConnectionTimeoutSeconds),
        HelloTimeout = Seconds(nameof(HelloTimeoutSeconds), HelloTimeoutSeconds),
        MaxHealthWatches = MaxHealthWatches,
        MaxSessionOutboxBytes = MaxSessionOutboxBytes,
        ReceiveWindowBytes = ReceiveWindowBytes,
        NoticesPerMinute = NoticesPerMinute,
        DrainTimeout = Seconds(nameof(DrainTimeoutSeconds), DrainTimeoutSeconds),
        UnhealthyAfterAborts = UnhealthyAfterAborts,
        KeepAlivePingDelay = Seconds(nameof(KeepAlivePingDelaySeconds), KeepAlivePingDelaySeconds),
        KeepAlivePingTimeout = Seconds(nameof(KeepAlivePingTimeoutSeconds), KeepAlivePingTimeoutSeconds),
    };

    private static TimeSpan Seconds(string option, double value) =>
        double.IsFinite(value) && value > 0 && value <= 86_400
            ? TimeSpan.FromSeconds(value)
            : throw new ArgumentException($"option Limits.{option} = {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} is invalid: must be a number of seconds within (0, 86400]");
}

/// <summary>
/// A silo agent's configuration file (section "Agent"), overridable by SECUREFED_Agent__Name variables.
/// The silo's data is its share of a bundled dataset (a demonstration split derived from the same seed as the coordinator's).
/// </summary>
public sealed class AgentConfig
{
    /// <summary>Coordinator address (https://...).</summary>
    public string Coordinator { get; set; } = "";

    /// <summary>Federation id.</summary>
    public string FederationId { get; set; } = "";

    /// <summary>Silo certificate (PEM).</summary>
    public string Certificate { get; set; } = "";

    /// <summary>Silo private key (PEM).</summary>
    public string PrivateKey { get; set; } = "";

    /// <summary>Consortium CA certificate (PEM).</summary>
    public string CaCertificate { get; set; } = "";

    /// <summary>The consortium's signed deny-list (a copy of the CA's revoked.txt); empty: none. Re-read when it changes.</summary>
    public string DenyList { get; set; } = "";

    /// <summary>Accept a private key file that group or others can read (refused by default).</summary>
    public bool AllowInsecureKeyPermissions { get; set; }

    /// <summary>
    /// The silo's own data (section "Data": <c>Path</c>, optional <c>Separator</c> and <c>Format</c>). When set, the
    /// silo serves the study each plan carries (checked against its file's columns; pin hashes with
    /// Policy:AllowedStudies); the demo-split options below are then unused.
    /// </summary>
    public DataConfig Data { get; set; } = new();

    /// <summary>Optional local copy of the study file: the only study this silo serves, checked against its file at start.</summary>
    public string Study { get; set; } = "";

    /// <summary>Dataset name.</summary>
    public string Dataset { get; set; } = "breast-cancer";

    /// <summary>Data folder of the bundled datasets.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>Which share of the demonstration split this silo holds (1-based).</summary>
    public int SiloIndex { get; set; } = 1;

    /// <summary>Silos in the demonstration split.</summary>
    public int SiloCount { get; set; } = 3;

    /// <summary>Partition of the demonstration split.</summary>
    public string Partition { get; set; } = "iid";

    /// <summary>Seed of the demonstration split.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Local policy.</summary>
    public PolicyConfig Policy { get; set; } = new();

    /// <summary>This silo's privacy ledger file (JSON lines); empty keeps it in memory only.</summary>
    public string LedgerPath { get; set; } = "";

    /// <summary>Loads and binds a configuration file.</summary>
    public static AgentConfig Load(string path) => ConfigLoader.Load<AgentConfig>(path, "Agent", (c, dir) =>
    {
        c.Certificate = ConfigLoader.Resolve(dir, c.Certificate);
        c.PrivateKey = ConfigLoader.Resolve(dir, c.PrivateKey);
        c.CaCertificate = ConfigLoader.Resolve(dir, c.CaCertificate);
        c.DenyList = ConfigLoader.Resolve(dir, c.DenyList);
        c.DataDirectory = string.IsNullOrEmpty(c.DataDirectory) ? "" : ConfigLoader.Resolve(dir, c.DataDirectory);
        c.LedgerPath = ConfigLoader.Resolve(dir, c.LedgerPath);
        c.Data.Path = ConfigLoader.Resolve(dir, c.Data.Path);
        c.Study = ConfigLoader.Resolve(dir, c.Study);
    });

    /// <summary>Builds the agent described by this file.</summary>
    public SiloAgent Build(Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        if (!Uri.TryCreate(Coordinator, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException($"option Coordinator = '{Coordinator}' is invalid: must be an https:// address");
        }

        ILocalTrainer trainer;
        if (!string.IsNullOrEmpty(Data.Path))
        {
            trainer = new StudyTrainer(Data.Path, Data.ToReadOptions(), string.IsNullOrEmpty(Study) ? null : Studies.Study.Load(Study), logger: logger);
        }
        else
        {
            if (SiloIndex < 1 || SiloIndex > SiloCount)
            {
                throw new ArgumentException($"option SiloIndex = {SiloIndex} is invalid: must be within 1..SiloCount ({SiloCount})");
            }

            var data = new FederatedData(Dataset, SiloCount, Partition, Seed, DataDirectory: string.IsNullOrEmpty(DataDirectory) ? null : DataDirectory).Prepare();
            trainer = new TorchLocalTrainer(data.Dataset, data.SiloData[SiloIndex - 1]);
            if (logger is not null)
            {
                Log.DemoShare(logger, SiloIndex, SiloCount, data.Dataset, data.SiloData[SiloIndex - 1].RowCount);
            }
        }

        var certificate = CertificateStore.LoadCertificateWithKey(Certificate, PrivateKey, AllowInsecureKeyPermissions);
        var root = CertificateStore.LoadCertificate(CaCertificate);
        return new SiloAgent(
            new AgentOptions { Coordinator = uri, FederationId = FederationId, DenyList = string.IsNullOrEmpty(DenyList) ? null : CoordinatorConfig.LoadDenyList(DenyList, CaCertificate) },
            certificate, root, trainer, Policy.ToPolicy(), logger, null,
            string.IsNullOrEmpty(LedgerPath) ? new SiloPrivacyLedger() : new SiloPrivacyLedger(LedgerPath));
    }
}

/// <summary>A silo's own data file as written in its configuration file (section Agent:Data).</summary>
public sealed class DataConfig
{
    /// <summary>The file (CSV or Parquet); relative paths are resolved against the configuration file's folder.</summary>
    public string Path { get; set; } = "";

    /// <summary>CSV separator: ",", ";" or "tab"; empty: detected from the header.</summary>
    public string Separator { get; set; } = "";

    /// <summary>"csv", "parquet", "idx" or empty (by the file's name).</summary>
    public string Format { get; set; } = "";

    /// <summary>For IDX images: the labels file (empty: the images file's name with images-idx3 replaced by labels-idx1).</summary>
    public string Labels { get; set; } = "";

    /// <summary>The reader options; throws naming the option for a bad value.</summary>
    public Studies.DataReadOptions ToReadOptions() => new()
    {
        Separator = Separator switch
        {
            "" => null,
            "," or ";" => Separator[0],
            "tab" or "\t" => '\t',
            _ => throw new ArgumentException($"option Agent:Data:Separator = '{Separator}' is invalid: must be , ; or tab"),
        },
        Format = Format.ToLowerInvariant() switch
        {
            "" => Studies.DataFormat.Auto,
            "csv" => Studies.DataFormat.Csv,
            "parquet" => Studies.DataFormat.Parquet,
            "idx" => Studies.DataFormat.Idx,
            _ => throw new ArgumentException($"option Agent:Data:Format = '{Format}' is invalid: must be csv, parquet or idx"),
        },
        LabelsPath = string.IsNullOrEmpty(Labels) ? null : Labels,
    };
}

/// <summary>A silo's local policy as written in its configuration file.</summary>
public sealed class PolicyConfig
{
    /// <summary>Study hashes this silo accepts (empty: any study its own file fits).</summary>
    public List<string> AllowedStudies { get; set; } = [];

    /// <summary>Allowed datasets (empty: the silo's own).</summary>
    public List<string> AllowedDatasets { get; set; } = [];

    /// <summary>Allowed model kinds.</summary>
    public List<string> AllowedModels { get; set; } = ["logreg", "mlp", "cnn"];

    /// <summary>Fewest participants.</summary>
    public int MinCohort { get; set; } = 1;

    /// <summary>Refuse plans without differential privacy.</summary>
    public bool RequirePrivacy { get; set; }

    /// <summary>Smallest noise multiplier accepted.</summary>
    public double MinNoiseMultiplier { get; set; }

    /// <summary>This silo's own epsilon cap (0: none).</summary>
    public double EpsilonCap { get; set; }

    /// <summary>Delta of this silo's own accounting.</summary>
    public double Delta { get; set; } = 1e-5;

    /// <summary>This silo's cap on the record-level epsilon of its DP-SGD (0: none), at the study's delta and accountant.</summary>
    public double RecordEpsilonCap { get; set; }

    /// <summary>Accountant of this silo's own accounting.</summary>
    public string Accountant { get; set; } = "rdp";

    /// <summary>Most epochs per round.</summary>
    public int MaxEpochs { get; set; } = 50;

    /// <summary>The immutable policy.</summary>
    public LocalPolicy ToPolicy() => new()
    {
        AllowedStudies = AllowedStudies,
        AllowedDatasets = AllowedDatasets,
        AllowedModels = AllowedModels,
        MinCohort = MinCohort,
        MaxEpochs = MaxEpochs,
        RequirePrivacy = RequirePrivacy,
        MinNoiseMultiplier = MinNoiseMultiplier,
        EpsilonCap = EpsilonCap,
        RecordEpsilonCap = RecordEpsilonCap,
        Delta = Delta,
        Accountant = Accountant,
    };
}
