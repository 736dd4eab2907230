namespace SecureFed.Coordinator;

/// <summary>What happened in one round; published after the round's state is stored.</summary>
/// <param name="Round">Round number (1-based).</param>
/// <param name="Completed">Whether an aggregate was released (false: aborted).</param>
/// <param name="Participants">Silos invited.</param>
/// <param name="Contributors">Silos whose update was aggregated.</param>
/// <param name="Dropouts">Silos that disconnected or missed a deadline.</param>
/// <param name="Refused">Silos that refused the plan under their local policy.</param>
/// <param name="Rejected">Silos whose messages broke the protocol.</param>
/// <param name="Accuracy">Held-out accuracy of the new model (NaN when aborted).</param>
/// <param name="Loss">Held-out loss of the new model (NaN when aborted).</param>
/// <param name="ModelHash">Hash of the global model after the round.</param>
/// <param name="Duration">Wall time of the round.</param>
/// <param name="AbortReason">Why the round was aborted, when it was.</param>
/// <param name="ChargedNoiseMultiplier">Noise multiplier the round was charged with (NaN without privacy or when aborted).</param>
/// <param name="Epsilon">Cumulative epsilon after this round by the plan's accountant (NaN without privacy).</param>
/// <param name="StageCounts">Survivors of each secure-aggregation stage (null for a plain round).</param>
/// <param name="ServerUnmaskTime">Time the coordinator spent removing the masks (null for a plain round).</param>
/// <param name="Kind">"training", "statistics" (before round 1) or "evaluation" (evaluation only).</param>
/// <param name="Evaluation">Federated evaluation sums of the round's model (null without federated evaluation).</param>
/// <param name="Releases">Privacy-charged releases besides the training update (statistics, evaluation).</param>
public sealed record RoundReport(
    long Round,
    bool Completed,
    IReadOnlyList<string> Participants,
    int Contributors,
    int Dropouts,
    int Refused,
    int Rejected,
    double Accuracy,
    double Loss,
    string ModelHash,
    TimeSpan Duration,
    string? AbortReason,
    double ChargedNoiseMultiplier = double.NaN,
    double Epsilon = double.NaN,
    SecureFed.Protocol.SecureAggregation.SecAggSurvivorCounts? StageCounts = null,
    TimeSpan? ServerUnmaskTime = null,
    string Kind = SecureFed.Protocol.RoundKinds.Training,
    SecureFed.Protocol.FederatedMetrics? Evaluation = null,
    IReadOnlyList<FederationStore.ReleaseRow>? Releases = null);
