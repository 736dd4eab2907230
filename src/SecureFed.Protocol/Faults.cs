namespace SecureFed.Protocol;

/// <summary>
/// The few kinds of failure that a peer can be told about. Each maps to exactly one gRPC status code
/// (in SecureFed.Contracts' <c>StatusMapping</c>), so errors are classified once, where they arise.
/// </summary>
public enum FaultKind
{
    /// <summary>Identity problem: missing, foreign or mismatching certificate.</summary>
    PermissionDenied,

    /// <summary>Out of place: wrong stage, wrong round, wrong federation, budget exhausted, policy refused.</summary>
    FailedPrecondition,

    /// <summary>Malformed content: wrong length, non-finite values, bad chunking.</summary>
    InvalidArgument,

    /// <summary>Too large: a vector or message above the configured limit.</summary>
    ResourceExhausted,
}

/// <summary>
/// Base of SecureFed's meaningful exceptions. Messages never contain keys, shares, updates or data:
/// they name the rule that was broken and the sizes or identifiers involved.
/// </summary>
public class SecureFedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SecureFedException(FaultKind kind, string message)
        : base(message)
    {
        Kind = kind;
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public SecureFedException(FaultKind kind, string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>How the failure is reported to a peer.</summary>
    public FaultKind Kind { get; }
}

/// <summary>A peer broke the protocol: a message out of stage, for another round, malformed or oversized.</summary>
public sealed class ProtocolViolationException : SecureFedException
{
    /// <summary>Creates the exception.</summary>
    public ProtocolViolationException(FaultKind kind, string message)
        : base(kind, message)
    {
    }
}

/// <summary>A silo's local policy refused a plan. The silo decides; the coordinator cannot override it.</summary>
public sealed class PolicyRefusedException : SecureFedException
{
    /// <summary>Creates the exception.</summary>
    public PolicyRefusedException(string message)
        : base(FaultKind.FailedPrecondition, message)
    {
    }
}
