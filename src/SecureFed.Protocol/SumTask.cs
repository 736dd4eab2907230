using System.Globalization;

namespace SecureFed.Protocol;

/// <summary>The kinds of round a coordinator runs.</summary>
public static class RoundKinds
{
    /// <summary>Before round 1: the silos' feature statistics are summed, so every silo encodes with the same global ones.</summary>
    public const string Statistics = "statistics";

    /// <summary>A training round: the model deltas are summed, then the new model is evaluated on the silos' held-out rows.</summary>
    public const string Training = "training";

    /// <summary>An evaluation-only round: a given model is evaluated on the silos' held-out rows, nothing is trained.</summary>
    public const string Evaluation = "evaluation";

    /// <summary>Whether <paramref name="kind"/> is one of the kinds above.</summary>
    public static bool IsKnown(string kind) => kind is Statistics or Training or Evaluation;
}

/// <summary>
/// One vector summed over the silos under a round plan (DESIGN section 7): feature statistics, a model delta or
/// evaluation sums. Every use goes through the same secure sum (or, as the baseline, plain upload); only the name,
/// the length and the fixed-point encoding differ. Coordinates are clamped to [-<paramref name="MaxAbsValue"/>,
/// <paramref name="MaxAbsValue"/>] and scaled by 2^<paramref name="ScaleBits"/> into the ring mod
/// 2^<paramref name="RingBits"/>; under differential privacy each silo clips the vector to L2 norm
/// <paramref name="ClipNorm"/> and adds its share of the noise first, and the release is charged. Immutable.
/// </summary>
/// <param name="Name">"statistics", "training" or "evaluation".</param>
/// <param name="Length">Elements in the vector.</param>
/// <param name="RingBits">k: 32 or 64.</param>
/// <param name="ScaleBits">f: fixed-point scale 2^f.</param>
/// <param name="MaxAbsValue">Per-coordinate bound before encoding.</param>
/// <param name="ClipNorm">L2 clip norm under differential privacy; 0 when the vector is not privatized.</param>
public sealed record SumTask(string Name, int Length, int RingBits, int ScaleBits, double MaxAbsValue, double ClipNorm = 0)
{
    /// <summary>Name of the feature-statistics vector.</summary>
    public const string Statistics = "statistics";

    /// <summary>Name of the model-delta vector.</summary>
    public const string Training = "training";

    /// <summary>Name of the evaluation-sums vector.</summary>
    public const string Evaluation = "evaluation";

    /// <summary>
    /// Statistics and evaluation sums are counts and sums of raw values: they travel in the 64-bit ring with a bound of
    /// 2^40 per coordinate (counts stay exact: integers are never clamped below 2^40) at the finest scale the number of
    /// silos allows without wrap-around (<see cref="CountScaleBitsFor"/>); at least this one, which holds up to 2047.
    /// </summary>
    public const int CountScaleBits = 12;

    /// <summary>
    /// The scale 2^f of statistics and evaluation sums over <paramref name="silos"/> silos: f = 62 - 40 - ceil(log2 n),
    /// so n · 2^(40+f) &lt; 2^63 (no wrap-around) and each silo's rounding error, below 2^-f, is as small as the ring
    /// allows (2^-20 for 3 silos, 2^-14 for 255).
    /// </summary>
    public static int CountScaleBitsFor(int silos)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(silos, 1);
        var bits = (int)Math.Ceiling(Math.Log2(silos));
        return Math.Clamp(62 - 40 - bits, CountScaleBits, 30);
    }

    /// <summary>The per-coordinate bound of statistics and evaluation vectors (2^40).</summary>
    public const double CountBound = 1099511627776.0;

    /// <summary>
    /// The label a task's secure-aggregation session binds into its keys and signatures: the federation id for the
    /// training task (as before tasks existed), "federation/task" for the others, so no two sums of a round share keys.
    /// </summary>
    public static string SessionLabel(string federationId, string task) =>
        task == Training ? federationId : $"{federationId}/{task}";

    /// <summary>A task name a peer sent, cut to 32 characters for a message or log.</summary>
    public static string Printable(string task) => task.Length <= 32 ? task : task[..32];

    /// <summary>The model-delta task of a plan: the plan's secure-aggregation encoding and privacy clip.</summary>
    public static SumTask ForTraining(int parameterCount, SecureAggregationPlan? secure, PrivacyPlan? privacy) =>
        new(Training, parameterCount, secure?.RingBits ?? 32, secure?.ScaleBits ?? 16, secure?.MaxAbsValue ?? 16.0, privacy?.ClipNorm ?? 0);

    /// <summary>The feature-statistics task for a vector of <paramref name="length"/> counts and sums.</summary>
    public static SumTask ForStatistics(int length, double clipNorm = 0, int silos = 2047) => new(Statistics, length, 64, CountScaleBitsFor(silos), CountBound, clipNorm);

    /// <summary>The evaluation task for a model with <paramref name="classCount"/> classes (<see cref="EvaluationSums"/>).</summary>
    public static SumTask ForEvaluation(int classCount, double clipNorm = 0, int silos = 2047) =>
        new(Evaluation, EvaluationSums.LengthFor(classCount), 64, CountScaleBitsFor(silos), CountBound, clipNorm);

    /// <summary>Throws <see cref="ProtocolViolationException"/> unless the values are in range.</summary>
    public SumTask Validate()
    {
        if (Name is not (Statistics or Training or Evaluation) || Length < 1 || RingBits is not (32 or 64) || ScaleBits is < 0 or > 40
            || !double.IsFinite(MaxAbsValue) || MaxAbsValue <= 0 || !double.IsFinite(ClipNorm) || ClipNorm < 0)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                string.Create(CultureInfo.InvariantCulture, $"sum task '{Name}': name statistics|training|evaluation, length {Length} (>= 1), ring bits {RingBits} (32 or 64), scale bits {ScaleBits} (0..40), bound {MaxAbsValue} (> 0), clip {ClipNorm} (>= 0)"));
        }

        return this;
    }

    internal string Canonical() => string.Create(
        CultureInfo.InvariantCulture, $"{Name}/{Length}/{RingBits}/{ScaleBits}/{MaxAbsValue:R}/{ClipNorm:R}");
}

/// <summary>
/// The evaluation vector a silo sends for one model, and its federated sum (DESIGN section 7): [examples, correct,
/// loss sum, confusion counts (true class by predicted class, row-major)]. The coordinator learns only the sum over
/// the silos. Stateless and thread-safe.
/// </summary>
public static class EvaluationSums
{
    /// <summary>Length of the vector for <paramref name="classCount"/> classes: 3 + C².</summary>
    public static int LengthFor(int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        return checked(3 + (classCount * classCount));
    }

    /// <summary>A silo's vector from its own counts.</summary>
    public static double[] Encode(long examples, long correct, double lossSum, long[] confusion, int classCount)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        if (confusion.Length != classCount * classCount)
        {
            throw new ArgumentException($"confusion has {confusion.Length} cells; {classCount} classes need {classCount * classCount}", nameof(confusion));
        }

        var v = new double[LengthFor(classCount)];
        v[0] = examples;
        v[1] = correct;
        v[2] = lossSum;
        for (var i = 0; i < confusion.Length; i++)
        {
            v[3 + i] = confusion[i];
        }

        return v;
    }

    /// <summary>
    /// The federated metrics from a summed vector. Counts are rounded to integers and kept non-negative (under
    /// differential privacy the sum carries noise); accuracy and loss are the ratios of the sums.
    /// </summary>
    public static FederatedMetrics Decode(ReadOnlySpan<double> sum, int classCount, int contributors)
    {
        if (sum.Length != LengthFor(classCount))
        {
            throw new ArgumentException($"an evaluation sum for {classCount} classes has {LengthFor(classCount)} values, not {sum.Length}");
        }

        static long Count(double x) => double.IsFinite(x) ? (long)Math.Max(0, Math.Round(x)) : 0;
        var examples = Count(sum[0]);
        var correct = Math.Min(Count(sum[1]), examples);
        var lossSum = double.IsFinite(sum[2]) ? Math.Max(0, sum[2]) : 0;
        var confusion = new long[classCount * classCount];
        for (var i = 0; i < confusion.Length; i++)
        {
            confusion[i] = Count(sum[3 + i]);
        }

        return new FederatedMetrics(examples, correct, lossSum, confusion, contributors);
    }
}

/// <summary>Federated evaluation of one model: sums over the silos' held-out rows. Immutable.</summary>
/// <param name="Examples">Held-out rows evaluated.</param>
/// <param name="Correct">Rows whose predicted class is the label.</param>
/// <param name="LossSum">Sum of the rows' cross-entropy.</param>
/// <param name="Confusion">Counts by (true class, predicted class), row-major.</param>
/// <param name="Contributors">Silos whose sums are in the total.</param>
public sealed record FederatedMetrics(long Examples, long Correct, double LossSum, IReadOnlyList<long> Confusion, int Contributors)
{
    /// <summary>Correct / examples (NaN without examples).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double Accuracy => Examples > 0 ? (double)Correct / Examples : double.NaN;

    /// <summary>Mean cross-entropy (NaN without examples).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double Loss => Examples > 0 ? LossSum / Examples : double.NaN;
}
