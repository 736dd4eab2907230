namespace SecureFed.Coordinator;

/// <summary>
/// What one connection, one stream or one member may cost the coordinator. Every limit is enforced at the
/// connection, stream or session it names, so a hostile peer (anonymous, or a member with a valid certificate)
/// can exhaust only its own allowance. Immutable; validated by <see cref="CoordinatorOptions.Validate"/>.
/// </summary>
public sealed record ConnectionLimits
{
    /// <summary>Open TCP connections Kestrel accepts at once (TLS or not, authenticated or not); more are closed at accept.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>Concurrent HTTP/2 streams (calls) one connection may open.</summary>
    public int MaxStreamsPerConnection { get; init; } = 4;

    /// <summary>How long a TLS handshake, and then a request's headers, may take before the connection is closed.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a connection with no open stream is kept (Kestrel's keep-alive timeout).</summary>
    public TimeSpan IdleConnectionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an authenticated stream may take to send its Hello before it is ended with DEADLINE_EXCEEDED.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Anonymous grpc.health.v1 Watch streams open at once; more are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxHealthWatches { get; init; } = 16;

    /// <summary>
    /// Bytes queued for one member that are not yet written to its stream (each message counted at least
    /// <see cref="MessageOverheadBytes"/>). A member that stops reading reaches it, and its stream ends with RESOURCE_EXHAUSTED.
    /// </summary>
    public int MaxSessionOutboxBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// The HTTP/2 flow-control window the coordinator grants each connection, and each stream on it: how many bytes a
    /// peer may send before the coordinator has read them, and so what every connection can make it buffer (at most
    /// <see cref="MaxConnections"/> times this, authenticated or not). One silo's upload rate is at most this window
    /// per round trip: 1 MiB over a 50 ms link is about 20 MB/s, so raise it for distant silos and large models. On
    /// loopback a 4 MiB window moved neither the plain ingest nor the bare transport of 10 or 100 silos measurably.
    /// </summary>
    public int ReceiveWindowBytes { get; init; } = DefaultReceiveWindowBytes;

    /// <summary>The default of <see cref="ReceiveWindowBytes"/>: 1 MiB, Kestrel's own connection window.</summary>
    public const int DefaultReceiveWindowBytes = 1024 * 1024;

    /// <summary>Notices (answers to late or discarded messages) sent to one member per minute; more are dropped.</summary>
    public int NoticesPerMinute { get; init; } = 60;

    /// <summary>How long a closing session (federation complete, or shutdown) may take to deliver what is queued for it.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Consecutive aborted rounds after which grpc.health.v1 reports NOT_SERVING (until a round completes).</summary>
    public int UnhealthyAfterAborts { get; init; } = 2;

    /// <summary>
    /// Silence on a connection after which the coordinator sends an HTTP/2 ping (Kestrel's keep-alive ping). A peer
    /// that vanished without closing (a crashed machine, a cut network) holds its stream open until the ping goes unanswered.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an unanswered keep-alive ping waits before the connection, and every stream on it, is closed.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The longest a session whose peer stopped answering stays live: after that its connection is closed, and a new
    /// session of the same silo (an agent restarted after a crash) is admitted.
    /// </summary>
    public TimeSpan DeadPeerBound => KeepAlivePingDelay + KeepAlivePingTimeout;

    /// <summary>The least a queued message is charged against <see cref="MaxSessionOutboxBytes"/> (its objects' cost in memory).</summary>
    public const int MessageOverheadBytes = 256;

    internal void Validate(int maxMessageBytes)
    {
        static void Require(bool ok, string option, object value, string limit)
        {
            if (!ok)
            {
                throw new ArgumentException($"option Limits.{option} = {value} is invalid: {limit}");
            }
        }

        static bool Seconds(TimeSpan t, double max) => t > TimeSpan.Zero && t.TotalSeconds <= max;

        Require(MaxConnections is >= 1 and <= 100_000, nameof(MaxConnections), MaxConnections, "must be within 1..100000");
        Require(MaxStreamsPerConnection is >= 1 and <= 1000, nameof(MaxStreamsPerConnection), MaxStreamsPerConnection, "must be within 1..1000");
        Require(Seconds(HandshakeTimeout, 3600), nameof(HandshakeTimeout), HandshakeTimeout, "must be positive and at most an hour");
        Require(Seconds(IdleConnectionTimeout, 86_400), nameof(IdleConnectionTimeout), IdleConnectionTimeout, "must be positive and at most a day");
        Require(Seconds(HelloTimeout, 3600), nameof(HelloTimeout), HelloTimeout, "must be positive and at most an hour");
        Require(MaxHealthWatches is >= 0 and <= 100_000, nameof(MaxHealthWatches), MaxHealthWatches, "must be within 0..100000");
        Require(MaxSessionOutboxBytes >= 2 * maxMessageBytes, nameof(MaxSessionOutboxBytes), MaxSessionOutboxBytes, $"must hold two of the largest messages: at least 2 x MaxMessageBytes = {2L * maxMessageBytes}");
        // Kestrel's bounds: HTTP/2 allows a window of 2^31 - 1, Kestrel none below 64 KiB (the protocol's initial window).
        Require(ReceiveWindowBytes is >= 65_535 and <= int.MaxValue, nameof(ReceiveWindowBytes), ReceiveWindowBytes, $"must be within 65535..{int.MaxValue}");
        Require(NoticesPerMinute is >= 0 and <= 1_000_000, nameof(NoticesPerMinute), NoticesPerMinute, "must be within 0..1000000");
        Require(Seconds(DrainTimeout, 600), nameof(DrainTimeout), DrainTimeout, "must be positive and at most 10 minutes");
        // Kestrel takes no keep-alive ping delay or timeout below one second.
        Require(KeepAlivePingDelay >= TimeSpan.FromSeconds(1) && KeepAlivePingDelay <= TimeSpan.FromHours(1), nameof(KeepAlivePingDelay), KeepAlivePingDelay, "must be within 1 s..1 hour");
        Require(KeepAlivePingTimeout >= TimeSpan.FromSeconds(1) && KeepAlivePingTimeout <= TimeSpan.FromHours(1), nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, "must be within 1 s..1 hour");
        Require(UnhealthyAfterAborts >= 1, nameof(UnhealthyAfterAborts), UnhealthyAfterAborts, "must be at least 1");
    }
}
