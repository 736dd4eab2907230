using System.Globalization;

namespace SecureFed.Training;

/// <summary>How <see cref="Partitioner"/> distributes rows over silos.</summary>
public enum PartitionKind
{
    /// <summary>Uniformly at random, equal sizes (within one row).</summary>
    Iid,

    /// <summary>Per class, Dirichlet(alpha) proportions over silos (smaller alpha, stronger skew).</summary>
    LabelSkew,

    /// <summary>Contiguous quantile ranges of one feature (a "natural" split, e.g. by tumour size).</summary>
    Feature,
}

/// <summary>
/// An immutable, validated partitioning scheme. Text forms (<see cref="Parse"/>, <see cref="ToString"/>):
/// <c>iid</c>, <c>label-skew:&lt;alpha&gt;</c> (e.g. <c>label-skew:0.5</c>), <c>feature:&lt;feature name&gt;</c>
/// (e.g. <c>feature:mean_radius</c>).
/// </summary>
public sealed record PartitionSpec
{
    /// <summary>Default minimum rows per silo for <see cref="PartitionKind.LabelSkew"/>.</summary>
    public const int DefaultMinRowsPerSilo = 10;

    /// <summary>Largest accepted Dirichlet concentration (beyond it the split is IID for practical purposes).</summary>
    public const double MaxAlpha = 1e6;

    private const string Usage = "Expected one of: iid, label-skew:<alpha> (e.g. label-skew:0.5), feature:<feature name> (e.g. feature:mean_radius).";

    private PartitionSpec(PartitionKind kind, double alpha, string? featureName, int minRowsPerSilo)
    {
        Kind = kind;
        Alpha = alpha;
        FeatureName = featureName;
        MinRowsPerSilo = minRowsPerSilo;
    }

    /// <summary>IID: a seeded shuffle dealt into equal parts.</summary>
    public static PartitionSpec Iid { get; } = new(PartitionKind.Iid, 0, null, 1);

    /// <summary>The scheme.</summary>
    public PartitionKind Kind { get; }

    /// <summary>Dirichlet concentration for <see cref="PartitionKind.LabelSkew"/>; 0 otherwise.</summary>
    public double Alpha { get; }

    /// <summary>The feature to split on for <see cref="PartitionKind.Feature"/>; null otherwise.</summary>
    public string? FeatureName { get; }

    /// <summary>The fewest rows any silo may receive (label skew: <see cref="DefaultMinRowsPerSilo"/> unless set; otherwise 1).</summary>
    public int MinRowsPerSilo { get; }

    /// <summary>Label skew with per-class Dirichlet(<paramref name="alpha"/>) proportions over silos.</summary>
    /// <param name="alpha">Concentration in (0, <see cref="MaxAlpha"/>]; 0.1 is extreme, 1 moderate, 100 nearly IID.</param>
    /// <param name="minRowsPerSilo">Every silo receives at least this many rows (see <see cref="Partitioner"/> for how).</param>
    public static PartitionSpec LabelSkew(double alpha, int minRowsPerSilo = DefaultMinRowsPerSilo)
    {
        if (!double.IsFinite(alpha) || alpha <= 0 || alpha > MaxAlpha)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"The label-skew alpha must be a finite number in (0, {MaxAlpha}].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(minRowsPerSilo, 1);
        return new PartitionSpec(PartitionKind.LabelSkew, alpha, null, minRowsPerSilo);
    }

    /// <summary>Natural split on a feature: rows sorted by its value and cut into equal-count contiguous ranges.</summary>
    public static PartitionSpec Feature(string featureName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(featureName);
        return new PartitionSpec(PartitionKind.Feature, 0, featureName.Trim(), 1);
    }

    /// <summary>Parses <c>iid</c>, <c>label-skew:&lt;alpha&gt;</c> or <c>feature:&lt;name&gt;</c> (kind case-insensitive).</summary>
    /// <exception cref="FormatException">The text is not one of those forms; the message shows the accepted forms.</exception>
    public static PartitionSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        var kind = (colon < 0 ? trimmed : trimmed[..colon]).Trim().ToLowerInvariant();
        var argument = colon < 0 ? null : trimmed[(colon + 1)..].Trim();
        switch (kind)
        {
            case "iid":
                if (argument is not null)
                {
                    throw new FormatException($"Partition '{text}': 'iid' takes no argument. {Usage}");
                }

                return Iid;
            case "label-skew":
                if (string.IsNullOrEmpty(argument))
                {
                    throw new FormatException($"Partition '{text}': label-skew needs an alpha, e.g. label-skew:0.5. {Usage}");
                }

                if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha)
                    || !double.IsFinite(alpha) || alpha <= 0 || alpha > MaxAlpha)
                {
                    throw new FormatException($"Partition '{text}': alpha '{argument}' must be a number in (0, {MaxAlpha}], e.g. label-skew:0.5.");
                }

                return LabelSkew(alpha);
            case "feature":
                if (string.IsNullOrEmpty(argument))
                {
                    throw new FormatException($"Partition '{text}': feature needs a feature name, e.g. feature:mean_radius. {Usage}");
                }

                return Feature(argument);
            default:
                throw new FormatException($"Unknown partition '{text}'. {Usage}");
        }
    }

    /// <summary>The text form accepted by <see cref="Parse"/>.</summary>
    public override string ToString() => Kind switch
    {
        PartitionKind.Iid => "iid",
        PartitionKind.LabelSkew => MinRowsPerSilo == DefaultMinRowsPerSilo
            ? string.Create(CultureInfo.InvariantCulture, $"label-skew:{Alpha:R}")
            : string.Create(CultureInfo.InvariantCulture, $"label-skew:{Alpha:R} (min {MinRowsPerSilo} rows per silo)"),
        PartitionKind.Feature => $"feature:{FeatureName}",
        _ => throw new InvalidOperationException($"Unhandled partition kind {Kind}."),
    };
}
