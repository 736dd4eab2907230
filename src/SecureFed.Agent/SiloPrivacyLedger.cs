using System.Globalization;
using System.Text.Json;
using SecureFed.Privacy;

namespace SecureFed.Agent;

/// <summary>
/// A silo's own record of the privacy it has spent, kept whatever the coordinator says: one entry per round in
/// which the silo released a noised update, charged at the plan's worst case (exactly t survivors). With a file,
/// each entry is appended and flushed to disk before the update leaves, so a crash never under-counts.
/// Thread-safe.
/// </summary>
public sealed class SiloPrivacyLedger
{
    private readonly string? _path;
    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];

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

                _entries.Add(JsonSerializer.Deserialize<Entry>(line)
                    ?? throw new InvalidDataException($"{_path}: line {lineNumber} is not a ledger entry"));
            }
        }
    }

    /// <summary>The <see cref="Entry.Task"/> of record-level DP-SGD entries (kept apart from the client-level releases).</summary>
    public const string RecordTask = "record";

    /// <summary>One round this silo contributed to.</summary>
    /// <remarks><see cref="Task"/> names what was released (null: the round's training update; "statistics" or
    /// "evaluation" for the other sums a silo contributes to under differential privacy; <see cref="RecordTask"/> for
    /// the round's record-level DP-SGD, whose <see cref="Steps"/> steps ran at <see cref="SamplingRate"/>).</remarks>
    public sealed record Entry(string FederationId, long Round, double NoiseMultiplier, double SamplingRate, DateTimeOffset At, string? Task = null, long Steps = 1)
    {
        /// <summary>The plan hash of the attempt that released it: a retried round is another plan, so another release.</summary>
        public string? PlanHash { get; init; }
    }

    /// <summary>The entries so far.</summary>
    public IReadOnlyList<Entry> Entries
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
    /// trains again on the same records with fresh noise, so it spends again); flushed to disk.
    /// </summary>
    public void RecordTraining(string federationId, long round, RecordSpend spend)
    {
        ArgumentNullException.ThrowIfNull(spend);
        lock (_gate)
        {
            AppendLocked(new Entry(federationId, round, spend.NoiseMultiplier, spend.SamplingRate, DateTimeOffset.UtcNow, RecordTask, spend.Steps));
        }
    }

    /// <summary>
    /// Records a release and flushes it to disk. Idempotent per federation, round, task and attempt: the same plan
    /// (<paramref name="planHash"/>) recorded twice is one release, but a retried round's new plan sends a freshly
    /// noised vector, so it is charged again.
    /// </summary>
    public void Record(string federationId, long round, double noiseMultiplier, string? task = null, string? planHash = null)
    {
        lock (_gate)
        {
            if (_entries.Any(e => e.FederationId == federationId && e.Round == round && e.Task == task && e.PlanHash == planHash))
            {
                return;
            }

            AppendLocked(new Entry(federationId, round, noiseMultiplier, 1.0, DateTimeOffset.UtcNow, task) { PlanHash = planHash });
        }
    }

    /// <summary>Writes and flushes one entry, then keeps it; the caller holds the lock.</summary>
    private void AppendLocked(Entry entry)
    {
        if (_path is not null)
        {
            using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
            using (var writer = new StreamWriter(stream, leaveOpen: true))
            {
                writer.WriteLine(JsonSerializer.Serialize(entry));
            }

            stream.Flush(flushToDisk: true);
        }

        _entries.Add(entry);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"silo privacy ledger ({_entries.Count} rounds)");
}
