namespace SecureFed.Coordinator;

/// <summary>The federation's end state: rounds completed in total (including before a restart) and the final model.</summary>
public sealed record FederationOutcome(int RoundsCompleted, string FinalModelHash, double FinalAccuracy, double FinalLoss, IReadOnlyList<RoundReport> Rounds);
