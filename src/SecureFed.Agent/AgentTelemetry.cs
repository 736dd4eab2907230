using System.Diagnostics;

namespace SecureFed.Agent;

/// <summary>
/// The agent's named <see cref="ActivitySource"/>. Each span is a child of the coordinator's stage span whose W3C
/// trace context arrived in the message header, so a round's coordinator and silo spans share one trace.
/// Attributes are <c>securefed.*</c> and never carry vectors, keys, shares or data.
/// </summary>
public static class AgentTelemetry
{
    /// <summary>Name of the activity source.</summary>
    public const string Name = "SecureFed.Agent";

    /// <summary>The activity source of silo-side work.</summary>
    public static ActivitySource Source { get; } = new(Name, "1.0");

    internal static Activity? Start(string name, ActivityContext parent, string siloId, long round)
    {
        var span = Source.StartActivity($"securefed.silo.{name}", ActivityKind.Consumer, parent);
        span?.SetTag("securefed.silo_id", siloId);
        span?.SetTag("securefed.round", round);
        return span;
    }
}
