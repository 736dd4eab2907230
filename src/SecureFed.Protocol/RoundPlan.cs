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
public sealed record TrainingParameters(int Epochs, int BatchSize, double LearningRate, long Seed);

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
    DateTimeOffset StageDeadline)
{
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
        Field("model.hash", ModelVersionHash);
        Field("params", ParameterCount.ToString(CultureInfo.InvariantCulture));
        foreach (var p in Participants.Order(StringComparer.Ordinal))
        {
            Field("participant", p);
        }

        Field("deadline", StageDeadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
