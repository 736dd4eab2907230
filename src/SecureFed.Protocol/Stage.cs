namespace SecureFed.Protocol;

/// <summary>Protocol stages of one round, in the order a round walks through them.</summary>
public enum Stage
{
    /// <summary>Session opening; not part of a round.</summary>
    Hello,

    /// <summary>The coordinator sends the round plan and the global model; silos accept or refuse.</summary>
    Plan,

    /// <summary>Silos train and upload their update (plain baseline).</summary>
    Train,

    /// <summary>The round's result is announced.</summary>
    Result,

    /// <summary>The round ended without releasing an aggregate.</summary>
    Aborted,
}

/// <summary>
/// The one transition table for round stages. Every state is covered; an unknown state throws.
/// Thread-safety: stateless.
/// </summary>
public static class StageTransitions
{
    /// <summary>Whether a round may move from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static bool IsAllowed(Stage from, Stage to) => from switch
    {
        Stage.Hello => to == Stage.Plan,
        Stage.Plan => to is Stage.Train or Stage.Aborted,
        Stage.Train => to is Stage.Result or Stage.Aborted,
        Stage.Result => false,
        Stage.Aborted => false,
        _ => throw new ArgumentOutOfRangeException(nameof(from), from, "unknown stage"),
    };

    /// <summary>Throws a <see cref="ProtocolViolationException"/> unless the transition is allowed.</summary>
    public static void Require(Stage from, Stage to)
    {
        if (!IsAllowed(from, to))
        {
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition, $"stage transition {from} -> {to} is not allowed");
        }
    }
}
