using Microsoft.Extensions.Logging;

namespace SecureFed.Coordinator.Internal;

/// <summary>Coordinator log events with stable ids. Never log vectors, keys, shares or data.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Silo {SiloId} connected (certificate {Fingerprint})")]
    public static partial void SiloConnected(ILogger logger, string siloId, string fingerprint);

    [LoggerMessage(1002, LogLevel.Information, "Silo {SiloId} disconnected")]
    public static partial void SiloDisconnected(ILogger logger, string siloId);

    [LoggerMessage(1003, LogLevel.Warning, "Refused a connection: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "Silo {SiloId} broke the protocol ({Kind}): {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, string siloId, string kind, string reason);

    [LoggerMessage(1005, LogLevel.Information, "Round {Round} started with {Participants} silos, plan {PlanHash}")]
    public static partial void RoundStarted(ILogger logger, long round, int participants, string planHash);

    [LoggerMessage(1006, LogLevel.Information, "Round {Round} completed: {Contributors} contributors, {Dropouts} dropouts, accuracy {Accuracy:F4}, model {ModelHash}")]
    public static partial void RoundCompleted(ILogger logger, long round, int contributors, int dropouts, double accuracy, string modelHash);

    [LoggerMessage(1007, LogLevel.Warning, "Round {Round} aborted: {Reason}")]
    public static partial void RoundAborted(ILogger logger, long round, string reason);

    [LoggerMessage(1008, LogLevel.Information, "Federation {FederationId} resumes after round {Round} (model {ModelHash}, {Completed} rounds completed)")]
    public static partial void Resumed(ILogger logger, string federationId, long round, string modelHash, int completed);

    [LoggerMessage(1009, LogLevel.Information, "Federation {FederationId} complete after {Completed} rounds")]
    public static partial void FederationComplete(ILogger logger, string federationId, int completed);

    [LoggerMessage(1010, LogLevel.Information, "Waiting for silos: {Connected} connected, {Needed} needed")]
    public static partial void WaitingForSilos(ILogger logger, int connected, int needed);

    [LoggerMessage(1011, LogLevel.Debug, "Ignored a late message from silo {SiloId} for round {Round}")]
    public static partial void LateMessage(ILogger logger, string siloId, long round);

    [LoggerMessage(1013, LogLevel.Warning, "Federation stopped: {Reason}")]
    public static partial void FederationStopped(ILogger logger, string reason);

    [LoggerMessage(1012, LogLevel.Information, "Silo {SiloId} refused the plan of round {Round}: {Reason}")]
    public static partial void PlanRefused(ILogger logger, string siloId, long round, string reason);

    [LoggerMessage(1014, LogLevel.Information, "Federated statistics released from {Contributors} silos (hash {Hash})")]
    public static partial void StatisticsReleased(ILogger logger, int contributors, string hash);

    [LoggerMessage(1015, LogLevel.Information, "Model {ModelHash} evaluated on {Examples} held-out rows of {Contributors} silos: accuracy {Accuracy:F4}")]
    public static partial void Evaluated(ILogger logger, string modelHash, long examples, int contributors, double accuracy);

    [LoggerMessage(1016, LogLevel.Warning, "Round {Round}: the federated evaluation released nothing: {Reason}")]
    public static partial void EvaluationFailed(ILogger logger, long round, string reason);

    [LoggerMessage(1017, LogLevel.Warning, "{Change}; rounds already charged keep their prices, and the next ledger entry records the change")]
    public static partial void PrivacySettingsChanged(ILogger logger, string change);

    [LoggerMessage(1018, LogLevel.Warning, "Silo {SiloId} does not read its stream: more than {Limit} bytes queued for it; its stream ends RESOURCE_EXHAUSTED")]
    public static partial void OutboxFull(ILogger logger, string siloId, int limit);

    [LoggerMessage(1019, LogLevel.Information, "Silo {SiloId}: {Count} notices over the limit of {PerMinute} per minute were not sent")]
    public static partial void NoticesSuppressed(ILogger logger, string siloId, int count, int perMinute);

    [LoggerMessage(1020, LogLevel.Warning, "Silo {SiloId} sent no Hello within {Seconds} s; its stream ends DEADLINE_EXCEEDED")]
    public static partial void HelloTimeout(ILogger logger, string siloId, double seconds);

    [LoggerMessage(1030, LogLevel.Warning, "Refused a second session of silo {SiloId} from {Peer} (certificate {Fingerprint}): its session from {LivePeer} is live and keeps its seat; the ledger records the event")]
    public static partial void SeatTaken(ILogger logger, string siloId, string peer, string fingerprint, string livePeer);

    [LoggerMessage(1022, LogLevel.Warning, "{Peer} sent a malformed message on {Method} ({Status}): {Reason}")]
    public static partial void MalformedMessage(ILogger logger, string peer, string method, string status, string reason);

    [LoggerMessage(1023, LogLevel.Warning, "Refused a health Watch from {Peer}: {Limit} watches are open (Limits.MaxHealthWatches)")]
    public static partial void HealthWatchRefused(ILogger logger, string peer, int limit);

    [LoggerMessage(1024, LogLevel.Warning, "Health: not serving: {Reason}")]
    public static partial void NotServing(ILogger logger, string reason);

    [LoggerMessage(1025, LogLevel.Warning, "Silo {SiloId} is not invited to round {Round}: {Reason}")]
    public static partial void MemberBarred(ILogger logger, string siloId, long round, string reason);

    [LoggerMessage(1026, LogLevel.Warning, "Round {Round}: silo {Complainer} cannot open the share silo {Accused} signed for it ({Reason}); verdict: {Verdict}")]
    public static partial void ShareComplaint(ILogger logger, string complainer, string accused, long round, string verdict, string reason);

    [LoggerMessage(1027, LogLevel.Information, "Federation {FederationId}: study {Study}, {Rounds} rounds, members {Members}, {Aggregation} aggregation, {Privacy}; store {Store}, ledger {Ledger}")]
    public static partial void Starting(ILogger logger, string federationId, string study, int rounds, string members, string aggregation, string privacy, string store, string ledger);

    [LoggerMessage(1028, LogLevel.Information, "The privacy budget of epsilon {Budget:G4} covers the {Rounds} rounds still planned, each at its worst case")]
    public static partial void BudgetCovers(ILogger logger, double budget, int rounds);

    [LoggerMessage(1029, LogLevel.Warning, "The privacy budget of epsilon {Budget:G4} at delta {Delta:G3} covers only {Covered} of the {Planned} rounds still planned (each at its worst case); the federation will stop when it is spent. A noise multiplier that covers them: {Command}")]
    public static partial void BudgetShort(ILogger logger, double budget, double delta, int covered, int planned, string command);
}
