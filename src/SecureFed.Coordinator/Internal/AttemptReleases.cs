using SecureFed.Protocol;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// What one attempt of a round showed, or may have shown, the coordinator, so that no release goes uncharged
/// (DESIGN section 4). Before a sum stage lets the coordinator learn anything (under plain aggregation, the uploads;
/// under secure aggregation, the unmask request), it calls <see cref="Risking"/>: the worst case is stored with the
/// attempt's provisional ledger entry, so a crash from then on still charges it and still leaves an entry. When the
/// stage ends, completed or not, it calls <see cref="Revealed"/> with what the coordinator could learn, which is what
/// the finished attempt is charged. Without differential privacy nothing is priced and only the entry is kept.
/// Thread-safe.
/// </summary>
internal sealed class AttemptReleases(
    RoundPrivacy privacy, FederationStore store, Protocol.RoundPlan plan, int attempt, Func<IReadOnlyList<FederationStore.ReleaseRow>, string> provisionalDraft)
{
    private readonly Lock _gate = new();
    private readonly List<FederationStore.ReleaseRow> _risked = [];
    private readonly List<FederationStore.ReleaseRow> _revealed = [];

    /// <summary>The attempt number these releases belong to.</summary>
    public int Attempt => attempt;

    /// <summary>
    /// The coordinator is about to be able to learn <paramref name="task"/>'s sum over <paramref name="covered"/> silos:
    /// stores that charge (and the entry that shows it) before it can.
    /// </summary>
    public void Risking(SumTask task, int covered)
    {
        if (privacy.Priced(plan, attempt, task, covered) is not { } row)
        {
            return;
        }

        lock (_gate)
        {
            _risked.RemoveAll(r => r.Task == task.Name);
            _risked.Add(row);
            store.MarkRunning(plan.Round, provisionalDraft([.. _risked]), row);
        }
    }

    /// <summary>The coordinator could learn <paramref name="task"/>'s sum over <paramref name="covered"/> silos (idempotent per task).</summary>
    public void Revealed(SumTask task, int covered)
    {
        if (privacy.Priced(plan, attempt, task, covered) is not { } row)
        {
            return;
        }

        lock (_gate)
        {
            _revealed.RemoveAll(r => r.Task == task.Name);
            _revealed.Add(row);
        }
    }

    /// <summary>Every release the attempt revealed, in order: the charges of an attempt that did not complete.</summary>
    public IReadOnlyList<FederationStore.ReleaseRow> All()
    {
        lock (_gate)
        {
            return [.. _revealed];
        }
    }

    /// <summary>
    /// The releases of a completed attempt other than its training update (which is the round's own charge): its
    /// statistics or evaluation sums.
    /// </summary>
    public IReadOnlyList<FederationStore.ReleaseRow> BesidesTraining()
    {
        lock (_gate)
        {
            return [.. _revealed.Where(r => r.Task != SumTask.Training)];
        }
    }
}
