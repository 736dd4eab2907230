namespace SecureFed.Privacy.Internal;

/// <summary>
/// Append-only list of (z, q, steps) under a lock. Consecutive entries with the same z and q are merged, as in
/// Opacus' <c>RDPAccountant.step</c>; merging is exact because RDP and mu^2 are both additive in steps.
/// </summary>
internal sealed class StepHistory
{
    private readonly Lock _gate = new();
    private readonly List<(double z, double q, int steps)> _entries = [];

    public void Add(double z, double q, int steps)
    {
        lock (_gate)
        {
            if (_entries.Count > 0)
            {
                var last = _entries[^1];
                if (last.z == z && last.q == q && (long)last.steps + steps <= int.MaxValue)
                {
                    _entries[^1] = (z, q, last.steps + steps);
                    return;
                }
            }

            _entries.Add((z, q, steps));
        }
    }

    public (double z, double q, int steps)[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries];
        }
    }

    /// <summary>Groups equal (z, q) pairs anywhere in the history so each RDP curve is computed once.</summary>
    public static Dictionary<(double z, double q), long> Group(IReadOnlyList<(double z, double q, int steps)> history)
    {
        var grouped = new Dictionary<(double z, double q), long>();
        foreach (var (z, q, steps) in history)
        {
            grouped[(z, q)] = grouped.GetValueOrDefault((z, q)) + steps;
        }

        return grouped;
    }
}
