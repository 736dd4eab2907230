using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SecureFed.Coordinator;

/// <summary>
/// The coordinator's named <see cref="ActivitySource"/> and <see cref="Meter"/>: a trace per round with a span per
/// stage, and metrics for rounds, dropouts, epsilon and durations. The host subscribes (OpenTelemetry SDK); nothing
/// here depends on it. Attributes are named <c>securefed.*</c> and never carry vectors, keys, shares or data.
/// </summary>
public static class CoordinatorTelemetry
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "SecureFed.Coordinator";

    /// <summary>The activity source of rounds and stages.</summary>
    public static ActivitySource Source { get; } = new(Name, "1.0");

    /// <summary>The meter of round metrics.</summary>
    public static Meter Meter { get; } = new(Name, "1.0");

    internal static Counter<long> RoundsCompleted { get; } = Meter.CreateCounter<long>("securefed.rounds.completed", description: "Rounds that released an aggregate");

    internal static Counter<long> RoundsAborted { get; } = Meter.CreateCounter<long>("securefed.rounds.aborted", description: "Rounds that released nothing");

    internal static Counter<long> Dropouts { get; } = Meter.CreateCounter<long>("securefed.silos.dropouts", description: "Silos that dropped out of a round");

    internal static Histogram<double> RoundDuration { get; } = Meter.CreateHistogram<double>("securefed.round.duration", unit: "ms", description: "Wall time of a round");

    internal static Histogram<double> Epsilon { get; } = Meter.CreateHistogram<double>("securefed.privacy.epsilon", description: "Cumulative epsilon after each round");
}
