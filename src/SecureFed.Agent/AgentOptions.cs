namespace SecureFed.Agent;

/// <summary>Validated, immutable agent settings.</summary>
public sealed record AgentOptions
{
    /// <summary>The coordinator's address, e.g. https://coordinator.example:7443.</summary>
    public required Uri Coordinator { get; init; }

    /// <summary>The federation this silo joins.</summary>
    public required string FederationId { get; init; }

    /// <summary>
    /// The consortium's deny-list (null: none): a revoked coordinator certificate is refused at every connection, a
    /// revoked peer silo's key advertisement is refused in secure aggregation, and a revoked own certificate fails at start.
    /// </summary>
    public SecureFed.Identity.IDenyListSource? DenyList { get; init; }

    /// <summary>First reconnect delay.</summary>
    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest reconnect delay (exponential backoff with jitter up to this).</summary>
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Consecutive failed connection attempts after which the agent gives up (0: never).</summary>
    public int MaxReconnectAttempts { get; init; }

    /// <summary>Idle time after which the agent pings the coordinator over HTTP/2 (how soon a vanished coordinator is noticed).</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a ping may go unanswered before the agent drops the connection and reconnects. Benchmarks that
    /// run a thousand agents on two cores raise it: a starved process answers late, and each reconnect costs a handshake.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest gRPC message in bytes.</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Simulation only: probability that this silo drops out of a round, at a random secure-aggregation stage.</summary>
    public double DropoutProbability { get; init; }

    /// <summary>Seed of the dropout choice (simulation only; this is fault injection, not privacy randomness).</summary>
    public int DropoutSeed { get; init; }

    /// <summary>Benchmarks only: go silent at this secure-aggregation stage in every round (null: never).</summary>
    public SecureFed.Contracts.V1.Stage? DropAtStage { get; init; }

    /// <summary>Checks every option; throws naming option, value and limit.</summary>
    public AgentOptions Validate()
    {
        if (Coordinator is null || Coordinator.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"option Coordinator = {Coordinator} is invalid: must be an https:// address");
        }

        if (string.IsNullOrWhiteSpace(FederationId))
        {
            throw new ArgumentException("option FederationId is empty: must be set");
        }

        if (ReconnectMin <= TimeSpan.Zero || ReconnectMax < ReconnectMin)
        {
            throw new ArgumentException($"options ReconnectMin = {ReconnectMin}, ReconnectMax = {ReconnectMax} are invalid: need 0 < min <= max");
        }

        if (KeepAlivePingDelay < TimeSpan.FromSeconds(1) || KeepAlivePingTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"options KeepAlivePingDelay = {KeepAlivePingDelay}, KeepAlivePingTimeout = {KeepAlivePingTimeout} are invalid: each must be at least 1 s");
        }

        if (MaxReconnectAttempts < 0)
        {
            throw new ArgumentException($"option MaxReconnectAttempts = {MaxReconnectAttempts} is invalid: must be >= 0");
        }

        if (DropoutProbability is < 0 or > 1 || double.IsNaN(DropoutProbability))
        {
            throw new ArgumentException($"option DropoutProbability = {DropoutProbability} is invalid: must be within 0..1");
        }

        if (MaxMessageBytes < 64 * 1024)
        {
            throw new ArgumentException($"option MaxMessageBytes = {MaxMessageBytes} is invalid: must be at least 65536");
        }

        return this;
    }
}
