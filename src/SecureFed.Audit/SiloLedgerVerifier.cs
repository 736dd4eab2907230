using System.Globalization;
using System.Text.Json;
using SecureFed.Privacy;

namespace SecureFed.Audit;

/// <summary>The verdict on a silo's own ledger file (<see cref="SiloLedgerVerifier.Verify"/>).</summary>
/// <param name="Ok">True when the chain and every stated epsilon hold.</param>
/// <param name="Reason">Why not, naming the entry; empty when <paramref name="Ok"/>.</param>
/// <param name="FailedEntry">The first bad entry (1-based position in the file), or null.</param>
/// <param name="HeadHash">The hash of the last entry (of the last good one when verification failed), or
/// <see cref="LedgerEntry.GenesisHash"/> for an empty file.</param>
/// <param name="UnchainedEntries">Entries at the start of the file written before silo ledgers were chained (their
/// hashes are computed; the first chained entry's link covers them).</param>
public sealed record SiloLedgerVerification(bool Ok, string Reason, long? FailedEntry, string HeadHash, int UnchainedEntries);

/// <summary>How one silo ledger entry compares with the coordinator's signed ledger.</summary>
/// <param name="Entry">The entry's 1-based position in the silo's file.</param>
/// <param name="Verdict"><see cref="Agrees"/>, <see cref="Disagrees"/> or <see cref="Unchecked"/>.</param>
/// <param name="Detail">What was compared, or what differs (names the coordinator's entry).</param>
public sealed record SiloLedgerAgreement(long Entry, string Verdict, string Detail)
{
    /// <summary>The coordinator's ledger holds the attempt, lists the silo and charged no less than the silo priced.</summary>
    public const string Agrees = "agrees";

    /// <summary>The coordinator's ledger contradicts the entry.</summary>
    public const string Disagrees = "disagrees";

    /// <summary>The entry names no plan (older record-level entries) and no coordinator entry of its round matches it.</summary>
    public const string Unchecked = "unchecked";
}

/// <summary>
/// Reads and verifies a silo's own privacy ledger, and compares it with the coordinator's signed ledger.
/// </summary>
/// <remarks>
/// <para>What verification shows: every entry's hash is the SHA-256 of its canonical form at its position after the
/// previous entry's hash (<see cref="SiloLedgerCanonicalForm"/>), and every epsilon the silo stated is the one its
/// accountant gives at its delta over the file's releases up to that entry (client-level and record-level apart).
/// The file is not signed: the chain shows an edit unless the whole tail was rewritten, and what anchors the file is
/// <see cref="Compare"/>: each release must be an attempt the coordinator signed (same federation, round and plan
/// hash, the silo among its participants) and the silo's priced noise must not be more lenient than the coordinator's
/// charge. An auditor receives the file from the silo itself.</para>
/// <para>Stateless and thread-safe.</para>
/// </remarks>
public static class SiloLedgerVerifier
{
    private const double Tolerance = 1e-6;

    /// <summary>Reads a silo ledger file (JSON lines; blank lines skipped).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">A line is not a silo ledger entry; the message names the file and line.</exception>
    public static IReadOnlyList<SiloLedgerEntry> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The silo ledger file '{path}' does not exist.", path);
        }

        var entries = new List<SiloLedgerEntry>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                entries.Add(JsonSerializer.Deserialize<SiloLedgerEntry>(text, SiloLedgerCanonicalForm.FileOptions)
                    ?? throw new InvalidDataException($"The silo ledger file '{path}': line {line} is not a silo ledger entry."));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"The silo ledger file '{path}': line {line} is not a silo ledger entry ({ex.Message}).", ex);
            }
        }

        return entries;
    }

    /// <summary>The hash chain over <paramref name="entries"/>: each entry's hash, computed (not read).</summary>
    public static IReadOnlyList<string> ChainHashes(IReadOnlyList<SiloLedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var hashes = new List<string>(entries.Count);
        string previous = LedgerEntry.GenesisHash;
        for (int i = 0; i < entries.Count; i++)
        {
            previous = SiloLedgerCanonicalForm.Hash(entries[i], i + 1, previous);
            hashes.Add(previous);
        }

        return hashes;
    }

    /// <summary>Checks the chain and recomputes every stated epsilon; stops at the first bad entry.</summary>
    public static SiloLedgerVerification Verify(IReadOnlyList<SiloLedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var hashes = ChainHashes(entries);
        int unchained = 0;
        while (unchained < entries.Count && entries[unchained].Hash is null && entries[unchained].PreviousHash is null)
        {
            unchained++;
        }

        if (entries.Count > 0 && unchained == entries.Count)
        {
            return Fail(1, "no entry carries a hash: the file was written before silo ledgers were chained, so none of it can be verified", LedgerEntry.GenesisHash, unchained);
        }

        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            long n = i + 1;
            string good = i == 0 ? LedgerEntry.GenesisHash : hashes[i - 1];
            if (i >= unchained)
            {
                if (e.Hash is null || e.PreviousHash is null)
                {
                    return Fail(n, "it has no hash, but entries before it are chained (entries were replaced or inserted)", good, unchained);
                }

                if (!string.Equals(e.PreviousHash, good, StringComparison.Ordinal))
                {
                    return Fail(n, $"its previous hash {e.PreviousHash} is not the hash of the entry before it ({good}): an entry before it was changed, removed or inserted", good, unchained);
                }

                if (!string.Equals(e.Hash, hashes[i], StringComparison.Ordinal))
                {
                    return Fail(n, $"its hash {e.Hash} is not the hash of its content ({hashes[i]}): the entry was changed", good, unchained);
                }
            }

            if (EpsilonProblem(entries, i) is { } problem)
            {
                return Fail(n, problem, good, unchained);
            }
        }

        return new SiloLedgerVerification(true, "", null, entries.Count == 0 ? LedgerEntry.GenesisHash : hashes[^1], unchained);
    }

    /// <summary>
    /// The epsilon the silo had spent after entry <paramref name="index"/> (0-based) by <paramref name="accountant"/> at
    /// <paramref name="delta"/>: over the client-level releases up to it, or the DP-SGD runs up to it for a record-level entry.
    /// </summary>
    /// <exception cref="ArgumentException">The accountant is not rdp, exact or pld.</exception>
    public static double EpsilonAfter(IReadOnlyList<SiloLedgerEntry> entries, int index, string accountant, double delta)
    {
        ArgumentNullException.ThrowIfNull(entries);
        bool record = entries[index].IsRecordLevel;
        var history = entries.Take(index + 1).Where(e => e.IsRecordLevel == record)
            .Select(e => (e.NoiseMultiplier, e.SamplingRate, checked((int)(record ? e.Steps : 1)))).ToList();
        return PrivacyAccountants.ComputeEpsilon(PrivacyAccountants.ParseKind(accountant), history, delta);
    }

    /// <summary>
    /// Compares each entry of federation <paramref name="federationId"/> with the coordinator's entries: the attempt
    /// with its plan hash must exist at the same round and list the silo; a training release must not be priced at more
    /// noise than the coordinator charged (or the plan's multiplier), a statistics or evaluation release not more than
    /// the coordinator's release of that task, and a DP-SGD run must be the (sigma, q, steps) the coordinator logged.
    /// </summary>
    public static IReadOnlyList<SiloLedgerAgreement> Compare(
        IReadOnlyList<SiloLedgerEntry> entries, IReadOnlyList<LedgerEntry> coordinator, string federationId)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(coordinator);
        var result = new List<SiloLedgerAgreement>();
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.FederationId == federationId)
            {
                result.Add(CompareEntry(i + 1, e, coordinator.Where(c => c.FederationId == federationId).ToList()));
            }
        }

        return result;
    }

    private static SiloLedgerAgreement CompareEntry(long n, SiloLedgerEntry e, List<LedgerEntry> coordinator)
    {
        if (e.PlanHash is null)
        {
            var match = coordinator.FirstOrDefault(c => c.Round == e.Round && MatchingRecord(c, e) is not null);
            return match is null
                ? new SiloLedgerAgreement(n, SiloLedgerAgreement.Unchecked, Invariant($"the entry names no plan, and no coordinator entry of round {e.Round} logged this DP-SGD run"))
                : new SiloLedgerAgreement(n, SiloLedgerAgreement.Agrees, Invariant($"coordinator entry {match.Sequence} logged the same DP-SGD run"));
        }

        var c = coordinator.FirstOrDefault(c => c.PlanHash == e.PlanHash);
        if (c is null)
        {
            return Disagree(n, $"the coordinator's ledger has no attempt with plan hash {e.PlanHash} (round {e.Round})");
        }

        if (c.Round != e.Round)
        {
            return Disagree(n, $"coordinator entry {c.Sequence} with that plan hash is round {c.Round}, not {e.Round}");
        }

        if (e.SiloId is { } silo && !c.Participants.Any(p => p.SiloId == silo))
        {
            return Disagree(n, $"coordinator entry {c.Sequence} does not list silo {silo} among its participants");
        }

        if (e.IsRecordLevel)
        {
            return MatchingRecord(c, e) is not null
                ? new SiloLedgerAgreement(n, SiloLedgerAgreement.Agrees, Invariant($"coordinator entry {c.Sequence} logged the same DP-SGD run (sigma {e.NoiseMultiplier:G6}, q {e.SamplingRate:G6}, {e.Steps} steps)"))
                : Disagree(n, $"coordinator entry {c.Sequence} logged no DP-SGD run of sigma {e.NoiseMultiplier:G6}, q {e.SamplingRate:G6}, {e.Steps} steps for this silo");
        }

        if (c.Privacy is not { } dp)
        {
            return Disagree(n, $"coordinator entry {c.Sequence} ran without differential privacy, but the silo priced a release");
        }

        if (e.Task is null)
        {
            double charged = c is { Status: RoundStatus.Completed, EffectiveNoiseMultiplier: { } z } ? z : dp.NoiseMultiplier;
            return e.NoiseMultiplier <= charged * (1 + Tolerance)
                ? new SiloLedgerAgreement(n, SiloLedgerAgreement.Agrees, Invariant($"coordinator entry {c.Sequence}: silo priced z {e.NoiseMultiplier:G6}, coordinator {(c.Status == RoundStatus.Completed ? "charged" : "planned")} z {charged:G6}"))
                : Disagree(n, $"the silo priced its update at z {e.NoiseMultiplier:G6}, more noise than coordinator entry {c.Sequence} {(c.Status == RoundStatus.Completed ? "charged" : "planned")} (z {charged:G6}): the silo under-counts its epsilon");
        }

        var release = (c.Releases ?? []).FirstOrDefault(r => r.Task == e.Task);
        if (release is null)
        {
            return new SiloLedgerAgreement(n, SiloLedgerAgreement.Agrees, Invariant($"coordinator entry {c.Sequence} holds the attempt (it released no {e.Task} sum, so the silo's charge is the whole cost)"));
        }

        return e.NoiseMultiplier <= release.EffectiveNoiseMultiplier * (1 + Tolerance)
            ? new SiloLedgerAgreement(n, SiloLedgerAgreement.Agrees, Invariant($"coordinator entry {c.Sequence}: silo priced its {e.Task} sum at z {e.NoiseMultiplier:G6}, coordinator charged z {release.EffectiveNoiseMultiplier:G6}"))
            : Disagree(n, $"the silo priced its {e.Task} sum at z {e.NoiseMultiplier:G6}, more noise than coordinator entry {c.Sequence} charged (z {release.EffectiveNoiseMultiplier:G6})");
    }

    private static LedgerRecordPrivacy? MatchingRecord(LedgerEntry c, SiloLedgerEntry e) =>
        (c.RecordPrivacy ?? []).FirstOrDefault(r => (e.SiloId is null || r.SiloId == e.SiloId)
            && Close(r.NoiseMultiplier, e.NoiseMultiplier) && Close(r.SamplingRate, e.SamplingRate) && r.Steps == e.Steps);

    private static string? EpsilonProblem(IReadOnlyList<SiloLedgerEntry> entries, int i)
    {
        var e = entries[i];
        if (e.Epsilon is not { } stated)
        {
            return null;
        }

        if (e.Accountant is not { } accountant || e.Delta is not { } delta)
        {
            return "it states an epsilon without the accountant and delta it is measured with";
        }

        double recomputed;
        try
        {
            recomputed = EpsilonAfter(entries, i, accountant, delta);
        }
        catch (ArgumentException ex)
        {
            return $"its epsilon cannot be recomputed: {ex.Message}";
        }

        bool same = double.IsInfinity(stated) ? double.IsInfinity(recomputed) : Math.Abs(stated - recomputed) <= Tolerance * Math.Max(1, Math.Abs(recomputed));
        return same
            ? null
            : Invariant($"it states epsilon {stated:G9}, but its releases up to it give {recomputed:G9} ({accountant}, delta {delta:G6})");
    }

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-12 * Math.Max(1, Math.Abs(b));

    private static SiloLedgerVerification Fail(long entry, string reason, string head, int unchained) =>
        new(false, Invariant($"entry {entry}: {reason}"), entry, head, unchained);

    private static SiloLedgerAgreement Disagree(long n, FormattableString detail) =>
        new(n, SiloLedgerAgreement.Disagrees, Invariant(detail));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
