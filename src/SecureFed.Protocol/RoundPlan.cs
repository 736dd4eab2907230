using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SecureFed.Protocol;

/// <summary>The model a round trains, described without any training library's types.</summary>
/// <param name="Kind">"logreg" or "mlp".</param>
/// <param name="InputDim">Number of input features.</param>
/// <param name="ClassCount">Number of classes.</param>
/// <param name="Hidden">Hidden width (mlp only).</param>
public sealed record ModelDescriptor(string Kind, int InputDim, int ClassCount, int Hidden);

/// <summary>Local training settings the coordinator proposes; a silo may refuse them.</summary>
/// <param name="Epochs">Local epochs.</param>
/// <param name="BatchSize">Minibatch size.</param>
/// <param name="LearningRate">Local learning rate.</param>
/// <param name="Seed">Seed of the round's local randomness (shuffling, dropout).</param>
/// <param name="Optimizer">"sgd" or "adam".</param>
/// <param name="Momentum">SGD heavy-ball momentum.</param>
/// <param name="WeightDecay">L2 weight decay.</param>
public sealed record TrainingParameters(int Epochs, int BatchSize, double LearningRate, long Seed, string Optimizer = "sgd", double Momentum = 0, double WeightDecay = 0);

/// <summary>
/// Client-level differential privacy of a round. Each silo clips its delta to <paramref name="ClipNorm"/> and adds
/// noise of standard deviation z·C/sqrt(t - kappa) (DESIGN section 4), so the released sum of any
/// <paramref name="Threshold"/> survivors carries at least the central noise z·C even if
/// <paramref name="Colluding"/> of them collude.
/// </summary>
/// <param name="ClipNorm">L2 clip norm C of one silo's delta.</param>
/// <param name="NoiseMultiplier">Central noise multiplier z.</param>
/// <param name="Threshold">t: fewest survivors with which a round releases its aggregate.</param>
/// <param name="Colluding">kappa: colluding silos tolerated.</param>
/// <param name="Mechanism">"gaussian" or "discrete-gaussian".</param>
/// <param name="Accountant">"rdp" or "exact".</param>
/// <param name="Delta">Target delta.</param>
/// <param name="EpsilonBudget">The consortium's epsilon cap (0: none).</param>
/// <param name="ScaleBits">Fixed-point scale 2^f used by the discrete mechanism.</param>
public sealed record PrivacyPlan(
    double ClipNorm, double NoiseMultiplier, int Threshold, int Colluding, string Mechanism, string Accountant,
    double Delta, double EpsilonBudget, int ScaleBits = 16)
{
    /// <summary>The mechanisms a plan may name.</summary>
    public static IReadOnlyList<string> Mechanisms { get; } = ["gaussian", "discrete-gaussian"];

    /// <summary>Throws <see cref="ProtocolViolationException"/> unless every value is in range.</summary>
    public PrivacyPlan Validate()
    {
        static void Require(bool ok, string what) { if (!ok) { throw new ProtocolViolationException(FaultKind.InvalidArgument, $"privacy plan: {what}"); } }

        Require(double.IsFinite(ClipNorm) && ClipNorm > 0, $"clip norm {ClipNorm} must be positive");
        Require(double.IsFinite(NoiseMultiplier) && NoiseMultiplier > 0, $"noise multiplier {NoiseMultiplier} must be positive");
        Require(Threshold >= 1 && Colluding >= 0 && Colluding < Threshold, $"threshold {Threshold} and colluding {Colluding} need 0 <= colluding < threshold");
        Require(Mechanisms.Contains(Mechanism), $"mechanism '{Mechanism}' must be one of {string.Join(", ", Mechanisms)}");
        Require(Accountant is "rdp" or "exact", $"accountant '{Accountant}' must be rdp or exact (client-level rounds are unsampled, where exact is the tight analytic value; pld is for a study's record-level DP-SGD)");
        Require(Delta is > 0 and < 1, $"delta {Delta} must be in (0, 1)");
        Require(double.IsFinite(EpsilonBudget) && EpsilonBudget >= 0, $"epsilon budget {EpsilonBudget} must be >= 0");
        Require(ScaleBits is >= 1 and <= 30, $"scale bits {ScaleBits} must be within 1..30");
        return this;
    }
}

/// <summary>
/// Secure aggregation of a round: each coordinate of a silo's (clipped, noised) delta is clamped to
/// [-<paramref name="MaxAbsValue"/>, <paramref name="MaxAbsValue"/>], encoded in fixed point with scale
/// 2^<paramref name="ScaleBits"/> into the ring mod 2^<paramref name="RingBits"/>, and masked (DESIGN section 3).
/// </summary>
/// <param name="RingBits">k: 32 or 64.</param>
/// <param name="ScaleBits">f: fixed-point scale 2^f.</param>
/// <param name="MaxAbsValue">Per-coordinate bound before encoding.</param>
/// <param name="Threshold">t over the plan's participants (0 until the coordinator fixes it in a plan).</param>
/// <param name="KeyStageTimeout">Deadline of the key, consistency and unmask stages (zero: the coordinator's default).</param>
/// <param name="MaskedInputTimeout">Deadline of the masked-input stage, which includes training (zero: default).</param>
/// <param name="Graph">"complete" (Bonawitz et al., the default) or "harary" (SecAgg+, Bell et al. 2020: each silo
/// shares keys and masks only with its <paramref name="GraphDegree"/> neighbours).</param>
/// <param name="GraphDegree">k, the neighbours per silo (harary only).</param>
/// <param name="NeighbourhoodThreshold">t_N, the shares of k+1 that reconstruct a silo's secret (harary only).</param>
/// <param name="GraphSeed">64 lowercase hex characters: the 32-byte seed that fixes the ring order (harary only).</param>
/// <param name="MaskPrg">The mask PRG every party expands masks with (<see cref="Crypto.MaskPrgs"/>): aes-128-ctr for
/// new plans; aes-256-ctr is what a plan from before the choice, whose wire form leaves it empty, means.</param>
public sealed record SecureAggregationPlan(
    int RingBits = 32, int ScaleBits = 16, double MaxAbsValue = 16.0, int Threshold = 0,
    TimeSpan KeyStageTimeout = default, TimeSpan MaskedInputTimeout = default,
    string Graph = SecureAggregationPlan.CompleteGraph, int GraphDegree = 0, int NeighbourhoodThreshold = 0, string GraphSeed = "",
    string MaskPrg = Crypto.MaskPrgs.Aes128Ctr)
{
    /// <summary>The <see cref="Graph"/> value of full-graph Bonawitz.</summary>
    public const string CompleteGraph = "complete";

    /// <summary>The <see cref="Graph"/> value of SecAgg+.</summary>
    public const string HararyGraph = "harary";

    /// <summary>From this many silos on, <see cref="WithGraphFor"/> in "auto" mode picks SecAgg+: past the 255 that
    /// GF(2^8) shares held, where the complete graph's O(n^2) key agreements start to dominate a round. Below it the
    /// complete graph costs at most about twice a Harary graph of the paper's degree (k = 120 at n = 300), and keeps
    /// every earlier plan as it was.</summary>
    public const int SecAggPlusFrom = 256;

    /// <summary>The neighbour graph this plan fixes.</summary>
    /// <exception cref="ProtocolViolationException">The graph fields are inconsistent (see <see cref="Validate"/>).</exception>
    public SecureAggregation.SecAggGraph ToGraph()
    {
        Validate();
        return Graph == HararyGraph
            ? SecureAggregation.SecAggGraph.Harary(GraphDegree, NeighbourhoodThreshold, Convert.FromHexString(GraphSeed))
            : SecureAggregation.SecAggGraph.Complete;
    }

    /// <summary>
    /// This plan with its graph fixed for <paramref name="participants"/> silos: <paramref name="mode"/> "complete",
    /// "harary" (SecAgg+ with k and t_N from <see cref="SecureAggregation.SecAggGraph.Choose"/> for the corruption
    /// and dropout bounds; the complete graph when that neighbourhood would be everyone), or "auto" (harary from
    /// <see cref="SecAggPlusFrom"/> silos on). The ring order comes from <paramref name="seed"/> (32 bytes; fresh
    /// randomness when empty); once in the plan it is hashed with it.
    /// </summary>
    /// <exception cref="ProtocolViolationException">An unknown mode or bounds out of range.</exception>
    /// <exception cref="ArgumentException">A seed that is neither empty nor 32 bytes.</exception>
    public SecureAggregationPlan WithGraphFor(int participants, string mode, double corruptFraction, double dropoutFraction, ReadOnlySpan<byte> seed = default)
    {
        bool plus = mode switch
        {
            CompleteGraph => false,
            HararyGraph => true,
            "auto" => participants >= SecAggPlusFrom,
            _ => throw new ProtocolViolationException(FaultKind.InvalidArgument, $"secure aggregation graph '{mode}' must be complete, harary or auto"),
        };
        if (!plus)
        {
            return this with { Graph = CompleteGraph, GraphDegree = 0, NeighbourhoodThreshold = 0, GraphSeed = "" };
        }

        SecureAggregation.SecAggGraph graph;
        try
        {
            graph = SecureAggregation.SecAggGraph.Choose(participants, corruptFraction, dropoutFraction, seed.IsEmpty ? SecureAggregation.SecAggGraph.NewSeed() : seed);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"secure aggregation graph: {ex.Message}");
        }

        return graph.Kind == SecureAggregation.SecAggGraphKind.Complete
            ? this with { Graph = CompleteGraph, GraphDegree = 0, NeighbourhoodThreshold = 0, GraphSeed = "" }
            : this with { Graph = HararyGraph, GraphDegree = graph.Degree, NeighbourhoodThreshold = graph.NeighbourhoodThreshold, GraphSeed = Convert.ToHexStringLower(graph.Seed) };
    }

    /// <summary>
    /// The threshold for <paramref name="participants"/> silos: floor(2n/3) + 1 (the malicious-server bound of
    /// Bonawitz et al.), raised to <paramref name="atLeast"/> when privacy or policy need more, never above n.
    /// </summary>
    public static int ThresholdFor(int participants, int atLeast) =>
        Math.Min(participants, Math.Max(SecureAggregation.SecAggParameters.DefaultThreshold(participants), atLeast));

    // A name from a peer's plan, as at most 40 printable ASCII characters for an error message.
    private static string Bounded(string value) =>
        new([.. value.Take(40).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '?'), .. value.Length > 40 ? "..." : ""]);

    /// <summary>Throws <see cref="ProtocolViolationException"/> unless the values are in range.</summary>
    public SecureAggregationPlan Validate()
    {
        if (RingBits is not (32 or 64) || ScaleBits is < 1 or > 40 || !double.IsFinite(MaxAbsValue) || MaxAbsValue <= 0 || Threshold < 0
            || KeyStageTimeout < TimeSpan.Zero || MaskedInputTimeout < TimeSpan.Zero)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                $"secure aggregation plan: ring bits {RingBits} (32 or 64), scale bits {ScaleBits} (1..40), max abs {MaxAbsValue} (> 0), threshold {Threshold} (>= 0), timeouts >= 0");
        }

        if (!Crypto.MaskPrgs.All.Contains(MaskPrg))
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                $"secure aggregation plan: mask PRG '{Bounded(MaskPrg)}' must be one of {string.Join(", ", Crypto.MaskPrgs.All)} (a newer coordinator's plan? upgrade this agent)");
        }

        bool harary = Graph == HararyGraph;
        if (!harary && Graph != CompleteGraph)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"secure aggregation plan: graph '{Bounded(Graph)}' must be {CompleteGraph} or {HararyGraph}");
        }

        if (harary
            ? GraphDegree < 2 || GraphDegree % 2 != 0 || 2 * NeighbourhoodThreshold <= GraphDegree + 1 || NeighbourhoodThreshold > GraphDegree + 1
              || GraphSeed.Length != 64 || !GraphSeed.All(char.IsAsciiHexDigitLower)
            : GraphDegree != 0 || NeighbourhoodThreshold != 0 || GraphSeed.Length != 0)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                $"secure aggregation plan: graph {Graph} with degree {GraphDegree} (even, >= 2), neighbourhood threshold {NeighbourhoodThreshold} (more than half of degree + 1, at most degree + 1) and a seed of {GraphSeed.Length} characters (64 lowercase hex); the complete graph takes none of them");
        }

        return this;
    }
}

/// <summary>
/// Everything fixed for one round before it starts. Immutable; its <see cref="ComputeHash"/> is the
/// canonical identity of the plan (logged, and later signed into the audit ledger).
/// </summary>
public sealed record RoundPlan(
    string FederationId,
    long Round,
    string Dataset,
    ModelDescriptor Model,
    TrainingParameters Training,
    string ModelVersionHash,
    int ParameterCount,
    IReadOnlyList<string> Participants,
    DateTimeOffset StageDeadline,
    PrivacyPlan? Privacy = null,
    SecureAggregationPlan? SecureAggregation = null,
    string StudyHash = "",
    string Kind = RoundKinds.Training,
    IReadOnlyList<SumTask>? Tasks = null,
    IReadOnlyList<double>? Statistics = null,
    string StatisticsHash = "",
    string StudyDocument = "")
{
    /// <summary>
    /// The vectors this round sums, in order. A plan without an explicit list (written before studies) sums the
    /// model delta only.
    /// </summary>
    public IReadOnlyList<SumTask> TaskList => Tasks is { Count: > 0 } tasks ? tasks : [SumTask.ForTraining(ParameterCount, SecureAggregation, Privacy)];

    /// <summary>
    /// Whether <paramref name="task"/> is a task of this plan that comes before <paramref name="current"/>: a message
    /// of it arriving now is late (harmless, discarded), not a violation.
    /// </summary>
    public bool IsEarlierTask(string task, string current)
    {
        var names = TaskList.Select(t => t.Name).ToList();
        var index = names.IndexOf(task);
        return index >= 0 && index < names.IndexOf(current);
    }

    /// <summary>The task named <paramref name="name"/>, or null when the plan does not sum it.</summary>
    public SumTask? Task(string name) => TaskList.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));

    /// <summary>SHA-256 (lowercase hex) of a canonical, culture-invariant encoding of the plan.</summary>
    public string ComputeHash()
    {
        var sb = new StringBuilder();
        void Field(string name, string value) =>
            sb.Append(name).Append('=').Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('\n');
        Field("federation", FederationId);
        Field("round", Round.ToString(CultureInfo.InvariantCulture));
        Field("dataset", Dataset);
        Field("model.kind", Model.Kind);
        Field("model.input", Model.InputDim.ToString(CultureInfo.InvariantCulture));
        Field("model.classes", Model.ClassCount.ToString(CultureInfo.InvariantCulture));
        Field("model.hidden", Model.Hidden.ToString(CultureInfo.InvariantCulture));
        Field("train.epochs", Training.Epochs.ToString(CultureInfo.InvariantCulture));
        Field("train.batch", Training.BatchSize.ToString(CultureInfo.InvariantCulture));
        Field("train.lr", Training.LearningRate.ToString("R", CultureInfo.InvariantCulture));
        Field("train.seed", Training.Seed.ToString(CultureInfo.InvariantCulture));
        Field("train.optimizer", Training.Optimizer);
        Field("train.momentum", Training.Momentum.ToString("R", CultureInfo.InvariantCulture));
        Field("train.decay", Training.WeightDecay.ToString("R", CultureInfo.InvariantCulture));
        Field("model.hash", ModelVersionHash);
        Field("params", ParameterCount.ToString(CultureInfo.InvariantCulture));
        foreach (var p in Participants.Order(StringComparer.Ordinal))
        {
            Field("participant", p);
        }

        Field("deadline", StageDeadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        if (Privacy is { } dp)
        {
            Field("dp.clip", dp.ClipNorm.ToString("R", CultureInfo.InvariantCulture));
            Field("dp.z", dp.NoiseMultiplier.ToString("R", CultureInfo.InvariantCulture));
            Field("dp.threshold", dp.Threshold.ToString(CultureInfo.InvariantCulture));
            Field("dp.colluding", dp.Colluding.ToString(CultureInfo.InvariantCulture));
            Field("dp.mechanism", dp.Mechanism);
            Field("dp.accountant", dp.Accountant);
            Field("dp.delta", dp.Delta.ToString("R", CultureInfo.InvariantCulture));
            Field("dp.budget", dp.EpsilonBudget.ToString("R", CultureInfo.InvariantCulture));
            Field("dp.scale", dp.ScaleBits.ToString(CultureInfo.InvariantCulture));
        }

        if (SecureAggregation is { } sa)
        {
            Field("secagg.ring", sa.RingBits.ToString(CultureInfo.InvariantCulture));
            Field("secagg.scale", sa.ScaleBits.ToString(CultureInfo.InvariantCulture));
            Field("secagg.maxabs", sa.MaxAbsValue.ToString("R", CultureInfo.InvariantCulture));
            Field("secagg.threshold", sa.Threshold.ToString(CultureInfo.InvariantCulture));
            Field("secagg.keytimeout", ((long)sa.KeyStageTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
            Field("secagg.inputtimeout", ((long)sa.MaskedInputTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));

            // SecAgg+ only, so complete-graph plans hash as before.
            if (sa.Graph != SecureAggregationPlan.CompleteGraph)
            {
                Field("secagg.graph", sa.Graph);
                Field("secagg.degree", sa.GraphDegree.ToString(CultureInfo.InvariantCulture));
                Field("secagg.neighbourhoodthreshold", sa.NeighbourhoodThreshold.ToString(CultureInfo.InvariantCulture));
                Field("secagg.graphseed", sa.GraphSeed);
            }

            // Only a PRG other than the original one, so earlier plans hash as before.
            if (sa.MaskPrg != Crypto.MaskPrgs.Aes256Ctr)
            {
                Field("secagg.prg", sa.MaskPrg);
            }
        }

        // Fields added with studies; absent from plans that do not use them, so those hash as before.
        if (StudyHash.Length > 0)
        {
            Field("study", StudyHash);
        }

        if (Kind != RoundKinds.Training)
        {
            Field("kind", Kind);
        }

        foreach (var t in Tasks ?? [])
        {
            Field("task", t.Canonical());
        }

        if (StatisticsHash.Length > 0 || Statistics is { Count: > 0 })
        {
            Field("statistics.hash", StatisticsHash);
            Field("statistics.length", (Statistics?.Count ?? 0).ToString(CultureInfo.InvariantCulture));
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>SHA-256 (lowercase hex) of a statistics vector: its little-endian doubles.</summary>
    public static string HashStatistics(IReadOnlyList<double> statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        var bytes = new byte[statistics.Count * sizeof(double)];
        for (var i = 0; i < statistics.Count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), statistics[i]);
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
