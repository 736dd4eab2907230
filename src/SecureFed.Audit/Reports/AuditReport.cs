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
/// <param name="Accuracy">Accuracy of the model: the entry's own federated <paramref name="Evaluation"/> when the
/// ledger carries evaluations, else (only then) <see cref="ReportContext.AccuracyByRound"/> for completed training attempts.</param>
/// <param name="ModelHashBefore">The global model's hash before.</param>
/// <param name="ModelHashAfter">The global model's hash after.</param>
/// <param name="PlanHash">The round plan's hash.</param>
/// <param name="TraceId">The W3C trace id of the round, or empty.</param>
/// <param name="Kind">"statistics", "training" or "evaluation" (an entry without a kind is training).</param>
/// <param name="StudyHash">The study's canonical hash, when the entry carries one.</param>
/// <param name="StatisticsHash">The hash of the federated statistics the round used (or, for a statistics entry, produced).</param>
/// <param name="Evaluation">The federated evaluation the entry records, or <see langword="null"/>.</param>
/// <param name="Releases">Every privacy-charged release of the entry in charge order: the training update's (task
/// "training") when it completed with one, then its statistics and evaluation releases. Empty when it charged nothing.</param>
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
    string TraceId,
    string Kind,
    string? StudyHash,
    string? StatisticsHash,
    LedgerEvaluation? Evaluation,
    IReadOnlyList<ReportRelease> Releases)
{
    /// <summary>Each accepting silo's record-level DP-SGD in this attempt, with its record-level epsilon so far.</summary>
    public IReadOnlyList<ReportRecordPrivacy> RecordPrivacy { get; init; } = [];

    /// <summary>Why the attempt aborted, as its entry says (null for a completed one or an older entry).</summary>
    public string? AbortReason { get; init; }

    /// <summary>The members the coordinator found at fault in the attempt.</summary>
    public IReadOnlyList<LedgerFault> Faults { get; init; } = [];
}

/// <summary>One silo's record-level DP-SGD in one ledger entry, and its record-level epsilon after it.</summary>
/// <param name="SiloId">The silo.</param>
/// <param name="Spend">What the entry logged (q, sigma, steps, delta, accountant).</param>
/// <param name="Epsilon">The silo's record-level epsilon over every attempt it accepted up to and including this one,
/// recomputed from the ledger's logged steps by the logged accountant at the logged delta.</param>
public sealed record ReportRecordPrivacy(string SiloId, LedgerRecordPrivacy Spend, double Epsilon);

/// <summary>One privacy-charged release: one unsampled Gaussian mechanism release composed into the epsilon.</summary>
/// <param name="Sequence">The entry that charged it.</param>
/// <param name="Round">That entry's round (0 for federated statistics).</param>
/// <param name="Attempt">That entry's attempt.</param>
/// <param name="Task">"training" (the model update), "statistics" or "evaluation".</param>
/// <param name="EffectiveNoiseMultiplier">The noise multiplier charged.</param>
public sealed record ReportRelease(long Sequence, int Round, int Attempt, string Task, double EffectiveNoiseMultiplier);

/// <summary>The federated-statistics round (round 0) that fixed the encoding the training rounds used.</summary>
/// <param name="Sequence">Its ledger entry (the last completed statistics attempt, else the last attempt).</param>
/// <param name="Attempt">Its attempt.</param>
/// <param name="Status">How it ended.</param>
/// <param name="StatisticsHash">The hash of the statistics it produced, when it says.</param>
/// <param name="Contributors">Silos whose statistics went into the sum.</param>
/// <param name="Releases">What it charged to the privacy budget.</param>
/// <param name="CumulativeEpsilon">Epsilon spent after it, or <see langword="null"/> without DP.</param>
public sealed record ReportStatistics(
    long Sequence, int Attempt, RoundStatus Status, string? StatisticsHash, int Contributors, IReadOnlyList<ReportRelease> Releases,
    LedgerEpsilon? CumulativeEpsilon);

/// <summary>One point of the accuracy series.</summary>
/// <param name="Round">The round whose model was evaluated (the round that produced it).</param>
/// <param name="Accuracy">The accuracy.</param>
/// <param name="Loss">The federated mean loss, when the point comes from the ledger.</param>
/// <param name="Examples">Held-out examples evaluated, when the point comes from the ledger.</param>
public sealed record ReportAccuracy(int Round, double Accuracy, double? Loss, long? Examples);

/// <summary>A silo that took part in the federation, by the certificate it presented.</summary>
/// <param name="SiloId">The silo id from its certificate.</param>
/// <param name="CertificateSha256">The certificate's SHA-256 fingerprint (hex).</param>
/// <param name="RoundsJoined">Distinct round numbers whose entries list it.</param>
/// <param name="CompletedRoundsJoined">Completed rounds it contributed to (entries that state outcomes), else completed rounds whose entries list it.</param>
public sealed record ReportParticipant(string SiloId, string CertificateSha256, int RoundsJoined, int CompletedRoundsJoined)
{
    /// <summary>Attempts in which it contributed, refused the plan, broke the protocol, or dropped out (from entries that state outcomes).</summary>
    public (int Contributed, int Refused, int Rejected, int Dropped) Attempts { get; init; }

    /// <summary>The last reason it gave for refusing a plan, or null.</summary>
    public string? LastRefusal { get; init; }
}

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

/// <summary>One release in a silo's own ledger, with the epsilon the silo stated after it and how it compares with the coordinator's ledger.</summary>
/// <param name="Entry">Its 1-based position in the silo's file.</param>
/// <param name="Round">The round.</param>
/// <param name="Task">"training", "statistics", "evaluation" or "record" (a DP-SGD run).</param>
/// <param name="NoiseMultiplier">The noise multiplier the silo priced it at.</param>
/// <param name="Epsilon">The silo's epsilon after it (client-level, or record-level for a DP-SGD run), or null in older files.</param>
/// <param name="EpsilonCap">The silo's cap on that epsilon (null when none or not stated).</param>
/// <param name="Accountant">The accountant of <paramref name="Epsilon"/>.</param>
/// <param name="Delta">The delta of <paramref name="Epsilon"/>.</param>
/// <param name="Agreement">How it compares with the coordinator's ledger.</param>
public sealed record ReportSiloRelease(
    long Entry, long Round, string Task, double NoiseMultiplier, double? Epsilon, double? EpsilonCap, string? Accountant, double? Delta, SiloLedgerAgreement Agreement);

/// <summary>A silo's own ledger as the report shows it: its verification, and its releases in this federation.</summary>
/// <param name="Source">The file it came from.</param>
/// <param name="SiloId">The silo its entries name (null when they name none: older files).</param>
/// <param name="Verification">The verdict on the file's chain and stated epsilons.</param>
/// <param name="Releases">Its entries of the reported federation, in file order.</param>
public sealed record ReportSiloLedger(string Source, string? SiloId, SiloLedgerVerification Verification, IReadOnlyList<ReportSiloRelease> Releases)
{
    /// <summary>"verified" (chain and epsilons hold and every release agrees with the coordinator's ledger), "failed"
    /// (the file does not verify) or "disagrees" (it verifies, but the coordinator's ledger contradicts a release).</summary>
    public string Status => !Verification.Ok ? ReportVerification.Failed
        : Releases.Any(r => r.Agreement.Verdict == SiloLedgerAgreement.Disagrees) ? Disagrees : ReportVerification.Verified;

    /// <summary>The <see cref="Status"/> of a verified file that the coordinator's ledger contradicts.</summary>
    public const string Disagrees = "disagrees";

    /// <summary>One line naming the file, the entry and what is wrong; null when <see cref="Status"/> is verified.</summary>
    public string? Problem => Status switch
    {
        ReportVerification.Failed => $"silo ledger {Source}: verification FAILED at {Verification.Reason}",
        Disagrees => Releases.First(r => r.Agreement.Verdict == SiloLedgerAgreement.Disagrees) is var r
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"silo ledger {Source}: entry {r.Entry} disagrees with the coordinator's ledger: {r.Agreement.Detail}")
            : null,
        _ => null,
    };

    /// <summary>The silo's last stated client-level epsilon in the file's releases shown, or null.</summary>
    public double? ClientEpsilon => Releases.LastOrDefault(r => r.Task != SiloLedgerEntry.RecordTask && r.Epsilon is not null)?.Epsilon;

    /// <summary>The silo's last stated record-level epsilon in the file's releases shown, or null.</summary>
    public double? RecordEpsilon => Releases.LastOrDefault(r => r.Task == SiloLedgerEntry.RecordTask && r.Epsilon is not null)?.Epsilon;
}

/// <summary>
/// The audit report of one federation: its study, federated statistics, rounds (with their federated evaluations),
/// participants, privacy parameters, charged releases, budget left and verification status, built from ledger entries
/// by <see cref="Build"/> and written by <see cref="ReportWriter"/>.
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

    /// <summary>The rounds the federation planned (the last entry that states it), or null for an older ledger.</summary>
    public int? PlannedRounds { get; init; }

    /// <summary>Whether the federation ended before its planned rounds (as far as this ledger shows).</summary>
    public bool StoppedEarly => PlannedRounds is { } planned && CompletedRounds < planned;

    /// <summary>Why the last attempt ended, when it was aborted (the likeliest reason a federation stopped early), or null.</summary>
    public string? LastAbortReason => Rounds.Count > 0 && Rounds[^1].Status == RoundStatus.Aborted ? Rounds[^1].AbortReason : null;

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

    /// <summary>
    /// Accuracy by round (sorted by round): the ledger's federated evaluations when it has any (see
    /// <see cref="AccuracySource"/>), else the context's <see cref="ReportContext.AccuracyByRound"/>; empty when neither.
    /// </summary>
    public required IReadOnlyList<KeyValuePair<int, double>> AccuracyByRound { get; init; }

    /// <summary>Where <see cref="AccuracyByRound"/> came from: <see cref="LedgerAccuracy"/>, <see cref="SummaryAccuracy"/> or <see cref="NoAccuracy"/>.</summary>
    public string AccuracySource { get; init; } = NoAccuracy;

    /// <summary>The accuracy series with loss and examples evaluated (those only for ledger evaluations), sorted by round.</summary>
    public IReadOnlyList<ReportAccuracy> Accuracy { get; init; } = [];

    /// <summary>The study's canonical hash when every entry that names a study names this one; else <see langword="null"/>.</summary>
    public string? StudyHash => StudyHashes.Count == 1 ? StudyHashes[0] : null;

    /// <summary>The distinct study hashes the entries carry, in order of appearance (normally one, or none).</summary>
    public IReadOnlyList<string> StudyHashes { get; init; } = [];

    /// <summary>The study's name, as the last entry that names one says, or null (no study, or an older ledger).</summary>
    public string? StudyName { get; init; }

    /// <summary>The kind of model trained, as the last entry that names one says, or null (an older ledger).</summary>
    public string? ModelKind { get; init; }

    /// <summary>The silo ledgers handed over, verified and compared with this ledger, in the order given.</summary>
    public IReadOnlyList<ReportSiloLedger> SiloLedgers { get; init; } = [];

    /// <summary>The federated-statistics round, or <see langword="null"/> when the ledger has none.</summary>
    public ReportStatistics? Statistics { get; init; }

    /// <summary>Every privacy-charged release of the federation in ledger order (training, statistics, evaluation).</summary>
    public IReadOnlyList<ReportRelease> Releases => [.. Rounds.SelectMany(r => r.Releases)];

    /// <summary>The value of <see cref="AccuracySource"/> for accuracy from the ledger's federated evaluations.</summary>
    public const string LedgerAccuracy = "ledger";

    /// <summary>The value of <see cref="AccuracySource"/> for accuracy from <see cref="ReportContext.AccuracyByRound"/>.</summary>
    public const string SummaryAccuracy = "summary";

    /// <summary>The value of <see cref="AccuracySource"/> when no accuracy is known.</summary>
    public const string NoAccuracy = "none";

    /// <summary>When the report was generated, if the context said.</summary>
    public DateTimeOffset? GeneratedAt { get; init; }

    /// <summary>Where the ledger came from, if the context said.</summary>
    public string? LedgerSource { get; init; }

    /// <summary>The model the last completed training round produced, or <see langword="null"/> when none completed.</summary>
    public string? FinalModelHash => Rounds.LastOrDefault(r => r.Status == RoundStatus.Completed && r.Kind == LedgerEntryKinds.Training)?.ModelHashAfter;

    /// <summary>The exported model the context named, or <see langword="null"/>.</summary>
    public ReportExportedModel? ExportedModel { get; init; }

    /// <summary>
    /// True when the exported model is the ledger's final model and the head it was verified against is an entry of
    /// this ledger (the ledger may have grown since, by evaluation-only entries).
    /// </summary>
    public bool ExportedModelMatches => ExportedModel is { } m && m.ModelHash == FinalModelHash && ExportedHeadInLedger;

    /// <summary>True when the exported model's ledger head hash is the hash of one of this federation's entries.</summary>
    public bool ExportedHeadInLedger { get; init; }

    /// <summary>Completed training rounds (training entries with status completed).</summary>
    public int CompletedRounds => Rounds.Count(r => r.Status == RoundStatus.Completed && r.Kind == LedgerEntryKinds.Training);

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

        bool fromLedger = mine.Any(e => e.Evaluation is not null);
        var summary = fromLedger ? new Dictionary<int, double>() : context.AccuracyByRound ?? new Dictionary<int, double>();
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
            fromLedger
                ? e.Evaluation?.Accuracy
                : e.Status == RoundStatus.Completed && e.EffectiveKind == LedgerEntryKinds.Training && summary.TryGetValue(e.Round, out double a) ? a : null,
            e.ModelHashBefore,
            e.ModelHashAfter,
            e.PlanHash,
            e.TraceId,
            e.EffectiveKind,
            e.StudyHash,
            e.StatisticsHash,
            e.Evaluation,
            BuildReleases(e)) { AbortReason = e.AbortReason, Faults = e.Faults ?? [] }).ToList();
        AddRecordPrivacy(mine, rounds);
        var series = fromLedger
            ? LedgerSeries(mine)
            : [.. summary.OrderBy(kv => kv.Key).Select(kv => new ReportAccuracy(kv.Key, kv.Value, null, null))];

        return new AuditReport
        {
            FederationId = federation,
            PlannedRounds = mine.LastOrDefault(e => e.PlannedRounds is not null)?.PlannedRounds,
            Rounds = rounds,
            Participants = BuildParticipants(mine),
            Parameters = BuildParameters(mine),
            Budget = BuildBudget(mine[^1]),
            Verification = BuildVerification(context.Verification, entries),
            AccuracyByRound = [.. series.Select(p => new KeyValuePair<int, double>(p.Round, p.Accuracy))],
            AccuracySource = fromLedger ? LedgerAccuracy : series.Count > 0 ? SummaryAccuracy : NoAccuracy,
            Accuracy = series,
            StudyHashes = [.. mine.Select(e => e.StudyHash).OfType<string>().Distinct(StringComparer.Ordinal)],
            Statistics = BuildStatistics(rounds),
            GeneratedAt = context.GeneratedAt,
            LedgerSource = context.LedgerSource,
            ExportedModel = context.ExportedModel,
            ExportedHeadInLedger = context.ExportedModel is { } m && mine.Any(e => e.EntryHash == m.LedgerHeadHash),
            StudyName = mine.LastOrDefault(e => e.StudyName is not null)?.StudyName,
            ModelKind = mine.LastOrDefault(e => e.ModelKind is not null)?.ModelKind,
            SiloLedgers = [.. context.SiloLedgers.Select(f => BuildSiloLedger(f, mine, federation))],
        };
    }

    private static ReportSiloLedger BuildSiloLedger(SiloLedgerFile file, List<LedgerEntry> coordinator, string federation)
    {
        var verification = SiloLedgerVerifier.Verify(file.Entries);
        var agreements = SiloLedgerVerifier.Compare(file.Entries, coordinator, federation).ToDictionary(a => a.Entry);
        var releases = new List<ReportSiloRelease>();
        for (int i = 0; i < file.Entries.Count; i++)
        {
            var e = file.Entries[i];
            if (agreements.TryGetValue(i + 1, out var agreement))
            {
                releases.Add(new ReportSiloRelease(
                    i + 1, e.Round, e.Task ?? LedgerEntryKinds.Training, e.NoiseMultiplier, e.Epsilon, e.EpsilonCap is > 0 ? e.EpsilonCap : null,
                    e.Accountant, e.Delta, agreement));
            }
        }

        return new ReportSiloLedger(file.Source, file.Entries.Select(e => e.SiloId).FirstOrDefault(s => s is not null), verification, releases);
    }

    /// <summary>Each silo's record-level epsilon, entry by entry, recomputed from the logged DP-SGD steps.</summary>
    private static void AddRecordPrivacy(List<LedgerEntry> entries, List<ReportRound> rounds)
    {
        var history = new RecordPrivacyHistory();
        for (var i = 0; i < entries.Count; i++)
        {
            var list = new List<ReportRecordPrivacy>();
            foreach (var r in entries[i].RecordPrivacy ?? [])
            {
                history.Add(r);
                list.Add(new ReportRecordPrivacy(r.SiloId, r, history.EpsilonOf(r.SiloId)));
            }

            rounds[i] = rounds[i] with { RecordPrivacy = list };
        }
    }

    /// <summary>Each silo's record-level epsilon after the last entry that names it (empty without record-level privacy).</summary>
    public IReadOnlyDictionary<string, double> RecordEpsilon =>
        Rounds.SelectMany(r => r.RecordPrivacy).GroupBy(r => r.SiloId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().Epsilon, StringComparer.Ordinal);

    private static List<ReportRelease> BuildReleases(LedgerEntry e)
    {
        var releases = new List<ReportRelease>();
        if (e is { Status: RoundStatus.Completed, EffectiveNoiseMultiplier: { } z })
        {
            releases.Add(new ReportRelease(e.Sequence, e.Round, e.Attempt, LedgerEntryKinds.Training, z));
        }

        releases.AddRange((e.Releases ?? []).Select(r => new ReportRelease(e.Sequence, e.Round, e.Attempt, r.Task, r.EffectiveNoiseMultiplier)));
        return releases;
    }

    // An evaluation belongs to the round that produced the model it evaluated (an evaluation-only entry may evaluate a
    // model an earlier round made); a model no completed training round produced stays with the entry's own round.
    // When a round's model was evaluated more than once, the last evaluation in the ledger wins.
    private static List<ReportAccuracy> LedgerSeries(List<LedgerEntry> entries)
    {
        var producedBy = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in entries.Where(e => e.Status == RoundStatus.Completed && e.EffectiveKind == LedgerEntryKinds.Training))
        {
            producedBy[e.ModelHashAfter] = e.Round;
        }

        var byRound = new SortedDictionary<int, ReportAccuracy>();
        foreach (var e in entries)
        {
            if (e.Evaluation is { } v)
            {
                int round = producedBy.TryGetValue(v.ModelHash, out int r) ? r : e.Round;
                byRound[round] = new ReportAccuracy(round, v.Accuracy, v.Loss, v.Examples);
            }
        }

        return [.. byRound.Values];
    }

    private static ReportStatistics? BuildStatistics(List<ReportRound> rounds)
    {
        var attempts = rounds.Where(r => r.Kind == LedgerEntryKinds.Statistics).ToList();
        if (attempts.Count == 0)
        {
            return null;
        }

        var chosen = attempts.LastOrDefault(r => r.Status == RoundStatus.Completed) ?? attempts[^1];
        return new ReportStatistics(
            chosen.Sequence, chosen.Attempt, chosen.Status, chosen.StatisticsHash, chosen.Stages.Contributors, chosen.Releases, chosen.CumulativeEpsilon);
    }

    private static List<ReportParticipant> BuildParticipants(List<LedgerEntry> entries)
    {
        var rounds = new Dictionary<(string Silo, string Fingerprint), (HashSet<int> All, HashSet<int> Completed)>();
        var attempts = new Dictionary<string, (int Contributed, int Refused, int Rejected, int Dropped)>(StringComparer.Ordinal);
        var refusals = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var outcomes = (entry.Outcomes ?? []).ToDictionary(o => o.SiloId, StringComparer.Ordinal);
            foreach (var p in entry.Participants)
            {
                var key = (p.SiloId, p.CertificateSha256);
                if (!rounds.TryGetValue(key, out var sets))
                {
                    sets = ([], []);
                    rounds[key] = sets;
                }

                sets.All.Add(entry.Round);
                var outcome = outcomes.GetValueOrDefault(p.SiloId);
                if (entry.Status == RoundStatus.Completed && (entry.Outcomes is null || outcome?.Outcome == "contributed"))
                {
                    sets.Completed.Add(entry.Round);
                }

                if (outcome is not null)
                {
                    var (c, f, j, d) = attempts.GetValueOrDefault(p.SiloId);
                    attempts[p.SiloId] = outcome.Outcome switch
                    {
                        "contributed" => (c + 1, f, j, d),
                        "refused" => (c, f + 1, j, d),
                        "rejected" => (c, f, j + 1, d),
                        _ => (c, f, j, d + 1),
                    };
                    if (outcome.Outcome == "refused")
                    {
                        refusals[p.SiloId] = outcome.Reason;
                    }
                }
            }
        }

        return [.. rounds
            .OrderBy(kv => kv.Key.Silo, StringComparer.Ordinal)
            .ThenBy(kv => kv.Key.Fingerprint, StringComparer.Ordinal)
            .Select(kv => new ReportParticipant(kv.Key.Silo, kv.Key.Fingerprint, kv.Value.All.Count, kv.Value.Completed.Count)
            {
                Attempts = attempts.GetValueOrDefault(kv.Key.Silo),
                LastRefusal = refusals.GetValueOrDefault(kv.Key.Silo),
            })];
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
