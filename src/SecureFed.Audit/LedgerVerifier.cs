using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Audit.Internal;
using SecureFed.Crypto;
using SecureFed.Identity;

namespace SecureFed.Audit;

/// <summary>The verdict on a ledger.</summary>
/// <param name="Ok">Whether every check held.</param>
/// <param name="FailedSequence">The sequence number of the first bad entry, or <see langword="null"/> when the ledger
/// is fine or the failure concerns no single entry (certificate, empty ledger).</param>
/// <param name="Reason">Why it failed, starting with "entry N: " for entry failures; empty when <paramref name="Ok"/>.</param>
/// <param name="Entries">How many entries were checked.</param>
/// <param name="CompletedRounds">Completed training rounds among the checked entries (statistics and evaluation
/// entries are not rounds of training).</param>
/// <param name="FinalEpsilon">The last entry's cumulative epsilon, when it has one.</param>
/// <param name="Delta">The delta of <paramref name="FinalEpsilon"/>.</param>
/// <param name="HeadHash">The hash of the last good entry (compare with a value published out of band: truncating
/// the tail of a ledger cannot be detected from the ledger alone).</param>
public sealed record LedgerVerificationResult(
    bool Ok, long? FailedSequence, string Reason, int Entries, int CompletedRounds, LedgerEpsilon? FinalEpsilon, double? Delta, string HeadHash)
{
    /// <summary>
    /// Each silo's record-level epsilon (DP-SGD inside the silo) recomputed from the steps the checked entries of the
    /// last entry's federation log (<see cref="RecordPrivacyHistory"/>); empty without record-level privacy.
    /// </summary>
    public IReadOnlyDictionary<string, double> RecordEpsilon { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// Checks a ledger without trusting the coordinator that wrote it (DESIGN section 5): the coordinator's certificate
/// against the consortium CA, then, entry by entry in file order, the sequence, the hash chain, each entry's hash
/// over its re-encoded fields, the coordinator's signature, and each cumulative epsilon (on every entry with privacy,
/// of every kind) recomputed from all charged releases so far — each completed training round's effective noise
/// multiplier and every listed statistics or evaluation release (<see cref="LedgerEntryDraft.Charges"/>,
/// <see cref="LedgerEpsilons"/>, to <see cref="LedgerEpsilons.RelativeTolerance"/>); it also recomputes each silo's
/// record-level epsilon from the DP-SGD steps the entries log (<see cref="LedgerVerificationResult.RecordEpsilon"/>).
/// It also checks the history's continuity per federation: the attempts of each round number come in increasing
/// order; a training entry is for the round after the last completed one (completed rounds are 1..n, none skipped,
/// none completed twice); statistics are round 0; and the model-hash chain holds: each training entry's
/// model_hash_before is the model_hash_after of the previous completed training entry.
/// </summary>
/// <remarks>
/// It stops at the first failure and names that entry. What it cannot see: entries cut off the end (compare
/// <see cref="LedgerVerificationResult.HeadHash"/> with a published head, as <c>audit verify --expect-head</c> does), and
/// whether the logged effective noise is what the silos really added. Stateless and thread-safe.
/// </remarks>
public static class LedgerVerifier
{
    /// <summary>Verifies <paramref name="entries"/> (in file order).</summary>
    /// <param name="entries">The entries as read (<see cref="AuditLedger.Read"/>).</param>
    /// <param name="coordinatorCertificate">The certificate whose key must have signed every entry.</param>
    /// <param name="consortiumRoot">The consortium CA the coordinator certificate must chain to.</param>
    /// <param name="time">The clock the certificate's validity is judged at.</param>
    public static LedgerVerificationResult Verify(
        IReadOnlyList<LedgerEntry> entries, X509Certificate2 coordinatorCertificate, X509Certificate2 consortiumRoot, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(coordinatorCertificate);
        ArgumentNullException.ThrowIfNull(consortiumRoot);
        ArgumentNullException.ThrowIfNull(time);

        var state = new State();
        var validation = new PeerCertificateValidator(consortiumRoot, time).ValidateCoordinator(coordinatorCertificate);
        if (!validation.IsValid)
        {
            return state.Fail(null, $"the coordinator certificate is not accepted by the consortium CA ({validation.Failure}: {validation.Message})");
        }

        if (entries.Count == 0)
        {
            return state.Fail(null, "the ledger has no entries");
        }

        using var verifier = CryptoProvider.Default.CreateVerifier(coordinatorCertificate);
        var charged = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var failedRounds = new Dictionary<string, long>(StringComparer.Ordinal);
        var histories = new Dictionary<string, History>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] ?? throw new ArgumentException($"entries[{i}] is null.", nameof(entries));
            long expected = state.LastSequence + 1;
            if (entry.Sequence != expected)
            {
                return state.Fail(entry.Sequence, SequenceProblem(entries, i, expected));
            }

            if (!histories.TryGetValue(entry.FederationId, out var history))
            {
                history = new History();
                histories[entry.FederationId] = history;
            }

            string? problem = Check(entry, state.HeadHash, verifier, charged, failedRounds) ?? history.Follow(entry);
            if (problem is not null)
            {
                return state.Fail(entry.Sequence, string.Create(CultureInfo.InvariantCulture, $"entry {entry.Sequence}: {problem}"));
            }

            state.Accept(entry);
        }

        return state.Succeed();
    }

    private static string SequenceProblem(IReadOnlyList<LedgerEntry> entries, int index, long expected)
    {
        long found = entries[index].Sequence;
        long previous = expected - 1;
        if (found > expected)
        {
            bool laterInFile = entries.Skip(index + 1).Any(e => e?.Sequence == expected);
            return laterInFile
                ? Invariant($"entry {found}: out of order, entry {expected} should come next but appears later in the ledger")
                : previous == 0
                    ? Invariant($"entry 1 missing: the ledger starts at entry {found}")
                    : Invariant($"entry {expected} missing: sequence jumps from {previous} to {found}");
        }

        return previous == 0
            ? Invariant($"entry {found}: the ledger must start at entry 1")
            : Invariant($"entry {found}: out of order or repeated, it follows entry {previous}");
    }

    private static string? Check(
        LedgerEntry entry, string previousHash, ISignatureVerifier verifier, Dictionary<string, List<double>> charged, Dictionary<string, long> unnoised)
    {
        long previous = entry.Sequence - 1;
        if (EntryRules.Check(entry) is { } shape)
        {
            return $"malformed: {shape}";
        }

        if (entry.PreviousHash != previousHash)
        {
            return previous == 0
                ? "previous hash is not the genesis hash (64 zeros)"
                : Invariant($"previous hash does not match entry {previous}");
        }

        if (entry.EntryHash != LedgerCanonicalForm.ComputeEntryHash(entry))
        {
            return "entry hash does not match its contents (the entry was modified after signing)";
        }

        if (!EntryRules.IsHex(entry.Signature, 128)
            || !verifier.Verify(LedgerCanonicalForm.SignedPayload(entry.EntryHash), Convert.FromHexString(entry.Signature)))
        {
            return "signature does not verify with the coordinator certificate";
        }

        var charges = entry.Charges().ToList();
        if (charges.Count > 0)
        {
            if (!charged.TryGetValue(entry.FederationId, out var list))
            {
                list = [];
                charged[entry.FederationId] = list;
            }

            list.AddRange(charges);
        }

        // Without privacy a completed entry released its update, statistics or evaluation un-noised. (With privacy,
        // the entry rules make a completed entry charge what it released.)
        if (entry is { Status: RoundStatus.Completed, Privacy: null })
        {
            unnoised.TryAdd(entry.FederationId, entry.Sequence);
        }

        if (entry is { Privacy: { } privacy, CumulativeEpsilon: { } logged })
        {
            // A completed round without noise released an un-noised model: no finite epsilon holds after it.
            if (unnoised.TryGetValue(entry.FederationId, out long plain))
            {
                return Invariant($"claims a cumulative epsilon, but entry {plain} of the same federation completed without noise");
            }

            var recomputed = LedgerEpsilons.Compute(charged.GetValueOrDefault(entry.FederationId) ?? [], privacy.Delta);
            if (!LedgerEpsilons.Matches(logged.Rdp, recomputed.Rdp))
            {
                return Invariant($"cumulative rdp epsilon {Format(logged.Rdp)} does not match the recomputed {Format(recomputed.Rdp)}");
            }

            if (!LedgerEpsilons.Matches(logged.Exact, recomputed.Exact))
            {
                return Invariant($"cumulative exact epsilon {Format(logged.Exact)} does not match the recomputed {Format(recomputed.Exact)}");
            }
        }

        return null;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Short(string hash) => hash.Length > 16 ? hash[..16] : hash;

    /// <summary>One federation's round and model history so far, for the continuity checks.</summary>
    private sealed class History
    {
        private readonly Dictionary<int, (int Attempt, long Sequence)> _attempts = [];
        private int _completed;
        private long _completedAt;
        private string? _model;

        /// <summary>Why <paramref name="entry"/> cannot follow the history so far, or null (and the history advances).</summary>
        public string? Follow(LedgerEntry entry)
        {
            if (_attempts.TryGetValue(entry.Round, out var last) && entry.Attempt <= last.Attempt)
            {
                return Invariant($"round {entry.Round} attempt {entry.Attempt} comes after attempt {last.Attempt} of the same round (entry {last.Sequence}): attempts out of order or repeated");
            }

            switch (entry.EffectiveKind)
            {
                case LedgerEntryKinds.Statistics when entry.Round != 0:
                    return Invariant($"a statistics entry for round {entry.Round}: statistics are round 0");
                case LedgerEntryKinds.Training:
                    if (entry.Round <= _completed)
                    {
                        return Invariant($"training round {entry.Round} after round {_completed} completed (entry {_completedAt}): round {entry.Round} was already completed");
                    }

                    if (entry.Round != _completed + 1)
                    {
                        var missing = entry.Round - 1 == _completed + 1 ? Invariant($"round {_completed + 1} is") : Invariant($"rounds {_completed + 1} to {entry.Round - 1} are");
                        return _completed == 0
                            ? Invariant($"training round {entry.Round} with no completed round before it: {missing} missing from the ledger")
                            : Invariant($"training round {entry.Round} follows completed round {_completed} (entry {_completedAt}): {missing} missing from the ledger");
                    }

                    if (_model is not null && !string.Equals(entry.ModelHashBefore, _model, StringComparison.Ordinal))
                    {
                        return Invariant($"model_hash_before {Short(entry.ModelHashBefore)} is not the model round {_completed} ended with (model_hash_after {Short(_model)}, entry {_completedAt}): the model-hash chain is broken");
                    }

                    if (entry.Status == RoundStatus.Completed)
                    {
                        _completed = entry.Round;
                        _completedAt = entry.Sequence;
                        _model = entry.ModelHashAfter;
                    }

                    break;
                default:
                    break;
            }

            _attempts[entry.Round] = (entry.Attempt, entry.Sequence);
            return null;
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed class State
    {
        private int _entries;
        private int _completed;
        private LedgerEpsilon? _epsilon;
        private double? _delta;
        private string? _federation;
        private readonly Dictionary<string, RecordPrivacyHistory> _records = new(StringComparer.Ordinal);

        public long LastSequence { get; private set; }

        public string HeadHash { get; private set; } = LedgerEntry.GenesisHash;

        public void Accept(LedgerEntry entry)
        {
            _entries++;
            LastSequence = entry.Sequence;
            HeadHash = entry.EntryHash;
            _completed += entry.Status == RoundStatus.Completed && entry.EffectiveKind == LedgerEntryKinds.Training ? 1 : 0;
            _epsilon = entry.CumulativeEpsilon;
            _delta = entry.Privacy?.Delta;
            _federation = entry.FederationId;
            if (!_records.TryGetValue(entry.FederationId, out var history))
            {
                history = new RecordPrivacyHistory();
                _records[entry.FederationId] = history;
            }

            history.Add(entry);
        }

        private IReadOnlyDictionary<string, double> RecordEpsilon() =>
            _federation is not null && _records.TryGetValue(_federation, out var h) ? h.Epsilons() : new Dictionary<string, double>();

        public LedgerVerificationResult Fail(long? sequence, string reason) =>
            new(false, sequence, reason, _entries, _completed, _epsilon, _delta, HeadHash) { RecordEpsilon = RecordEpsilon() };

        public LedgerVerificationResult Succeed() => new(true, null, "", _entries, _completed, _epsilon, _delta, HeadHash) { RecordEpsilon = RecordEpsilon() };
    }
}
