namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// The secure aggregation round ended without releasing anything: too few survivors at a stage, or a party
/// detected misbehaviour. The message names the stage and the counts, never keys, shares or inputs.
/// </summary>
public sealed class SecAggAbortedException : SecureFedException
{
    /// <summary>Creates the exception.</summary>
    public SecAggAbortedException(SecAggStage stage, string message)
        : base(FaultKind.FailedPrecondition, $"secure aggregation aborted at {stage}: {message}")
    {
        Stage = stage;
    }

    /// <summary>Creates the exception with the violation that caused it.</summary>
    public SecAggAbortedException(SecAggStage stage, string message, Exception innerException)
        : base(FaultKind.FailedPrecondition, $"secure aggregation aborted at {stage}: {message}", innerException)
    {
        Stage = stage;
    }

    /// <summary>The stage at which the round aborted.</summary>
    public SecAggStage Stage { get; }

    /// <summary>
    /// The participant that most likely caused the abort (a responder whose share breaks a reconstruction, or the owner
    /// whose shares or commitment are wrong), when the server can point at one; a guess, not a proof.
    /// </summary>
    public string? Suspect { get; init; }
}
