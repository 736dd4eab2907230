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
            replaced.Abort();
            Disconnected?.Invoke(replaced);
        }

        Pulse();
        return true;
    }

    /// <summary>Refuses new sessions and ends the current ones (their agents see UNAVAILABLE and reconnect later).</summary>
    public void ShutDown()
    {
        IsShuttingDown = true;
        foreach (var s in _sessions.Values)
        {
            s.Abort();
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
