using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// Refuses a round whose charge would take cumulative epsilon past a budget (DESIGN.md section 4, Budgets).
/// Pure and thread-safe; the caller decides atomically with recording (check, then record, under its own lock).
/// </summary>
public static class BudgetGuard
{
    /// <summary>
    /// Computes epsilon with and without <paramref name="proposedRound"/> appended to <paramref name="history"/>
    /// and throws if the total would exceed the budget.
    /// </summary>
    /// <returns>The cumulative epsilon including the proposed round (&lt;= budget.EpsilonMax).</returns>
    /// <exception cref="PrivacyBudgetExhaustedException">The round would exceed the budget; the exception and its
    /// message carry the spent, would-spend and maximum epsilon.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The history or the proposed round is out of range for the accountant.</exception>
    public static double CheckRound(
        AccountantKind kind,
        IReadOnlyList<(double z, double q, int steps)> history,
        (double z, double q, int steps) proposedRound,
        PrivacyBudget budget)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(budget);
        Guard.NoiseMultiplier(proposedRound.z, nameof(proposedRound) + ".z");
        Guard.SamplingRate(proposedRound.q, nameof(proposedRound) + ".q");
        Guard.Steps(proposedRound.steps, nameof(proposedRound) + ".steps");

        double spent = PrivacyAccountants.ComputeEpsilon(kind, history, budget.Delta);
        var extended = new List<(double z, double q, int steps)>(history.Count + 1);
        extended.AddRange(history);
        extended.Add(proposedRound);
        double wouldSpend = PrivacyAccountants.ComputeEpsilon(kind, extended, budget.Delta);
        if (!(wouldSpend <= budget.EpsilonMax))
        {
            throw new PrivacyBudgetExhaustedException(spent, wouldSpend, budget.EpsilonMax, budget.Delta);
        }

        return wouldSpend;
    }

    /// <summary>
    /// <see cref="CheckRound(AccountantKind, IReadOnlyList{ValueTuple{double, double, int}}, ValueTuple{double, double, int}, PrivacyBudget)"/>
    /// on the accountant's current history.
    /// </summary>
    public static double CheckRound(IPrivacyAccountant accountant, (double z, double q, int steps) proposedRound, PrivacyBudget budget)
    {
        ArgumentNullException.ThrowIfNull(accountant);
        return CheckRound(accountant.Kind, accountant.History, proposedRound, budget);
    }
}
