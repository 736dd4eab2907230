using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using SecureFed.Coordinator;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// The coordinator's stage spans as the benchmark sees them (issue 14: where a secure round's time goes): listens to
/// <see cref="CoordinatorTelemetry.Source"/> while one benchmark federation runs and keeps each stage's wall time per
/// round, read from the spans the coordinator already emits (no second timing mechanism).
/// </summary>
internal sealed class BenchStageTimes : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<(long Round, string Stage), double> _ms = new();

    public BenchStageTimes()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == CoordinatorTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = Stopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Each stage's wall time in <paramref name="round"/>, in milliseconds, in the order the stages ran.</summary>
    public JsonObject Of(long round)
    {
        var json = new JsonObject();
        foreach (var ((_, stage), ms) in _ms.Where(x => x.Key.Round == round).OrderBy(x => x.Key.Stage, StringComparer.Ordinal))
        {
            json[stage] = Math.Round(ms, 1);
        }

        return json;
    }

    public void Dispose() => _listener.Dispose();

    private void Stopped(Activity span)
    {
        const string prefix = "securefed.stage.";
        if (!span.OperationName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return;
        }

        for (var a = span.Parent; a is not null; a = a.Parent)
        {
            if (a.OperationName == "securefed.round" && a.GetTagItem("securefed.round") is long round)
            {
                var task = span.GetTagItem("securefed.task") as string;
                var name = span.OperationName[prefix.Length..];
                var key = task is null || task == name ? name : $"{task}.{name}";
                _ms.AddOrUpdate((round, key), span.Duration.TotalMilliseconds, (_, old) => old + span.Duration.TotalMilliseconds);
                return;
            }
        }
    }
}
