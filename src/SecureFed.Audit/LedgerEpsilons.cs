using SecureFed.Privacy;

namespace SecureFed.Audit;

/// <summary>
/// Cumulative epsilon as the ledger states it: every charged release (a completed training round's update, and
/// each statistics or evaluation release an entry lists, <see cref="LedgerEntryDraft.Charges"/>) is one unsampled
/// Gaussian mechanism (q = 1, one step) with its effective noise multiplier, composed under both accountants. Pure and
/// thread-safe; the verifier uses exactly this, so a coordinator that fills entries from it verifies.
/// </summary>
public static class LedgerEpsilons
{
    /// <summary>The relative tolerance between a logged and a recomputed epsilon.</summary>
    public const double RelativeTolerance = 1e-9;

    /// <summary>Epsilon at <paramref name="delta"/> after releases charged with <paramref name="effectiveNoiseMultipliers"/>.</summary>
    /// <param name="effectiveNoiseMultipliers">One value per charged release (finite, &gt; 0); empty gives 0.</param>
    /// <param name="delta">The delta, in (0, 1).</param>
    public static LedgerEpsilon Compute(IEnumerable<double> effectiveNoiseMultipliers, double delta)
    {
        ArgumentNullException.ThrowIfNull(effectiveNoiseMultipliers);

        // Identical multipliers compose into one (z, 1, count) term: same value, linear instead of quadratic cost
        // when a verifier recomputes every entry of a long ledger.
        var counts = new SortedDictionary<double, int>();
        foreach (double z in effectiveNoiseMultipliers)
        {
            counts[z] = checked(counts.GetValueOrDefault(z) + 1);
        }

        List<(double z, double q, int steps)> history = [.. counts.Select(kv => (kv.Key, 1.0, kv.Value))];
        return new LedgerEpsilon(
            PrivacyAccountants.ComputeEpsilon(AccountantKind.Rdp, history, delta),
            PrivacyAccountants.ComputeEpsilon(AccountantKind.Exact, history, delta));
    }

    /// <summary>Whether a logged epsilon matches a recomputed one to <see cref="RelativeTolerance"/>.</summary>
    public static bool Matches(double logged, double recomputed)
    {
        if (logged == recomputed)
        {
            return true; // also both infinite
        }

        double scale = Math.Max(Math.Abs(logged), Math.Abs(recomputed));
        return double.IsFinite(scale) && Math.Abs(logged - recomputed) <= RelativeTolerance * scale;
    }
}
