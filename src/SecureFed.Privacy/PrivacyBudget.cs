using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>
/// A consortium's or a silo's privacy budget: the total epsilon that may be spent at a fixed delta.
/// Immutable; validated on construction.
/// </summary>
public sealed record PrivacyBudget
{
    /// <summary>A budget of <paramref name="epsilonMax"/> at <paramref name="delta"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">epsilonMax not finite and positive, or delta outside (0, 1).</exception>
    public PrivacyBudget(double epsilonMax, double delta)
    {
        Guard.PositiveFinite(epsilonMax, nameof(epsilonMax));
        Guard.Delta(delta, nameof(delta));
        EpsilonMax = epsilonMax;
        Delta = delta;
    }

    /// <summary>The most epsilon that may ever be spent.</summary>
    public double EpsilonMax { get; }

    /// <summary>The delta at which epsilon is measured.</summary>
    public double Delta { get; }
}
