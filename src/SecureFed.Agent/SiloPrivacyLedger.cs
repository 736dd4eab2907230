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

    /// <summary>One round this silo contributed to.</summary>
    /// <remarks><see cref="Task"/> names what was released (null: the round's training update; "statistics" or
    /// "evaluation" for the other sums a silo contributes to under differential privacy).</remarks>
    public sealed record Entry(string FederationId, long Round, double NoiseMultiplier, double SamplingRate, DateTimeOffset At, string? Task = null);

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
        var history = Entries.Select(e => (e.NoiseMultiplier, e.SamplingRate, 1)).ToList();
        if (noiseMultiplier is { } z)
        {
            history.Add((z, 1.0, 1));
        }

        return history.Count == 0 ? 0 : PrivacyAccountants.ComputeEpsilon(accountant, history, delta);
    }

    /// <summary>Records a round's release (idempotent per federation, round and task) and flushes it to disk.</summary>
    public void Record(string federationId, long round, double noiseMultiplier, string? task = null)
    {
        lock (_gate)
        {
            if (_entries.Any(e => e.FederationId == federationId && e.Round == round && e.Task == task))
            {
                return;
            }

            var entry = new Entry(federationId, round, noiseMultiplier, 1.0, DateTimeOffset.UtcNow, task);
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
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"silo privacy ledger ({_entries.Count} rounds)");
}
