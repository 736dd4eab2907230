namespace SecureFed.Coordinator;

/// <summary>
/// The federation's end state: rounds completed in total (including before a restart), the final model, the
/// cumulative epsilon (NaN without privacy) and, when it stopped before its configured rounds, why.
/// </summary>
public sealed record FederationOutcome(
    int RoundsCompleted, string FinalModelHash, double FinalAccuracy, double FinalLoss, IReadOnlyList<RoundReport> Rounds,
    double Epsilon = double.NaN, string? StopReason = null);
