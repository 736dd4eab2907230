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
    private readonly ConcurrentDictionary<long, (long Bytes, double WindowMs, double CpuMs)> _ingest = new();

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

    /// <summary>The plain upload payload the coordinator took in during <paramref name="round"/> and the time from
    /// its first chunk to its last (the tags of the plain upload stage; summed over tasks), or null (no plain upload).</summary>
    public (long Bytes, double WindowMs, double CpuMs)? IngestOf(long round) => _ingest.TryGetValue(round, out var ingest) ? ingest : null;

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
                if (span.GetTagItem("securefed.upload.bytes") is long bytes && span.GetTagItem("securefed.upload.window_ms") is double window)
                {
                    var cpu = span.GetTagItem("securefed.upload.process_cpu_ms") as double? ?? 0;
                    _ingest.AddOrUpdate(round, (bytes, window, cpu), (_, old) => (old.Bytes + bytes, old.WindowMs + window, old.CpuMs + cpu));
                }

                return;
            }
        }
    }
}
