namespace SecureFed.Privacy.Tests;

public class BudgetGuardTests
{
    [Fact]
    public void CheckRound_WithinBudget_ReturnsCumulativeEpsilon()
    {
        var accountant = new ExactGaussianAccountant();
        accountant.Record(2.0, 1.0, 5);
        var budget = new PrivacyBudget(10.0, 1e-5);
        double would = BudgetGuard.CheckRound(accountant, (2.0, 1.0, 1), budget);
        Assert.Equal(ExactGaussianAccountant.ComputeEpsilon([(2.0, 1.0, 6)], 1e-5), would, 12);
        Assert.True(would <= budget.EpsilonMax);
    }

    [Fact]
    public void CheckRound_WouldExceed_ThrowsWithTheNumbers()
    {
        var history = new List<(double z, double q, int steps)> { (1.0, 1.0, 3) };
        double spent = ExactGaussianAccountant.ComputeEpsilon(history, 1e-5);
        double would = ExactGaussianAccountant.ComputeEpsilon([(1.0, 1.0, 3), (0.5, 1.0, 1)], 1e-5);
        // Budget halfway between what has been spent and what the round would bring: refused, with both numbers.
        double max = Math.Round((spent + would) / 2, 3);
        Assert.True(spent < max && would > max);
        var budget = new PrivacyBudget(max, 1e-5);

        var ex = Assert.Throws<PrivacyBudgetExhaustedException>(
            () => BudgetGuard.CheckRound(AccountantKind.Exact, history, (0.5, 1.0, 1), budget));
        Assert.Equal(spent, ex.SpentEpsilon, 12);
        Assert.Equal(would, ex.WouldSpendEpsilon, 12);
        Assert.Equal(max, ex.MaxEpsilon);
        Assert.Equal(1e-5, ex.Delta);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        Assert.Contains(spent.ToString("G6", inv), ex.Message, StringComparison.Ordinal);
        Assert.Contains(would.ToString("G6", inv), ex.Message, StringComparison.Ordinal);
        Assert.Contains("maximum " + max.ToString("G6", inv), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckRound_RdpAccountantWithSampledRounds_UsesRdp()
    {
        // MNIST DP-SGD: 14063 steps give 2.5967; 7000 steps cost clearly less, so a cap of 2.5 stops the rest.
        var accountant = new RdpAccountant();
        accountant.Record(1.1, 256.0 / 60000, 7000);
        var ex = Assert.Throws<PrivacyBudgetExhaustedException>(
            () => BudgetGuard.CheckRound(accountant, (1.1, 256.0 / 60000, 7063), new PrivacyBudget(2.5, 1e-5)));
        Assert.True(ex.SpentEpsilon < 2.5);
        Assert.Equal(RdpAccountant.ComputeEpsilon([(1.1, 256.0 / 60000, 14063)], 1e-5), ex.WouldSpendEpsilon, 12);
        Assert.Equal(1.1, accountant.History[0].z);
    }

    [Fact]
    public void CheckRound_BadProposedRound_NamesIt()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => BudgetGuard.CheckRound(AccountantKind.Rdp, [], (0.0, 1.0, 1), new PrivacyBudget(1, 1e-5)));
        Assert.Equal("proposedRound.z", ex.ParamName);
    }
}
