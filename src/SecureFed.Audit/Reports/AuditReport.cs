namespace SecureFed.Audit.Reports;

/// <summary>One ledger entry (a round attempt) as the report shows it.</summary>
/// <param name="Sequence">The entry's sequence number in the ledger.</param>
/// <param name="Round">The round number.</param>
/// <param name="Attempt">The attempt of the round (a retried round has several).</param>
/// <param name="Status">How the attempt ended.</param>
/// <param name="Timestamp">When it ended, by the coordinator's clock.</param>
/// <param name="Aggregation">"secure" or "plain".</param>
/// <param name="Stages">Silo counts: invited, contributors, dropouts, refused, rejected, and secure-aggregation survivors when present.</param>
/// <param name="Participants">How many silos took part.</param>
/// <param name="EffectiveNoiseMultiplier">The noise multiplier charged, or <see langword="null"/> when none was.</param>
/// <param name="CumulativeEpsilon">Epsilon spent up to and including this entry, or <see langword="null"/> without DP.</param>
/// <param name="Accuracy">Accuracy after the round from <see cref="ReportContext.AccuracyByRound"/> (completed attempts only).</param>
/// <param name="ModelHashBefore">The global model's hash before.</param>
/// <param name="ModelHashAfter">The global model's hash after.</param>
/// <param name="PlanHash">The round plan's hash.</param>
/// <param name="TraceId">The W3C trace id of the round, or empty.</param>
public sealed record ReportRound(
    long Sequence,
    int Round,
    int Attempt,
    RoundStatus Status,
    DateTimeOffset Timestamp,
    string Aggregation,
    LedgerStageCounts Stages,
    int Participants,
    double? EffectiveNoiseMultiplier,
    LedgerEpsilon? CumulativeEpsilon,
    double? Accuracy,
    string ModelHashBefore,
    string ModelHashAfter,
    string PlanHash,
    string TraceId);

/// <summary>A silo that took part in the federation, by the certificate it presented.</summary>
/// <param name="SiloId">The silo id from its certificate.</param>
/// <param name="CertificateSha256">The certificate's SHA-256 fingerprint (hex).</param>
/// <param name="RoundsJoined">Distinct round numbers whose entries list it.</param>
/// <param name="CompletedRoundsJoined">Completed rounds whose entries list it.</param>
public sealed record ReportParticipant(string SiloId, string CertificateSha256, int RoundsJoined, int CompletedRoundsJoined);

/// <summary>A privacy parameter set and the rounds it applied to (a federation normally has one).</summary>
/// <param name="FromRound">The first round it applied to.</param>
/// <param name="ToRound">The last round it applied to.</param>
/// <param name="Privacy">The parameters as logged.</param>
public sealed record ReportParameters(int FromRound, int ToRound, LedgerPrivacy Privacy);

/// <summary>The privacy budget at the end of the ledger.</summary>
/// <param name="Accountant">The accountant that enforces the budget ("rdp" or "exact").</param>
/// <param name="EpsilonBudget">The budget, or <see langword="null"/> when none is set (0 in the ledger).</param>
/// <param name="EpsilonSpent">The final cumulative epsilon under <paramref name="Accountant"/> (may be infinite).</param>
/// <param name="EpsilonLeft">Budget minus spent (negative when overspent, −∞ when spent is infinite), or
/// <see langword="null"/> when no budget is set.</param>
/// <param name="Delta">The delta every epsilon is stated at.</param>
public sealed record ReportBudget(string Accountant, double? EpsilonBudget, double EpsilonSpent, double? EpsilonLeft, double Delta);

/// <summary>Whether the ledger was verified before the report was built.</summary>
/// <param name="Status">"verified", "failed" or "not verified".</param>
/// <param name="Reason">Why verification failed; empty otherwise.</param>
/// <param name="FailedSequence">The first bad entry, when verification failed on one.</param>
/// <param name="HeadHash">The hash of the last good entry, when verified; else the last entry's claimed hash.</param>
public sealed record ReportVerification(string Status, string Reason, long? FailedSequence, string HeadHash)
{
    /// <summary>The status of a ledger whose every check held.</summary>
    public const string Verified = "verified";

    /// <summary>The status of a ledger the verifier refuted.</summary>
    public const string Failed = "failed";

    /// <summary>The status when no verification was done (no coordinator certificate and CA given).</summary>
    public const string NotVerified = "not verified";
}

/// <summary>
/// The audit report of one federation: its rounds, participants, privacy parameters, budget left and verification
/// status, built from ledger entries by <see cref="Build"/> and written by <see cref="ReportWriter"/>.
/// </summary>
/// <remarks>
/// Everything in it comes from the ledger (public metadata: fingerprints, counts, parameters, hashes) or from the
/// <see cref="ReportContext"/>; it holds no updates, keys or data. An unverified ledger's contents are claims, and the
/// report says so. Immutable and thread-safe.
/// </remarks>
public sealed record AuditReport
{
    /// <summary>The federation reported on.</summary>
    public required string FederationId { get; init; }

    /// <summary>Every entry of the federation in ledger order (aborted attempts included).</summary>
    public required IReadOnlyList<ReportRound> Rounds { get; init; }

    /// <summary>Every silo that appears in an entry, ordered by silo id then fingerprint.</summary>
    public required IReadOnlyList<ReportParticipant> Participants { get; init; }

    /// <summary>The privacy parameter sets in the order they first appear; empty without DP.</summary>
    public required IReadOnlyList<ReportParameters> Parameters { get; init; }

    /// <summary>The budget at the end, or <see langword="null"/> when the federation ran without DP.</summary>
    public ReportBudget? Budget { get; init; }

    /// <summary>The verification status.</summary>
    public required ReportVerification Verification { get; init; }

    /// <summary>Accuracy by round from the context (sorted by round); empty when none was given.</summary>
    public required IReadOnlyList<KeyValuePair<int, double>> AccuracyByRound { get; init; }

    /// <summary>When the report was generated, if the context said.</summary>
    public DateTimeOffset? GeneratedAt { get; init; }

    /// <summary>Where the ledger came from, if the context said.</summary>
    public string? LedgerSource { get; init; }

    /// <summary>Completed rounds (entries with status completed).</summary>
    public int CompletedRounds => Rounds.Count(r => r.Status == RoundStatus.Completed);

    /// <summary>
    /// Cumulative epsilon after each round number (the last entry of that round), for plotting; empty without DP.
    /// </summary>
    public IReadOnlyList<(int Round, LedgerEpsilon Epsilon)> EpsilonByRound =>
        [.. Rounds.Where(r => r.CumulativeEpsilon is not null)
            .GroupBy(r => r.Round)
            .OrderBy(g => g.Key)
            .Select(g => (g.Key, g.Last().CumulativeEpsilon!))];

    /// <summary>Builds the report of one federation from ledger entries.</summary>
    /// <param name="entries">The ledger's entries in file order (<see cref="AuditLedger.Read"/>).</param>
    /// <param name="context">Accuracy, verification result and federation choice; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The ledger is empty, holds several federations and none was chosen, or
    /// does not hold the chosen one; the message says which.</exception>
    public static AuditReport Build(IReadOnlyList<LedgerEntry> entries, ReportContext? context)
    {
        ArgumentNullException.ThrowIfNull(entries);
        context ??= new ReportContext();
        if (entries.Count == 0)
        {
            throw new ArgumentException("The ledger has no entries to report on.", nameof(entries));
        }

        var federations = entries.Select(e => e.FederationId).Distinct(StringComparer.Ordinal).ToList();
        string federation = context.FederationId
            ?? (federations.Count == 1
                ? federations[0]
                : throw new ArgumentException(
                    $"The ledger holds {federations.Count} federations ({string.Join(", ", federations)}); the report covers one."));
        var mine = entries.Where(e => e.FederationId == federation).ToList();
        if (mine.Count == 0)
        {
            throw new ArgumentException(
                $"The ledger holds no entry of federation '{federation}' (it holds {string.Join(", ", federations)}).");
        }

        var accuracy = context.AccuracyByRound ?? new Dictionary<int, double>();
        var rounds = mine.Select(e => new ReportRound(
            e.Sequence,
            e.Round,
            e.Attempt,
            e.Status,
            e.Timestamp,
            e.Aggregation,
            e.Stages,
            e.Participants.Count,
            e.EffectiveNoiseMultiplier,
            e.CumulativeEpsilon,
            e.Status == RoundStatus.Completed && accuracy.TryGetValue(e.Round, out double a) ? a : null,
            e.ModelHashBefore,
            e.ModelHashAfter,
            e.PlanHash,
            e.TraceId)).ToList();

        return new AuditReport
        {
            FederationId = federation,
            Rounds = rounds,
            Participants = BuildParticipants(mine),
            Parameters = BuildParameters(mine),
            Budget = BuildBudget(mine[^1]),
            Verification = BuildVerification(context.Verification, entries),
            AccuracyByRound = [.. accuracy.OrderBy(kv => kv.Key)],
            GeneratedAt = context.GeneratedAt,
            LedgerSource = context.LedgerSource,
        };
    }

    private static List<ReportParticipant> BuildParticipants(List<LedgerEntry> entries)
    {
        var rounds = new Dictionary<(string Silo, string Fingerprint), (HashSet<int> All, HashSet<int> Completed)>();
        foreach (var entry in entries)
        {
            foreach (var p in entry.Participants)
            {
                var key = (p.SiloId, p.CertificateSha256);
                if (!rounds.TryGetValue(key, out var sets))
                {
                    sets = ([], []);
                    rounds[key] = sets;
                }

                sets.All.Add(entry.Round);
                if (entry.Status == RoundStatus.Completed)
                {
                    sets.Completed.Add(entry.Round);
                }
            }
        }

        return [.. rounds
            .OrderBy(kv => kv.Key.Silo, StringComparer.Ordinal)
            .ThenBy(kv => kv.Key.Fingerprint, StringComparer.Ordinal)
            .Select(kv => new ReportParticipant(kv.Key.Silo, kv.Key.Fingerprint, kv.Value.All.Count, kv.Value.Completed.Count))];
    }

    private static List<ReportParameters> BuildParameters(List<LedgerEntry> entries)
    {
        var sets = new List<ReportParameters>();
        foreach (var entry in entries)
        {
            if (entry.Privacy is not { } privacy)
            {
                continue;
            }

            int index = sets.FindIndex(s => s.Privacy == privacy);
            if (index < 0)
            {
                sets.Add(new ReportParameters(entry.Round, entry.Round, privacy));
            }
            else
            {
                var s = sets[index];
                sets[index] = s with { FromRound = Math.Min(s.FromRound, entry.Round), ToRound = Math.Max(s.ToRound, entry.Round) };
            }
        }

        return sets;
    }

    private static ReportBudget? BuildBudget(LedgerEntry last)
    {
        if (last is not { Privacy: { } privacy, CumulativeEpsilon: { } epsilon })
        {
            return null;
        }

        double spent = privacy.Accountant == "exact" ? epsilon.Exact : epsilon.Rdp;
        double? budget = privacy.EpsilonBudget > 0 ? privacy.EpsilonBudget : null;
        return new ReportBudget(privacy.Accountant, budget, spent, budget - spent, privacy.Delta);
    }

    private static ReportVerification BuildVerification(LedgerVerificationResult? result, IReadOnlyList<LedgerEntry> entries) =>
        result switch
        {
            null => new ReportVerification(ReportVerification.NotVerified, "", null, entries[^1].EntryHash),
            { Ok: true } => new ReportVerification(ReportVerification.Verified, "", null, result.HeadHash),
            _ => new ReportVerification(ReportVerification.Failed, result.Reason, result.FailedSequence, result.HeadHash),
        };
}
