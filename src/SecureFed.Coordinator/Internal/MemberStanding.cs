namespace SecureFed.Coordinator.Internal;

/// <summary>Something a member did that cost an attempt, as the ledger records it.</summary>
/// <param name="SiloId">The member.</param>
/// <param name="What">What it did, in one bounded line (no data, no key material).</param>
/// <param name="Proven">Whether the coordinator can show it (a protocol violation on the member's own authenticated
/// stream, a share complaint judged against the member's signed commitment); an unproven fault (a stall, an unresolved
/// complaint) only keeps the member out of the round's retries.</param>
/// <param name="SitsOut">False for an event recorded for the consortium's review that is not shown to be the member's
/// doing and costs it nothing (a second session presenting its certificate, refused while its own was live): the
/// genuine member must not lose its seat to whoever copied its key.</param>
internal sealed record AttemptFault(string SiloId, string What, bool Proven, bool SitsOut = true);

/// <summary>
/// What misbehaviour costs a member (issue 12): whoever was at fault in an aborted attempt (proven or not) sits out the
/// retries of that round, so one member cannot abort a round again and again; a member with
/// <see cref="QuarantineAfter"/> proven faults is quarantined for the rest of the federation. Kept for the coordinator's
/// lifetime (a restart forgets it; the ledger keeps every fault). Thread-safe.
/// </summary>
internal sealed class MemberStanding
{
    /// <summary>Proven faults after which a member is not invited again.</summary>
    public const int QuarantineAfter = 2;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _proven = new(StringComparer.Ordinal);
    private readonly HashSet<string> _quarantined = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _outOfRound = new(StringComparer.Ordinal);
    private long _round = -1;

    /// <summary>
    /// Takes in an attempt's faults: each member at fault sits out the rest of <paramref name="round"/> (once it
    /// completes, everyone not quarantined may join the next), and a proven fault counts towards quarantine. Returns the
    /// faults with a quarantine said so.
    /// </summary>
    public IReadOnlyList<AttemptFault> After(long round, IReadOnlyList<AttemptFault> faults, bool completed)
    {
        lock (_gate)
        {
            if (round != _round)
            {
                _round = round;
                _outOfRound.Clear();
            }

            var recorded = new List<AttemptFault>(faults.Count);
            foreach (var fault in faults)
            {
                if (!fault.SitsOut)
                {
                    recorded.Add(fault);
                    continue;
                }

                var what = fault.What;
                if (fault.Proven && (_proven[fault.SiloId] = _proven.GetValueOrDefault(fault.SiloId) + 1) >= QuarantineAfter && _quarantined.Add(fault.SiloId))
                {
                    what = $"{what}; with {QuarantineAfter} proven faults it is quarantined for the rest of the federation";
                }

                _outOfRound[fault.SiloId] = what;
                recorded.Add(fault with { What = what }); // bounded where the ledger entry is drafted
            }

            if (completed)
            {
                _outOfRound.Clear();
            }

            return recorded;
        }
    }

    /// <summary>Why <paramref name="siloId"/> may not take part in <paramref name="round"/>, or null when it may.</summary>
    public string? Barred(string siloId, long round)
    {
        lock (_gate)
        {
            if (_quarantined.Contains(siloId))
            {
                return "quarantined after repeated proven faults";
            }

            return round == _round && _outOfRound.TryGetValue(siloId, out var why) ? $"sits out the retries of round {round}: {why}" : null;
        }
    }
}
