using System.Collections.Concurrent;

namespace SecureFed.Coordinator.Internal;

/// <summary>What <see cref="SessionRegistry.Open"/> did with a session.</summary>
internal enum SessionAdmission
{
    /// <summary>Registered: the silo had no session, or only one that had already ended.</summary>
    Opened,

    /// <summary>Refused: the silo's session is live (its call is running), so this one would take its seat.</summary>
    SeatTaken,

    /// <summary>Refused: the coordinator is shutting down.</summary>
    ShuttingDown,
}

/// <summary>
/// The connected agents, one session per silo. A second session of a silo whose session is live is refused (a copied
/// key must not take the seat silently); a silo whose session ended, or whose peer vanished and had its connection
/// closed by the transport's keep-alive pings (within <see cref="ConnectionLimits.DeadPeerBound"/>), gets in again.
/// Thread-safe; waiters are woken after every change.
/// </summary>
internal sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Lock _seats = new();
    private TaskCompletionSource _changed = NewSignal();

    public event Action<AgentSession>? Disconnected;

    public int Count => _sessions.Count;

    public bool IsShuttingDown { get; private set; }

    /// <summary>
    /// Registers <paramref name="session"/> unless the coordinator is shutting down or the silo already has a live session
    /// (<paramref name="live"/>, which keeps its seat). A session of the silo that has ended but not yet left is replaced.
    /// </summary>
    public SessionAdmission Open(AgentSession session, out AgentSession? live)
    {
        live = null;
        AgentSession? ended = null;
        lock (_seats)
        {
            if (IsShuttingDown)
            {
                return SessionAdmission.ShuttingDown;
            }

            if (_sessions.TryGetValue(session.SiloId, out var old))
            {
                if (old.End == SessionEnd.Open)
                {
                    live = old;
                    return SessionAdmission.SeatTaken;
                }

                ended = old; // its own Close will find the newer session and leave it
            }

            _sessions[session.SiloId] = session;
        }

        if (ended is not null)
        {
            Disconnected?.Invoke(ended);
        }

        Pulse();
        return SessionAdmission.Opened;
    }

    /// <summary>
    /// Refuses new sessions and ends the current ones: each first delivers what is queued for it (a federation's
    /// last messages included), for at most <paramref name="drainTimeout"/> in all, then the rest are cut. Agents of a
    /// finished federation see their stream end OK, the others UNAVAILABLE (and reconnect later).
    /// </summary>
    public async Task ShutDownAsync(TimeSpan drainTimeout)
    {
        IsShuttingDown = true;
        var sessions = _sessions.Values.ToList();
        foreach (var s in sessions)
        {
            s.Complete(SessionEnd.ShuttingDown);
        }

        try
        {
            await Task.WhenAll(sessions.Select(s => s.Closed)).WaitAsync(drainTimeout);
        }
        catch (TimeoutException)
        {
            // A peer that does not read (or does not close) is cut below; the limit keeps shutdown bounded.
        }

        foreach (var s in sessions)
        {
            s.Abort(SessionEnd.ShuttingDown);
        }
    }

    public void Close(AgentSession session)
    {
        if (_sessions.TryRemove(new KeyValuePair<string, AgentSession>(session.SiloId, session)))
        {
            Disconnected?.Invoke(session);
            Pulse();
        }
    }

    public IReadOnlyList<AgentSession> Snapshot() =>
        [.. _sessions.Values.OrderBy(s => s.SiloId, StringComparer.Ordinal)];

    public AgentSession? Find(string siloId) => _sessions.TryGetValue(siloId, out var s) ? s : null;

    /// <summary>Completes at the next change of membership.</summary>
    public Task NextChange()
    {
        lock (_gate)
        {
            return _changed.Task;
        }
    }

    public void CompleteAll()
    {
        foreach (var s in _sessions.Values)
        {
            s.Complete();
        }
    }

    private void Pulse()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = NewSignal();
        }

        old.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
