namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// The stages of one secure aggregation round (Bonawitz et al., CCS 2017, section 4 / figure 4: rounds 0-4),
/// plus the two terminal states. Client and server walk through them in this order; see
/// <see cref="SecAggStageTransitions"/> for the one transition table.
/// </summary>
public enum SecAggStage
{
    /// <summary>Round 0: each client advertises two signed X25519 public keys (c for shares, s for masks).</summary>
    AdvertiseKeys,

    /// <summary>Round 1: each client sends AEAD-encrypted Shamir shares of s_sk and b to every peer in U1.</summary>
    ShareKeys,

    /// <summary>Round 2: each client sends its masked input y_u.</summary>
    MaskedInput,

    /// <summary>Round 3: each client signs the survivor set U3 it was shown.</summary>
    ConsistencyCheck,

    /// <summary>Round 4: each client reveals s_sk shares of dropped peers and b shares of survivors.</summary>
    Unmask,

    /// <summary>Terminal: the server released the sum (server) or the client answered the unmask (client).</summary>
    Completed,

    /// <summary>Terminal: the round ended without releasing anything.</summary>
    Aborted,
}

/// <summary>
/// The one transition table for <see cref="SecAggStage"/>: each working stage may advance to the next one or
/// abort; terminal stages go nowhere. Every state is covered and an unknown state throws. Stateless and
/// thread-safe.
/// </summary>
public static class SecAggStageTransitions
{
    /// <summary>Whether a party may move from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static bool IsAllowed(SecAggStage from, SecAggStage to) => from switch
    {
        SecAggStage.AdvertiseKeys => to is SecAggStage.ShareKeys or SecAggStage.Aborted,
        SecAggStage.ShareKeys => to is SecAggStage.MaskedInput or SecAggStage.Aborted,
        SecAggStage.MaskedInput => to is SecAggStage.ConsistencyCheck or SecAggStage.Aborted,
        SecAggStage.ConsistencyCheck => to is SecAggStage.Unmask or SecAggStage.Aborted,
        SecAggStage.Unmask => to is SecAggStage.Completed or SecAggStage.Aborted,
        SecAggStage.Completed => false,
        SecAggStage.Aborted => false,
        _ => throw new ArgumentOutOfRangeException(nameof(from), from, "unknown secure aggregation stage"),
    };

    /// <summary>Throws a <see cref="ProtocolViolationException"/> unless the transition is allowed.</summary>
    public static void Require(SecAggStage from, SecAggStage to)
    {
        if (!IsAllowed(from, to))
        {
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition, $"secure aggregation stage transition {from} -> {to} is not allowed");
        }
    }

    /// <summary>
    /// Throws a <see cref="ProtocolViolationException"/> ("expected stage X, received Y") unless a message for
    /// <paramref name="received"/> may be handled by a party in <paramref name="expected"/>.
    /// </summary>
    public static void RequireStage(SecAggStage expected, SecAggStage received)
    {
        if (expected != received)
        {
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition, $"expected stage {expected}, received {received}");
        }
    }
}
