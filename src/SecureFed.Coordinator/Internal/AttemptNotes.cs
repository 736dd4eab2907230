namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Events that cost no member anything but belong in the signed ledger (<see cref="AttemptFault.SitsOut"/> false, such
/// as a refused second session of a silo): recorded in the running attempt's <c>faults</c>, or, when no attempt runs
/// (or the running one is over), kept for the next attempt's entry. At most one pending event per silo, so a peer that
/// keeps trying costs a bounded amount. A coordinator that stops before the next attempt loses the pending ones from the
/// ledger (they are in its log). Thread-safe.
/// </summary>
internal sealed class AttemptNotes
{
    private readonly Lock _gate = new();
    private readonly List<AttemptFault> _pending = [];

    /// <summary>Records <paramref name="note"/> in <paramref name="running"/>, or keeps it for the next attempt.</summary>
    public void Note(RoundState? running, AttemptFault note)
    {
        if (running?.NoteEvent(note) == true)
        {
            return;
        }

        lock (_gate)
        {
            if (_pending.TrueForAll(n => n.SiloId != note.SiloId))
            {
                _pending.Add(note);
            }
        }
    }

    /// <summary>Hands the pending events to a new attempt (before its provisional ledger entry is drafted).</summary>
    public void MoveTo(RoundState next)
    {
        List<AttemptFault> pending;
        lock (_gate)
        {
            pending = [.. _pending];
            _pending.Clear();
        }

        foreach (var note in pending)
        {
            next.NoteEvent(note);
        }
    }
}
