using System.Net;
using SecureFed.Identity;
using SecureFed.Protocol;

namespace SecureFed.Coordinator;

/// <summary>
/// Validated, immutable coordinator settings. Build with <see cref="Validate"/>, which names the option, its
/// value and the limit in every error.
/// </summary>
public sealed record CoordinatorOptions
{
    /// <summary>Identifies the federation; every message carries it.</summary>
    public required string FederationId { get; init; }

    /// <summary>Address Kestrel binds to. Default 127.0.0.1.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>TCP port; 0 picks a free port (tests, simulate).</summary>
    public int Port { get; init; } = 7443;

    /// <summary>Number of rounds to complete.</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>Fewest contributing silos for a round to release an aggregate.</summary>
    public int MinSilos { get; init; } = 2;

    /// <summary>Silos the coordinator waits for (up to <see cref="JoinTimeout"/>) before a round starts; 0 means <see cref="MinSilos"/>.</summary>
    public int TargetSilos { get; init; }

    /// <summary>
    /// The one wait before each attempt of a round: it starts once <see cref="TargetSilos"/> are connected, or after this
    /// long with those present when at least <see cref="MinSilos"/> of them may take part; with fewer, the federation
    /// stops with an error. There is no other wait for silos.
    /// </summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for silos to accept or refuse a plan.</summary>
    public TimeSpan PlanTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for silos to upload their update once the plan stage closed.</summary>
    public TimeSpan TrainTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Consecutive aborted rounds after which the federation stops with an error.</summary>
    public int MaxConsecutiveAborts { get; init; } = 3;

    /// <summary>
    /// Silo ids admitted to the federation; empty admits any silo holding a consortium certificate. An entry may pin
    /// the silo's certificate: <c>"silo-1=sha256:&lt;64 hex&gt;"</c> (see <see cref="MemberList"/>).
    /// </summary>
    public IReadOnlyList<string> Members { get; init; } = [];

    /// <summary>The consortium's deny-list (null: none): revoked silos cannot join, and a revoked coordinator certificate does not start.</summary>
    public IDenyListSource? DenyList { get; init; }

    /// <summary>Dataset name the silos train on (each on its own data).</summary>
    public required string Dataset { get; init; }

    /// <summary>Model the federation trains.</summary>
    public required ModelDescriptor Model { get; init; }

    /// <summary>Local training settings proposed to silos.</summary>
    public required TrainingParameters Training { get; init; }

    /// <summary>The optimizer applied to each round's aggregated mean delta (default: FedAvg, eta 1).</summary>
    public ServerOptimizerSettings ServerOptimizer { get; init; } = ServerOptimizerSettings.FedAvg;

    /// <summary>
    /// Differential privacy of every round (null: none). The round releases its aggregate only with at least
    /// <see cref="PrivacyPlan.Threshold"/> contributors, and the consortium's budget (EpsilonBudget, Delta) is
    /// enforced before each round.
    /// </summary>
    public PrivacyPlan? Privacy { get; init; }

    /// <summary>
    /// Secure aggregation of every round (null: plain upload, which shows the coordinator every update and is kept
    /// only as the baseline for tests and benchmarks).
    /// </summary>
    public SecureAggregationPlan? SecureAggregation { get; init; }

    /// <summary>
    /// The neighbour graph of every secure round: auto (the default: Bonawitz's complete graph below 256 silos,
    /// SecAgg+ from 256 on), complete or harary, and the corruption and dropout bounds SecAgg+ is sized for.
    /// </summary>
    public SecAggGraphOptions SecureAggregationGraph { get; init; } = SecAggGraphOptions.Default;

    /// <summary>
    /// The study the federation runs, by canonical hash (empty: none, the pre-study demo path). It is in every plan,
    /// in the ledger and bound to the store.
    /// </summary>
    public string StudyHash { get; init; } = "";

    /// <summary>The study's canonical JSON, sent in every plan so a silo checks its own columns against it.</summary>
    public string StudyDocument { get; init; } = "";

    /// <summary>
    /// Length of the study's feature-statistics vector; above 0, a statistics round (round 0) sums every silo's
    /// statistics under secure aggregation before round 1, and every later plan carries the result.
    /// </summary>
    public int StatisticsLength { get; init; }

    /// <summary>
    /// Each training round ends with a federated evaluation of the new model on the silos' held-out rows (sums
    /// through the same secure sum); the round's accuracy and loss come from those sums, not from coordinator data.
    /// </summary>
    public bool FederatedEvaluation { get; init; }

    /// <summary>Evaluation only: evaluate the stored model with this hash on the silos' held-out rows and stop (null: train).</summary>
    public string? EvaluateModelHash { get; init; }

    /// <summary>Under differential privacy: the L2 clip norm of each silo's statistics vector (its release is charged).</summary>
    public double StatisticsClipNorm { get; init; } = 1e6;

    /// <summary>Under differential privacy: the L2 clip norm of each silo's evaluation sums (each release is charged).</summary>
    public double EvaluationClipNorm { get; init; } = 1e3;

    /// <summary>SQLite database file holding federation state, rounds and model versions.</summary>
    public required string StorePath { get; init; }

    /// <summary>The audit ledger file (JSON lines); null puts it beside the store as <c>*.ledger.jsonl</c>.</summary>
    public string? LedgerPath { get; init; }

    /// <summary>Largest number of floats in one vector chunk.</summary>
    public int MaxChunkFloats { get; init; } = DefaultMaxChunkFloats;

    /// <summary>The default of <see cref="MaxChunkFloats"/>: 256 KiB of floats a chunk.</summary>
    public const int DefaultMaxChunkFloats = 65536;

    /// <summary>The largest <see cref="MaxChunkFloats"/> allowed.</summary>
    public const int MaxChunkFloatsLimit = 1 << 20;

    /// <summary>Largest gRPC message in bytes, both directions.</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>What one connection, stream or member may cost the coordinator (connections, deadlines, queued bytes).</summary>
    public ConnectionLimits Limits { get; init; } = new();

    /// <summary>Checks every option; throws <see cref="ArgumentException"/> naming option, value and limit.</summary>
    public CoordinatorOptions Validate()
    {
        static void Require(bool ok, string option, object value, string limit)
        {
            if (!ok)
            {
                throw new ArgumentException($"option {option} = {value} is invalid: {limit}");
            }
        }

        Require(!string.IsNullOrWhiteSpace(FederationId) && FederationId.Length <= 128, nameof(FederationId), $"'{FederationId}'", "must be 1..128 characters");
        Require(Port is >= 0 and <= 65535, nameof(Port), Port, "must be within 0..65535");
        Require(Rounds is >= 1 and <= 100_000, nameof(Rounds), Rounds, "must be within 1..100000");
        Require(MinSilos is >= 1 and <= 10_000, nameof(MinSilos), MinSilos, "must be within 1..10000");
        Require(TargetSilos == 0 || TargetSilos >= MinSilos, nameof(TargetSilos), TargetSilos, $"must be 0 or at least MinSilos ({MinSilos})");
        Require(JoinTimeout > TimeSpan.Zero, nameof(JoinTimeout), JoinTimeout, "must be positive");
        Require(PlanTimeout > TimeSpan.Zero, nameof(PlanTimeout), PlanTimeout, "must be positive");
        Require(TrainTimeout > TimeSpan.Zero, nameof(TrainTimeout), TrainTimeout, "must be positive");
        Require(MaxConsecutiveAborts >= 1, nameof(MaxConsecutiveAborts), MaxConsecutiveAborts, "must be at least 1");
        Require(!string.IsNullOrWhiteSpace(Dataset), nameof(Dataset), $"'{Dataset}'", "must be set");
        Require(Model is { InputDim: >= 1, ClassCount: >= 2, Hidden: >= 0 } && Model.Kind is "logreg" or "mlp" or "cnn", nameof(Model), Model, "kind logreg|mlp|cnn, input >= 1, classes >= 2, hidden >= 0");
        Require(Model.Kind != "cnn" || StudyHash.Length > 0, nameof(Model), Model.Kind, "a cnn's layers are declared in a study; set Study");
        MemberList members = MemberList.Parse(Members, nameof(Members));
        Require(ServerOptimizer is not null, nameof(ServerOptimizer), "null", "must be set");
        try
        {
            ServerOptimizer!.Validate();
        }
        catch (ArgumentException ex)
        {
            Require(false, nameof(ServerOptimizer), ServerOptimizer!, ex.Message);
        }

        Require(Training is { Epochs: >= 1 and <= 1000, BatchSize: >= 1 } && Training.LearningRate > 0 && double.IsFinite(Training.LearningRate), nameof(Training), Training, "epochs 1..1000, batch >= 1, learning rate > 0");
        if (Privacy is not null)
        {
            try
            {
                Privacy.Validate();
            }
            catch (SecureFedException ex)
            {
                throw new ArgumentException($"option Privacy is invalid: {ex.Message}", ex);
            }

            Require(Privacy.Threshold <= Math.Max(TargetSilos, MinSilos) || members.Ids.Count >= Privacy.Threshold, "Privacy.Threshold", Privacy.Threshold, "must not exceed the silos expected (TargetSilos or Members)");
        }

        Require(SecureAggregationGraph is not null, nameof(SecureAggregationGraph), "null", "must be set");
        SecureAggregationGraph!.Validate();
        Require(!string.IsNullOrWhiteSpace(StorePath), nameof(StorePath), $"'{StorePath}'", "must be set");
        Require(StudyHash.Length is 0 or 64 && StudyHash.All(char.IsAsciiHexDigitLower), nameof(StudyHash), $"'{StudyHash}'", "must be empty or 64 lowercase hex characters");
        Require(StatisticsLength >= 0, nameof(StatisticsLength), StatisticsLength, "must be >= 0");
        Require(EvaluateModelHash is null || (EvaluateModelHash.Length == 64 && EvaluateModelHash.All(char.IsAsciiHexDigitLower)), nameof(EvaluateModelHash), $"'{EvaluateModelHash}'", "must be a model hash: 64 lowercase hex characters");
        Require(double.IsFinite(StatisticsClipNorm) && StatisticsClipNorm > 0, nameof(StatisticsClipNorm), StatisticsClipNorm, "must be positive");
        Require(double.IsFinite(EvaluationClipNorm) && EvaluationClipNorm > 0, nameof(EvaluationClipNorm), EvaluationClipNorm, "must be positive");
        Require(MaxChunkFloats is >= 1 and <= MaxChunkFloatsLimit, nameof(MaxChunkFloats), MaxChunkFloats, $"must be within 1..{MaxChunkFloatsLimit}");
        Require(MaxMessageBytes >= (MaxChunkFloats * 4) + 4096, nameof(MaxMessageBytes), MaxMessageBytes, $"must hold a full chunk: at least {(MaxChunkFloats * 4) + 4096}");
        Require(Limits is not null, nameof(Limits), "null", "must be set");
        Limits!.Validate(MaxMessageBytes);
        var expected = Math.Max(TargetSilos, members.Ids.Count);
        Require(Limits.MaxConnections >= expected, "Limits.MaxConnections", Limits.MaxConnections, $"must admit every silo expected (TargetSilos or Members: {expected}); raise Limits:MaxConnections");
        return this;
    }
}
