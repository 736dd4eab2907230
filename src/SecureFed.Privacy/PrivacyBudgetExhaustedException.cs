using System.Globalization;

namespace SecureFed.Privacy;

/// <summary>
/// A round was refused because running it would take cumulative epsilon past the budget. Carries the numbers so
/// that the refusal can be logged, audited and mapped to a gRPC FailedPrecondition status.
/// </summary>
public sealed class PrivacyBudgetExhaustedException : Exception
{
    /// <summary>Creates the exception with a message stating the numbers.</summary>
    public PrivacyBudgetExhaustedException(double spentEpsilon, double wouldSpendEpsilon, double maxEpsilon, double delta)
        : base(string.Create(
            CultureInfo.InvariantCulture,
            $"Privacy budget exhausted: epsilon spent so far is {spentEpsilon:G6}, the proposed round would bring it to {wouldSpendEpsilon:G6}, which exceeds the maximum {maxEpsilon:G6} (delta = {delta:G6})."))
    {
        SpentEpsilon = spentEpsilon;
        WouldSpendEpsilon = wouldSpendEpsilon;
        MaxEpsilon = maxEpsilon;
        Delta = delta;
    }

    /// <summary>Creates the exception with a custom message (numbers unknown: NaN).</summary>
    public PrivacyBudgetExhaustedException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates the exception with a custom message and inner exception (numbers unknown: NaN).</summary>
    public PrivacyBudgetExhaustedException(string message, Exception? innerException)
        : base(message, innerException)
    {
        SpentEpsilon = double.NaN;
        WouldSpendEpsilon = double.NaN;
        MaxEpsilon = double.NaN;
        Delta = double.NaN;
    }

    /// <summary>Creates the exception with a generic message (numbers unknown: NaN).</summary>
    public PrivacyBudgetExhaustedException()
        : this("Privacy budget exhausted.", null)
    {
    }

    /// <summary>Epsilon already spent before the proposed round.</summary>
    public double SpentEpsilon { get; }

    /// <summary>Epsilon that would be spent including the proposed round.</summary>
    public double WouldSpendEpsilon { get; }

    /// <summary>The budget's maximum epsilon.</summary>
    public double MaxEpsilon { get; }

    /// <summary>The delta at which the epsilons are measured.</summary>
    public double Delta { get; }
}
