using SecureFed.Identity;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Who the retries of an aborted round invite, and whether a retry can release anything at all (issue 13). A silo that
/// refused a round's plan is left out of that round's retries: its policy judges the same plan the same way (a retry
/// changes only who takes part, which can only shrink a cohort). A member at fault sits the retries out too
/// (<see cref="MemberStanding"/>). When, after a refusal, the silos that may still take part can no longer reach the
/// round's need (MinSilos, and the privacy threshold), a retry can only fail again: <see cref="StopReason"/> says so,
/// naming each silo left out and why, and the federation stops at once instead of spending its
/// <see cref="CoordinatorOptions.MaxConsecutiveAborts"/>. Every silo is invited again in the next round. Kept for the
/// coordinator's lifetime (a restart forgets it; the ledger keeps each attempt's refusals). Thread-safe.
/// </summary>
internal sealed class RetryPlanner(CoordinatorOptions options, MemberStanding standing)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _refused = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<string> _members = MemberList.Parse(options.Members).Ids;
    private long _round = -1;

    /// <summary>
    /// Takes in an attempt of <paramref name="round"/> as the ledger records it: each silo that refused its plan is left
    /// out of the round's retries; once the round completes, nobody is.
    /// </summary>
    public void After(long round, IReadOnlyList<Audit.LedgerSiloOutcome> outcomes, bool completed)
    {
        lock (_gate)
        {
            if (round != _round || completed)
            {
                _round = round;
                _refused.Clear();
            }

            if (completed)
            {
                return;
            }

            foreach (var o in outcomes.Where(o => o.Outcome == "refused"))
            {
                _refused[o.SiloId] = string.IsNullOrWhiteSpace(o.Reason) ? "no reason given" : o.Reason;
            }
        }
    }

    /// <summary>Why <paramref name="siloId"/> may not take part in the next attempt of <paramref name="round"/>, or null when it may.</summary>
    public string? LeftOut(string siloId, long round) =>
        standing.Barred(siloId, round) ?? (Refusal(siloId, round) is { } why ? $"refused the plan of round {round} ({why}), so its retries are planned without it" : null);

    /// <summary>
    /// After an aborted attempt of <paramref name="round"/>: the reason to stop the federation now, or null while a retry
    /// can still reach <paramref name="needed"/> silos. The silos it counts on are the federation's Members, or without a
    /// member list those it has seen (<paramref name="seen"/>: connected, or invited), and at least TargetSilos
    /// (MinSilos) of them. Only a refusal stops it early; faults alone are left to MaxConsecutiveAborts as before.
    /// </summary>
    public string? StopReason(long round, int needed, IReadOnlyCollection<string> seen)
    {
        var pool = _members.Count > 0 ? _members : [.. seen.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        var capacity = _members.Count > 0 ? pool.Count : Math.Max(Math.Max(options.TargetSilos, options.MinSilos), pool.Count);
        var leftOut = pool.Select(id => (Id: id, Why: LeftOut(id, round))).Where(x => x.Why is not null).ToList();
        if (!leftOut.Exists(x => Refusal(x.Id, round) is not null) || capacity - leftOut.Count >= needed)
        {
            return null;
        }

        var who = string.Join("; ", leftOut.Select(x => $"{x.Id} {x.Why}"));
        return PeerText.Bound(
            $"round {round} cannot release: at most {capacity - leftOut.Count} of the {needed} silos it needs (MinSilos {options.MinSilos}, privacy threshold {options.Privacy?.Threshold ?? 0}) may take part in a retry, which can only fail again. Left out: {who}. Change the refusing silos' policy (or the federation's plan) and start the coordinator again; it resumes with this round",
            2000);
    }

    private string? Refusal(string siloId, long round)
    {
        lock (_gate)
        {
            return round == _round && _refused.TryGetValue(siloId, out var why) ? why : null;
        }
    }
}
