using SecureFed.Privacy;

namespace SecureFed.Audit;

/// <summary>
/// Each silo's record-level epsilon recomputed from the DP-SGD steps a ledger logs (<see cref="LedgerRecordPrivacy"/>:
/// noise multiplier, sampling rate and steps per attempt), entry by entry, with the accountant and delta the silo's latest
/// entry names: what an auditor recomputes, and what the verifier and the report both state. Not thread-safe.
/// </summary>
public sealed class RecordPrivacyHistory
{
    private readonly Dictionary<string, List<(double Z, double Q, int Steps)>> _steps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LedgerRecordPrivacy> _latest = new(StringComparer.Ordinal);

    /// <summary>Whether any silo logged record-level privacy.</summary>
    public bool IsEmpty => _steps.Count == 0;

    /// <summary>Adds one attempt's DP-SGD of one silo.</summary>
    public void Add(LedgerRecordPrivacy record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!_steps.TryGetValue(record.SiloId, out var steps))
        {
            steps = [];
            _steps[record.SiloId] = steps;
        }

        steps.Add((record.NoiseMultiplier, record.SamplingRate, checked((int)record.Steps)));
        _latest[record.SiloId] = record;
    }

    /// <summary>Adds every record-level entry of <paramref name="entry"/>.</summary>
    public void Add(LedgerEntryDraft entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        foreach (var record in entry.RecordPrivacy ?? [])
        {
            Add(record);
        }
    }

    /// <summary>The record-level epsilon <paramref name="siloId"/> has spent over everything added so far.</summary>
    public double EpsilonOf(string siloId)
    {
        var latest = _latest[siloId];
        return PrivacyAccountants.ComputeEpsilon(PrivacyAccountants.ParseKind(latest.Accountant), _steps[siloId], latest.Delta);
    }

    /// <summary>Every silo's record-level epsilon so far, by silo id in ordinal order.</summary>
    public IReadOnlyDictionary<string, double> Epsilons() =>
        _steps.Keys.Order(StringComparer.Ordinal).ToDictionary(id => id, EpsilonOf, StringComparer.Ordinal);
}
