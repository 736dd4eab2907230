using System.Collections.Concurrent;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The connected agents, one session per silo: a reconnecting silo replaces its older session.
/// Thread-safe; waiters are woken after every change.
/// </summary>
internal sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = NewSignal();

    public event Action<AgentSession>? Disconnected;

    public int Count => _sessions.Count;

    public bool IsShuttingDown { get; private set; }

    /// <summary>Registers a session, replacing the silo's older one. False once shutdown began.</summary>
    public bool Open(AgentSession session)
    {
        if (IsShuttingDown)
        {
            return false;
        }

        AgentSession? replaced = null;
        _sessions.AddOrUpdate(session.SiloId, session, (_, old) =>
        {
            replaced = old;
            return session;
        });
        if (replaced is not null)
        {
            replaced.Abort(SessionEnd.Replaced);
            Disconnected?.Invoke(replaced);
        }

        Pulse();
        return true;
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
