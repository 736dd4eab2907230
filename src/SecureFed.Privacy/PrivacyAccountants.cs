using SecureFed.Privacy.Internal;

namespace SecureFed.Privacy;

/// <summary>Factory and name mapping for the accountants ("rdp", "exact", "pld").</summary>
public static class PrivacyAccountants
{
    /// <summary>The configuration names, in <see cref="AccountantKind"/> order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["rdp", "exact", "pld"];

    /// <summary>A new, empty accountant of the given kind.</summary>
    public static IPrivacyAccountant Create(AccountantKind kind) => kind switch
    {
        AccountantKind.Rdp => new RdpAccountant(),
        AccountantKind.Exact => new ExactGaussianAccountant(),
        AccountantKind.Pld => new PldAccountant(),
        _ => throw UnknownKind(kind),
    };

    /// <summary>A new, empty accountant selected by configuration name ("rdp", "exact" or "pld", case-insensitive).</summary>
    public static IPrivacyAccountant Create(string name) => Create(ParseKind(name));

    /// <summary>Maps "rdp"/"exact"/"pld" (case-insensitive, surrounding spaces ignored) to the kind.</summary>
    /// <exception cref="ArgumentException">Any other name.</exception>
    public static AccountantKind ParseKind(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToUpperInvariant() switch
        {
            "RDP" => AccountantKind.Rdp,
            "EXACT" => AccountantKind.Exact,
            "PLD" => AccountantKind.Pld,
            _ => throw new ArgumentException(
                $"Unknown accountant name '{name}'; allowed names are 'rdp', 'exact' and 'pld'.", nameof(name)),
        };
    }

    /// <summary>The configuration name of a kind.</summary>
    public static string GetName(AccountantKind kind) => kind switch
    {
        AccountantKind.Rdp => "rdp",
        AccountantKind.Exact => "exact",
        AccountantKind.Pld => "pld",
        _ => throw UnknownKind(kind),
    };

    /// <summary>Recomputes epsilon from logged (z, q, steps) entries with the given accountant kind; pure.</summary>
    public static double ComputeEpsilon(
        AccountantKind kind,
        IReadOnlyList<(double z, double q, int steps)> history,
        double delta) => kind switch
        {
            AccountantKind.Rdp => RdpAccountant.ComputeEpsilon(history, delta),
            AccountantKind.Exact => ExactGaussianAccountant.ComputeEpsilon(history, delta),
            AccountantKind.Pld => PldAccountant.ComputeEpsilon(history, delta),
            _ => throw UnknownKind(kind),
        };

    private static ArgumentOutOfRangeException UnknownKind(AccountantKind kind) =>
        Guard.OutOfRangeWithMessage(nameof(kind), kind, $"kind must be Rdp, Exact or Pld; got {kind}.");
}
