namespace SecureFed.Agent;

/// <summary>
/// The agent stopped because retrying cannot help: the coordinator refuses this silo (not a member, an identity it
/// does not accept), runs another federation than the one configured, or presents a certificate the consortium CA did
/// not issue. The message is one line naming the coordinator and what to check; `securefed agent` exits with code 3.
/// Transient failures (connection refused, a coordinator restarting) are retried with backoff instead.
/// </summary>
public sealed class AgentGaveUpException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentGaveUpException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
