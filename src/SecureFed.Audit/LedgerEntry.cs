using System.Diagnostics.CodeAnalysis;

namespace SecureFed.Audit;

/// <summary>How a round ended.</summary>
public enum RoundStatus
{
    /// <summary>The round produced a new global model ("completed").</summary>
    Completed = 0,

    /// <summary>
    /// The attempt was abandoned or interrupted ("aborted"): the model did not change; whatever it still showed the
    /// coordinator is charged in its releases, and its abort reason says why.
    /// </summary>
    Aborted = 1,
}

/// <summary>A silo that took part in a round, identified by the certificate it presented.</summary>
/// <param name="SiloId">The silo id from the certificate's SAN URI.</param>
/// <param name="CertificateSha256">The certificate's SHA-256 fingerprint, 64 lowercase hex characters
/// (<c>CertificateFingerprint.Sha256Hex</c>).</param>
public sealed record LedgerParticipant(string SiloId, string CertificateSha256);

/// <summary>How many silos a secure-aggregation round still had after each of its stages (SecAgg+ U1..U5).</summary>
/// <param name="U1">Advertised keys.</param>
/// <param name="U2">Shared keys.</param>
/// <param name="U3">Sent masked input.</param>
/// <param name="U4">Confirmed the survivor set.</param>
/// <param name="U5">Sent unmasking shares.</param>
public sealed record SecureAggregationSurvivors(int U1, int U2, int U3, int U4, int U5);

/// <summary>The silo counts of a round's stages.</summary>
/// <param name="Invited">Silos invited to the round.</param>
/// <param name="Contributors">Silos whose update went into the aggregate.</param>
/// <param name="Dropouts">Silos that stopped answering.</param>
/// <param name="Refused">Silos that declined (for example their local privacy budget was spent).</param>
/// <param name="Rejected">Updates the coordinator rejected (malformed, out of stage, not clipped).</param>
/// <param name="SecureAggregation">Survivors per secure-aggregation stage; <see langword="null"/> for plain aggregation.</param>
public sealed record LedgerStageCounts(
    int Invited, int Contributors, int Dropouts, int Refused, int Rejected, SecureAggregationSurvivors? SecureAggregation = null);

/// <summary>The differential-privacy parameters a round ran under (the plan's, not the effective ones).</summary>
/// <param name="Mechanism">"gaussian" or "discrete-gaussian".</param>
/// <param name="NoiseMultiplier">The planned noise multiplier z.</param>
/// <param name="ClipNorm">The L2 clipping norm.</param>
/// <param name="Threshold">The secure-aggregation threshold t.</param>
/// <param name="Colluding">The number of colluding silos kappa the noise is calibrated against.</param>
/// <param name="Delta">The delta of the (epsilon, delta) guarantee; cumulative epsilons are at this delta.</param>
/// <param name="EpsilonBudget">The epsilon the whole federation may spend.</param>
/// <param name="Accountant">The accountant that enforces the budget: "rdp" or "exact".</param>
public sealed record LedgerPrivacy(
    string Mechanism, double NoiseMultiplier, double ClipNorm, int Threshold, int Colluding, double Delta, double EpsilonBudget, string Accountant);

/// <summary>Epsilon spent so far by the federation, at the entry's delta, under both accountants.</summary>
/// <param name="Rdp">Rényi-DP accountant; may be <see cref="double.PositiveInfinity"/>.</param>
/// <param name="Exact">Exact Gaussian accountant; may be <see cref="double.PositiveInfinity"/>.</param>
public sealed record LedgerEpsilon(double Rdp, double Exact);

/// <summary>The kinds of ledger entry (<see cref="LedgerEntryDraft.Kind"/>): the task a round attempt ran.</summary>
public static class LedgerEntryKinds
{
    /// <summary>The federated-statistics round before round 1 (round 0): each silo's feature statistics, summed securely.</summary>
    public const string Statistics = "statistics";

    /// <summary>A training round (also what an entry without a kind is).</summary>
    public const string Training = "training";

    /// <summary>An evaluation-only round: each silo evaluates a global model on its held-out rows, the sums summed securely.</summary>
    public const string Evaluation = "evaluation";
}

/// <summary>
/// The federated evaluation of one global model: the securely summed metric sums of every contributing silo's
/// held-out rows (the coordinator holds no data), and the metrics derived from them.
/// </summary>
/// <param name="ModelHash">The hash of the model evaluated (for a training entry: the model the round produced).</param>
/// <param name="Examples">Held-out examples evaluated, summed over the silos (&gt; 0).</param>
/// <param name="Correct">Correctly classified examples, summed (0 to <paramref name="Examples"/>).</param>
/// <param name="LossSum">The sum of the per-example losses (finite, &gt;= 0).</param>
/// <param name="Accuracy">The federated accuracy, in [0, 1].</param>
/// <param name="Loss">The federated mean loss (finite, &gt;= 0).</param>
/// <param name="Contributors">Silos whose sums went into the totals.</param>
public sealed record LedgerEvaluation(string ModelHash, long Examples, long Correct, double LossSum, double Accuracy, double Loss, int Contributors);

/// <summary>
/// A privacy-charged release other than the training update: one more unsampled Gaussian mechanism release (q = 1,
/// one step) at <paramref name="EffectiveNoiseMultiplier"/>, composed with the training releases into the cumulative
/// epsilon.
/// </summary>
/// <param name="Task">What was released: <see cref="LedgerEntryKinds.Statistics"/> or <see cref="LedgerEntryKinds.Evaluation"/>.</param>
/// <param name="EffectiveNoiseMultiplier">The noise multiplier charged for the release (finite, &gt; 0).</param>
public sealed record LedgerRelease(string Task, double EffectiveNoiseMultiplier);

/// <summary>
/// The record-level DP-SGD one silo declared for an attempt it accepted: <paramref name="Steps"/> Poisson-sampled steps
/// at rate <paramref name="SamplingRate"/> with noise multiplier <paramref name="NoiseMultiplier"/>, accounted at
/// <paramref name="Delta"/> by <paramref name="Accountant"/>; an auditor recomputes the silo's record-level epsilon from these.
/// </summary>
public sealed record LedgerRecordPrivacy(string SiloId, double NoiseMultiplier, double SamplingRate, long Steps, double Delta, string Accountant);

/// <summary>
/// Something a member did that cost an attempt (a protocol violation, a share that does not open, a false complaint, a
/// stall), as the coordinator judged it; the member sits out the round's retries, and is quarantined after repeated
/// proven faults.
/// </summary>
/// <param name="SiloId">The member.</param>
/// <param name="Fault">What it did, in one line of at most <see cref="LedgerEntryDraft.MaxReasonLength"/> characters.</param>
/// <param name="Proven">Whether the coordinator can show it (on the member's own authenticated stream, or against its
/// signed commitment); an unproven fault (a stall, an unresolved dispute) only keeps it out of the round's retries.</param>
public sealed record LedgerFault(string SiloId, string Fault, bool Proven);

/// <summary>What one invited silo did in an attempt, as the coordinator saw it.</summary>
/// <param name="SiloId">The silo.</param>
/// <param name="Outcome">"contributed" (its input is in the attempt's sum), "refused" (it declined the plan),
/// "rejected" (it broke the protocol) or "dropped" (it left or fell silent).</param>
/// <param name="Reason">For a refusal, the reason the silo stated (bounded, one line); otherwise <see langword="null"/>.</param>
public sealed record LedgerSiloOutcome(string SiloId, string Outcome, string? Reason = null)
{
    /// <summary>The outcomes an entry may state.</summary>
    public static readonly IReadOnlyList<string> Known = ["contributed", "refused", "rejected", "dropped"];
}

/// <summary>
/// The content of a ledger entry as the coordinator fills it in, before <see cref="AuditLedger.Append(LedgerEntryDraft, Crypto.ISigner)"/> gives it a
/// sequence number, chains it to the previous entry and signs it.
/// </summary>
/// <remarks>
/// Everything here is public metadata: identities by certificate fingerprint, counts, parameters and hashes, never
/// updates, keys, shares or data. Immutable and thread-safe.
/// </remarks>
public record LedgerEntryDraft
{
    /// <summary>The federation (training run) this round belongs to.</summary>
    public required string FederationId { get; init; }

    /// <summary>The round number (1-based; 0 for the <see cref="LedgerEntryKinds.Statistics"/> entry).</summary>
    public required int Round { get; init; }

    /// <summary>The attempt of the round (1-based; a retried round gets 2, 3, ...).</summary>
    public required int Attempt { get; init; }

    /// <summary>How the round ended.</summary>
    public required RoundStatus Status { get; init; }

    /// <summary>When the round ended, by the coordinator's clock; written in UTC to 100 ns.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The hash of the round plan sent to the silos (hex).</summary>
    public required string PlanHash { get; init; }

    /// <summary>The silos that took part, by certificate fingerprint, in the coordinator's order.</summary>
    public required IReadOnlyList<LedgerParticipant> Participants { get; init; }

    /// <summary>Silo counts per stage.</summary>
    public required LedgerStageCounts Stages { get; init; }

    /// <summary>"secure" (masked, SecAgg+) or "plain".</summary>
    public required string Aggregation { get; init; }

    /// <summary>The differential-privacy parameters, or <see langword="null"/> when the federation runs without DP.</summary>
    public LedgerPrivacy? Privacy { get; init; }

    /// <summary>
    /// The noise multiplier charged for this round's training update (after accounting for dropouts and kappa
    /// colluders), or <see langword="null"/> when the round released no update under DP (no DP, aborted, or a
    /// statistics or evaluation entry, whose charges are in <see cref="Releases"/>).
    /// </summary>
    public double? EffectiveNoiseMultiplier { get; init; }

    /// <summary>
    /// Epsilon spent by the federation up to and including this round (both accountants, at
    /// <see cref="LedgerPrivacy.Delta"/>); <see langword="null"/> exactly when <see cref="Privacy"/> is. Compute it with
    /// <see cref="LedgerEpsilons.Compute"/> or <see cref="AuditLedger.CumulativeEpsilonWith(string, IEnumerable{double}, double)"/>.
    /// </summary>
    public LedgerEpsilon? CumulativeEpsilon { get; init; }

    /// <summary>The hash of the global model before the round (hex).</summary>
    public required string ModelHashBefore { get; init; }

    /// <summary>The hash of the global model after the round (hex; equal to before when aborted).</summary>
    public required string ModelHashAfter { get; init; }

    /// <summary>The W3C trace id of the round's trace, or empty.</summary>
    public string TraceId { get; init; } = "";

    /// <summary>
    /// The entry's kind (<see cref="LedgerEntryKinds"/>): "statistics", "training" or "evaluation";
    /// <see langword="null"/> means "training" (entries written before kinds existed encode without it).
    /// </summary>
    public string? Kind { get; init; }

    /// <summary>The study's canonical hash (64 lowercase hex), or <see langword="null"/> when the federation declares no study.</summary>
    public string? StudyHash { get; init; }

    /// <summary>
    /// The hash (64 lowercase hex) of the federated feature statistics the round's encoding used; for a statistics
    /// entry, the statistics it produced. <see langword="null"/> when none were used.
    /// </summary>
    public string? StatisticsHash { get; init; }

    /// <summary>
    /// The federated evaluation of a model (for a training entry: the model it produced; for an evaluation entry: the
    /// model evaluated), or <see langword="null"/> when none was made.
    /// </summary>
    public LedgerEvaluation? Evaluation { get; init; }

    /// <summary>
    /// Privacy-charged releases other than the training update (statistics, evaluation), in the order they were made;
    /// <see langword="null"/> (or empty, which encodes the same) when there were none. Only with <see cref="Privacy"/>.
    /// </summary>
    public IReadOnlyList<LedgerRelease>? Releases { get; init; }

    /// <summary>
    /// What changed in the settings that price releases since the federation's previous entry (a coordinator restarted
    /// with other privacy settings), in one line; <see langword="null"/> when nothing did. Earlier entries keep the
    /// charges they were priced with.
    /// </summary>
    public string? SettingsChange { get; init; }

    /// <summary>
    /// Each accepting silo's record-level DP-SGD for this attempt, in silo order; <see langword="null"/> (or empty) when
    /// the study declares no record-level privacy.
    /// </summary>
    public IReadOnlyList<LedgerRecordPrivacy>? RecordPrivacy { get; init; }

    /// <summary>
    /// Why an aborted attempt ended (for one a crash interrupted, that it was interrupted), in one line of at most
    /// <see cref="MaxReasonLength"/> printable characters; <see langword="null"/> for a completed one (and in entries
    /// written before reasons were kept).
    /// </summary>
    public string? AbortReason { get; init; }

    /// <summary>What each invited silo did in this attempt, in silo order; <see langword="null"/> in entries written before outcomes were kept.</summary>
    public IReadOnlyList<LedgerSiloOutcome>? Outcomes { get; init; }

    /// <summary>The rounds the federation planned when this entry was written (<see langword="null"/> in older entries): a ledger whose completed rounds fall short stopped early.</summary>
    public int? PlannedRounds { get; init; }

    /// <summary>
    /// The kind of model the federation trains ("logreg", "mlp", as the study's model section names it), or
    /// <see langword="null"/> in older entries.
    /// </summary>
    public string? ModelKind { get; init; }

    /// <summary>The study's name (its <c>name</c>), or <see langword="null"/> when the federation declares no study and in older entries.</summary>
    public string? StudyName { get; init; }

    /// <summary>The longest <see cref="ModelKind"/> or <see cref="StudyName"/> an entry holds.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The members at fault in this attempt, in the order it happened; <see langword="null"/> (or empty) when none was.</summary>
    public IReadOnlyList<LedgerFault>? Faults { get; init; }

    /// <summary>The longest <see cref="AbortReason"/> an entry holds.</summary>
    public const int MaxReasonLength = 300;

    /// <summary>
    /// <paramref name="reason"/> fit for <see cref="AbortReason"/>: control characters replaced by spaces, cut to
    /// <see cref="MaxReasonLength"/> characters (a reason may quote what a peer said); null stays null.
    /// </summary>
    public static string? BoundReason(string? reason)
    {
        return reason is null ? null : Identity.PeerText.Bound(reason, MaxReasonLength);
    }

    /// <summary><paramref name="name"/> fit for <see cref="ModelKind"/> or <see cref="StudyName"/>: one line of at most
    /// <see cref="MaxNameLength"/> characters; null or empty gives null.</summary>
    public static string? BoundName(string? name) =>
        string.IsNullOrEmpty(name) ? null : Identity.PeerText.Bound(name, MaxNameLength) is { Length: > 0 } b ? b : null;

    /// <summary>The kind with the default applied: <see cref="Kind"/>, or "training" when it is <see langword="null"/>.</summary>
    internal string EffectiveKind => Kind ?? LedgerEntryKinds.Training;

    /// <summary>
    /// Every noise multiplier this entry charges, in order: the training update's (<see cref="EffectiveNoiseMultiplier"/>,
    /// when the entry completed with one), then each of <see cref="Releases"/>. Empty when the entry charged nothing.
    /// </summary>
    public IEnumerable<double> Charges()
    {
        if (Status == RoundStatus.Completed && EffectiveNoiseMultiplier is { } z)
        {
            yield return z;
        }

        foreach (var release in Releases ?? [])
        {
            yield return release.EffectiveNoiseMultiplier;
        }
    }
}

/// <summary>
/// One signed, hash-chained ledger entry: a <see cref="LedgerEntryDraft"/> plus its sequence number, the previous
/// entry's hash, its own hash and the coordinator's signature.
/// </summary>
/// <remarks>
/// <see cref="EntryHash"/> is SHA-256 over <see cref="LedgerCanonicalForm.Encode(LedgerEntry)"/> (every field except the hash and
/// the signature); <see cref="Signature"/> is the coordinator's ECDSA P-256 signature over
/// <see cref="LedgerCanonicalForm.SignedPayload"/> of that hash. A value read from a file is only a claim until
/// <see cref="LedgerVerifier.Verify"/> accepts it. Immutable and thread-safe.
/// </remarks>
public sealed record LedgerEntry : LedgerEntryDraft
{
    /// <summary>The hash that stands before the first entry: 64 zeros.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>An entry with the content of <paramref name="content"/> and the given chain fields.</summary>
    [SetsRequiredMembers]
    public LedgerEntry(LedgerEntryDraft content, long sequence, string previousHash, string entryHash, string signature)
        : base(content)
    {
        Sequence = sequence;
        PreviousHash = previousHash;
        EntryHash = entryHash;
        Signature = signature;
    }

    /// <summary>An entry whose every member is set by an object initializer.</summary>
    public LedgerEntry()
    {
    }

    /// <summary>The position in the ledger, 1-based, without gaps.</summary>
    public required long Sequence { get; init; }

    /// <summary>The <see cref="EntryHash"/> of the previous entry, or <see cref="GenesisHash"/> for the first.</summary>
    public required string PreviousHash { get; init; }

    /// <summary>SHA-256 of the canonical encoding, 64 lowercase hex characters.</summary>
    public required string EntryHash { get; init; }

    /// <summary>The coordinator's 64-byte P1363 signature as 128 lowercase hex characters.</summary>
    public required string Signature { get; init; }
}
