using Microsoft.Extensions.Logging;

namespace SecureFed.Agent.Internal;

/// <summary>Agent log events with stable ids. Never log vectors, keys, shares or data.</summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Information, "Silo {SiloId} connected to {Coordinator}")]
    public static partial void Connected(ILogger logger, string siloId, Uri coordinator);

    [LoggerMessage(2002, LogLevel.Warning, "Connection to the coordinator failed ({Status}): {Detail}; retrying in {Delay}")]
    public static partial void ConnectionFailed(ILogger logger, string status, string detail, TimeSpan delay);

    [LoggerMessage(2026, LogLevel.Warning, "The coordinator refused a second session of silo {SiloId}: {Detail}; retrying in {Delay}. This is transient after a restart (the old connection closes by itself); if it keeps happening, another machine is using this silo's key: tell the consortium")]
    public static partial void SeatTaken(ILogger logger, string siloId, string detail, TimeSpan delay);

    [LoggerMessage(2003, LogLevel.Information, "Round {Round}: plan {PlanHash} accepted, training")]
    public static partial void PlanAccepted(ILogger logger, long round, string planHash);

    [LoggerMessage(2004, LogLevel.Warning, "Round {Round}: plan refused by local policy: {Reason}")]
    public static partial void PlanRefused(ILogger logger, long round, string reason);

    [LoggerMessage(2005, LogLevel.Information, "Round {Round}: update uploaded ({Examples} examples)")]
    public static partial void Uploaded(ILogger logger, long round, long examples);

    [LoggerMessage(2006, LogLevel.Warning, "Coordinator notice: {Message}")]
    public static partial void Notice(ILogger logger, string message);

    [LoggerMessage(2007, LogLevel.Information, "Federation complete after {Rounds} rounds, final model {ModelHash}")]
    public static partial void Complete(ILogger logger, ulong rounds, string modelHash);

    [LoggerMessage(2009, LogLevel.Error, "Round {Round}: local failure, this silo sits the round out: {Type}: {Message}")]
    public static partial void LocalFailure(ILogger logger, long round, string type, string message);

    [LoggerMessage(2010, LogLevel.Warning, "Round {Round}: this silo refused to go on with secure aggregation: {Reason}")]
    public static partial void SecureAggregationRefused(ILogger logger, long round, string reason);

    [LoggerMessage(2011, LogLevel.Information, "Round {Round}: simulated dropout at stage {Stage}")]
    public static partial void InjectedDropout(ILogger logger, long round, string stage);

    [LoggerMessage(2008, LogLevel.Error, "Round {Round}: the coordinator broke the protocol: {Reason}")]
    public static partial void CoordinatorViolation(ILogger logger, long round, string reason);

    [LoggerMessage(2020, LogLevel.Information, "Round {Round}: this silo's record-level epsilon is {Epsilon:F4} at delta {Delta:G3} (cap {Cap:G6}; 0 = none)")]
    public static partial void RecordEpsilon(ILogger logger, long round, double epsilon, double cap, double delta);

    [LoggerMessage(2022, LogLevel.Information, "Round {Round}: trained locally on {Rows} rows, training loss {Loss:F4}")]
    public static partial void Trained(ILogger logger, long round, long rows, double loss);

    [LoggerMessage(2023, LogLevel.Information, "Round {Round}: this silo's held-out rows: accuracy {Accuracy:F4}, loss {Loss:F4} on {Rows} rows (local, before any noise; stays here)")]
    public static partial void LocalEvaluation(ILogger logger, long round, long rows, double accuracy, double loss);

    [LoggerMessage(2024, LogLevel.Information, "Round {Round} done: this silo's epsilon {Epsilon:F4} at delta {Delta:G3} ({Accountant}, its own ledger), cap {Cap}")]
    public static partial void RoundEpsilon(ILogger logger, long round, double epsilon, double delta, string accountant, string cap);

    [LoggerMessage(2025, LogLevel.Information, "Round {Round} done: the plan had no client-level noise, so this silo's release has no epsilon bound (cap {Cap})")]
    public static partial void RoundWithoutNoise(ILogger logger, long round, string cap);

    [LoggerMessage(2021, LogLevel.Error, "Giving up: {Reason}")]
    public static partial void GaveUp(ILogger logger, string reason);
}
