using System.Globalization;
using System.Text.Json;
using SecureFed.Audit;
using SecureFed.Privacy;

namespace SecureFed.Agent;

/// <summary>
/// A silo's own record of the privacy it has spent, kept whatever the coordinator says: one entry per round in
/// which the silo released a noised update, charged at the plan's worst case (exactly t survivors). With a file,
/// each entry is appended and flushed to disk before the update leaves, so a crash never under-counts.
/// Each entry states the epsilon the silo had spent after it (by its accountant, at its delta) and its cap, and is
/// hash-chained to the one before (<see cref="SiloLedgerCanonicalForm"/>), so an auditor can verify a file the silo
/// hands over (<see cref="SiloLedgerVerifier"/>, <c>securefed audit report --silo-ledger</c>). Files written before the
/// chain existed stay readable, and the chain continues over their entries.
/// Thread-safe.
/// </summary>
public sealed class SiloPrivacyLedger
{
    private readonly string? _path;
    private readonly Lock _gate = new();
    private readonly List<SiloLedgerEntry> _entries = [];
    private string _head = LedgerEntry.GenesisHash;

    /// <summary>Creates a ledger kept in memory only.</summary>
    public SiloPrivacyLedger()
    {
    }

    /// <summary>Opens (or creates) a ledger kept in a JSON-lines file.</summary>
    public SiloPrivacyLedger(string path)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        if (File.Exists(_path))
        {
            var lineNumber = 0;
            foreach (var line in File.ReadLines(_path))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                _entries.Add(JsonSerializer.Deserialize<SiloLedgerEntry>(line, SiloLedgerCanonicalForm.FileOptions)
                    ?? throw new InvalidDataException($"{_path}: line {lineNumber} is not a ledger entry"));
            }

            // The chain goes on from the last entry's hash, recomputed (an older file's entries carry none).
            var hashes = SiloLedgerVerifier.ChainHashes(_entries);
            _head = hashes.Count == 0 ? LedgerEntry.GenesisHash : hashes[^1];
        }
    }

    /// <summary>The <see cref="SiloLedgerEntry.Task"/> of record-level DP-SGD entries (kept apart from the client-level releases).</summary>
    public const string RecordTask = SiloLedgerEntry.RecordTask;

    /// <summary>The entries so far, one per line of the file (<see cref="SiloLedgerEntry"/> is the line's one type).</summary>
    /// <remarks><see cref="SiloLedgerEntry.Task"/> names what was released (null: the round's training update; "statistics" or
    /// "evaluation" for the other sums a silo contributes to under differential privacy; <see cref="RecordTask"/> for
    /// the round's record-level DP-SGD, whose <see cref="SiloLedgerEntry.Steps"/> steps ran at
    /// <see cref="SiloLedgerEntry.SamplingRate"/>).</remarks>
    public IReadOnlyList<SiloLedgerEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Epsilon spent so far, at <paramref name="delta"/>, by the chosen accountant.</summary>
    public double Epsilon(AccountantKind accountant, double delta) => EpsilonWith(null, accountant, delta);

    /// <summary>Epsilon if a round charged with <paramref name="noiseMultiplier"/> were added.</summary>
    public double EpsilonWith(double? noiseMultiplier, AccountantKind accountant, double delta)
    {
        var history = Entries.Where(e => e.Task != RecordTask).Select(e => (e.NoiseMultiplier, e.SamplingRate, 1)).ToList();
        if (noiseMultiplier is { } z)
        {
            history.Add((z, 1.0, 1));
        }

        return history.Count == 0 ? 0 : PrivacyAccountants.ComputeEpsilon(accountant, history, delta);
    }

    /// <summary>
    /// This silo's record-level epsilon at <paramref name="delta"/> over every DP-SGD step it ran (every attempt it trained
    /// in), plus <paramref name="next"/> when given, by <paramref name="accountant"/> (rdp or pld).
    /// </summary>
    public double RecordEpsilon(string accountant, double delta, RecordSpend? next = null)
    {
        var history = Entries.Where(e => e.Task == RecordTask).Select(e => (e.NoiseMultiplier, e.SamplingRate, checked((int)e.Steps))).ToList();
        if (next is not null)
        {
            history.Add((next.NoiseMultiplier, next.SamplingRate, checked((int)next.Steps)));
        }

        return history.Count == 0 ? 0 : PrivacyAccountants.ComputeEpsilon(PrivacyAccountants.ParseKind(accountant), history, delta);
    }

    /// <summary>
    /// Records one local DP-SGD run before its update leaves. Every training attempt is its own entry (a retried round
    /// trains again on the same records with fresh noise, so it spends again); flushed to disk. The entry states the
    /// record-level epsilon after it (the spend's accountant and delta) and <paramref name="recordCap"/>.
    /// </summary>
    /// <returns>The silo's record-level epsilon after this run.</returns>
    public double RecordTraining(string federationId, long round, RecordSpend spend, string? siloId = null, double recordCap = 0, string? planHash = null)
    {
        ArgumentNullException.ThrowIfNull(spend);
        lock (_gate)
        {
            var entry = NewEntry(federationId, round, spend.NoiseMultiplier, spend.SamplingRate, RecordTask, spend.Steps, planHash);
            return AppendLocked(Accounted(entry, siloId, spend.Accountant, spend.Delta, recordCap)).Epsilon ?? 0;
        }
    }

    /// <summary>
    /// Records a release and flushes it to disk. Idempotent per federation, round, task and attempt: the same plan
    /// (<paramref name="planHash"/>) recorded twice is one release, but a retried round's new plan sends a freshly
    /// noised vector, so it is charged again.
    /// </summary>
    /// <remarks>With <paramref name="stamp"/> the entry states the silo's client-level epsilon after it, by the stamp's
    /// accountant at its delta, and its cap.</remarks>
    public void Record(string federationId, long round, double noiseMultiplier, string? task = null, string? planHash = null, SiloLedgerStamp? stamp = null)
    {
        lock (_gate)
        {
            if (_entries.Any(e => e.FederationId == federationId && e.Round == round && e.Task == task && e.PlanHash == planHash))
            {
                return;
            }

            var entry = NewEntry(federationId, round, noiseMultiplier, 1.0, task, 1, planHash);
            AppendLocked(stamp is null ? entry : Accounted(entry, stamp.SiloId, stamp.Accountant, stamp.Delta, stamp.EpsilonCap));
        }
    }

    /// <summary><paramref name="entry"/> with the silo's id and its epsilon after it; the caller holds the lock.</summary>
    private SiloLedgerEntry Accounted(SiloLedgerEntry entry, string? siloId, string accountant, double delta, double cap)
    {
        var entry2 = entry with { SiloId = siloId, Accountant = accountant, Delta = delta, EpsilonCap = cap };
        List<SiloLedgerEntry> history = [.. _entries, entry2];
        return entry2 with { Epsilon = SiloLedgerVerifier.EpsilonAfter(history, history.Count - 1, accountant, delta) };
    }

    /// <summary>Chains, writes and flushes one entry, then keeps it; the caller holds the lock.</summary>
    private SiloLedgerEntry AppendLocked(SiloLedgerEntry entry)
    {
        entry = entry with { PreviousHash = _head };
        entry = entry with { Hash = SiloLedgerCanonicalForm.Hash(entry, _entries.Count + 1, _head) };
        if (_path is not null)
        {
            using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
            using (var writer = new StreamWriter(stream, leaveOpen: true))
            {
                writer.WriteLine(JsonSerializer.Serialize(entry, SiloLedgerCanonicalForm.FileOptions));
            }

            stream.Flush(flushToDisk: true);
        }

        _entries.Add(entry);
        _head = entry.Hash;
        return entry;
    }

    /// <summary>A new, unaccounted and unchained entry written now.</summary>
    private static SiloLedgerEntry NewEntry(string federationId, long round, double noiseMultiplier, double samplingRate, string? task, long steps, string? planHash) => new()
    {
        FederationId = federationId,
        Round = round,
        NoiseMultiplier = noiseMultiplier,
        SamplingRate = samplingRate,
        At = DateTimeOffset.UtcNow,
        Task = task,
        Steps = steps,
        PlanHash = planHash,
    };

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"silo privacy ledger ({_entries.Count} rounds)");
}

/// <summary>What a silo's ledger entries state about the silo besides the release: its id and how it measures its epsilon.</summary>
/// <param name="SiloId">The silo's id, from its certificate.</param>
/// <param name="Accountant">The accountant of its client-level epsilon ("rdp", "exact" or "pld").</param>
/// <param name="Delta">The delta it measures that epsilon at.</param>
/// <param name="EpsilonCap">Its own cap on that epsilon (0: none).</param>
public sealed record SiloLedgerStamp(string SiloId, string Accountant, double Delta, double EpsilonCap);
