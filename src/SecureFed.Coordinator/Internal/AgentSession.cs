using System.Threading.Channels;
using Grpc.Core;
using SecureFed.Contracts.V1;

namespace SecureFed.Coordinator.Internal;

/// <summary>Why a session ended; the first reason recorded wins.</summary>
internal enum SessionEnd
{
    /// <summary>Still open.</summary>
    Open,

    /// <summary>The federation is over: the outbox drains, then the stream ends OK.</summary>
    Completed,

    /// <summary>The coordinator is stopping: the outbox drains (bounded), then the stream ends UNAVAILABLE.</summary>
    ShuttingDown,

    /// <summary>The member does not read its stream: more than the outbox limit is queued; ends RESOURCE_EXHAUSTED at once.</summary>
    OutboxFull,

    /// <summary>The call itself ended (the peer closed its side, broke the protocol, or the transport failed).</summary>
    Closed,
}

/// <summary>
/// One connected agent's stream. Messages to the agent go through an outbox drained by a single writer, because a
/// gRPC response stream accepts one write at a time. The outbox is bounded in bytes: a member that stops reading
/// costs at most <see cref="ConnectionLimits.MaxSessionOutboxBytes"/> before its session ends, and notices (answers to
/// late messages, which a member can provoke at will) are rate-limited. Thread-safe.
/// </summary>
internal sealed class AgentSession
{
    private readonly Channel<(CoordinatorMessage Message, int Cost)> _outbox = Channel.CreateUnbounded<(CoordinatorMessage, int)>(
        new UnboundedChannelOptions { SingleReader = true });

    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConnectionLimits _limits;
    private readonly TimeProvider _time;
    private readonly Action? _overflowed;
    private readonly Lock _gate = new();
    private long _queuedBytes;
    private long _noticeWindowStart = long.MinValue;
    private int _noticesInWindow;
    private int _end;

    /// <remarks><c>overflowed</c> is called once when the outbox overflows, before the session is aborted (the service resets the stream).</remarks>
    public AgentSession(string siloId, string fingerprint, byte[] certificateDer, ConnectionLimits? limits = null, TimeProvider? time = null, Action? overflowed = null)
    {
        _overflowed = overflowed;
        SiloId = siloId;
        Fingerprint = fingerprint;
        CertificateDer = certificateDer;
        _limits = limits ?? new ConnectionLimits();
        _time = time ?? TimeProvider.System;
        ConnectedAt = _time.GetUtcNow();
    }

    /// <summary>The peer's address (IP and port) as the transport saw it; set by the service before the session is opened.</summary>
    public string Peer { get; set; } = "";

    /// <summary>When the stream was opened (for the line that refuses a second session of the silo).</summary>
    public DateTimeOffset ConnectedAt { get; }

    /// <summary>The client certificate (DER, public) this stream presented; forwarded to peers for secure aggregation.</summary>
    public byte[] CertificateDer { get; }

    public string SiloId { get; }

    public string Fingerprint { get; }

    /// <summary>Cancelled when the coordinator drops this session at once (outbox full, shutdown after draining).</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Why the session ended, or <see cref="SessionEnd.Open"/>.</summary>
    public SessionEnd End => (SessionEnd)Volatile.Read(ref _end);

    /// <summary>Bytes queued and not yet written (for the RESOURCE_EXHAUSTED message).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Notices dropped by the rate limit so far.</summary>
    public int SuppressedNotices { get; private set; }

    /// <summary>Completes when the gRPC call serving this session has returned.</summary>
    public Task Closed => _closed.Task;

    /// <summary>
    /// Queues <paramref name="message"/>. False when the session has ended, when a notice is over the rate limit, or
    /// when the outbox is full, which ends the session (<see cref="SessionEnd.OutboxFull"/>).
    /// </summary>
    public bool TrySend(CoordinatorMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.BodyCase == CoordinatorMessage.BodyOneofCase.Notice && !TakeNoticeAllowance())
        {
            return false;
        }

        var cost = Math.Max(message.CalculateSize(), ConnectionLimits.MessageOverheadBytes);
        if (Interlocked.Add(ref _queuedBytes, cost) > _limits.MaxSessionOutboxBytes)
        {
            Interlocked.Add(ref _queuedBytes, -cost);
            if (Interlocked.CompareExchange(ref _end, (int)SessionEnd.OutboxFull, (int)SessionEnd.Open) == (int)SessionEnd.Open)
            {
                _overflowed?.Invoke();
            }

            Abort(SessionEnd.OutboxFull);
            return false;
        }

        if (!_outbox.Writer.TryWrite((message, cost)))
        {
            Interlocked.Add(ref _queuedBytes, -cost);
            return false;
        }

        return true;
    }

    /// <summary>No more messages; the writer finishes after draining what is queued.</summary>
    public void Complete(SessionEnd why = SessionEnd.Completed)
    {
        SetEnd(why);
        _outbox.Writer.TryComplete();
    }

    /// <summary>Ends the session at once: what is queued is dropped and the call is cancelled.</summary>
    public void Abort(SessionEnd why)
    {
        SetEnd(why);
        _outbox.Writer.TryComplete();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // already torn down
        }
    }

    /// <summary>Called once by the gRPC call when it returns.</summary>
    public void MarkClosed() => _closed.TrySetResult();

    public async Task RunWriterAsync(IServerStreamWriter<CoordinatorMessage> stream, CancellationToken cancellationToken)
    {
        await foreach (var (message, cost) in _outbox.Reader.ReadAllAsync(cancellationToken))
        {
            await stream.WriteAsync(message, cancellationToken);
            Interlocked.Add(ref _queuedBytes, -cost);
        }
    }

    private void SetEnd(SessionEnd why) => Interlocked.CompareExchange(ref _end, (int)why, (int)SessionEnd.Open);

    private bool TakeNoticeAllowance()
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (_noticeWindowStart == long.MinValue || _time.GetElapsedTime(_noticeWindowStart, now) >= TimeSpan.FromMinutes(1))
            {
                _noticeWindowStart = now;
                _noticesInWindow = 0;
            }

            if (_noticesInWindow < _limits.NoticesPerMinute)
            {
                _noticesInWindow++;
                return true;
            }

            SuppressedNotices++;
            return false;
        }
    }
}
