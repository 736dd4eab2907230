using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureFed.Agent;
using SecureFed.Coordinator;

namespace SecureFed.Hosting;

/// <summary>
/// Subscribes to the coordinator's and agents' activity sources and meter: spans go to a JSON-lines file for offline
/// review when a trace file is given, and to OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without either, nothing is
/// exported and nothing breaks. Dispose to flush.
/// </summary>
public sealed class Telemetry : IDisposable
{
    private readonly TracerProvider? _tracer;
    private readonly MeterProvider? _meter;

    private Telemetry(TracerProvider? tracer, MeterProvider? meter)
    {
        _tracer = tracer;
        _meter = meter;
    }

    /// <summary>Starts telemetry for a process named <paramref name="serviceName"/>.</summary>
    public static Telemetry Start(string serviceName, string? traceFile)
    {
        var otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if (!otlp && traceFile is null)
        {
            return new Telemetry(null, null);
        }

        // OTEL_SERVICE_NAME (set per container in deploy/compose.yaml) names the service; otherwise the role does.
        var name = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME");
        var resource = ResourceBuilder.CreateDefault().AddService(string.IsNullOrWhiteSpace(name) ? serviceName : name);
        var tracing = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(CoordinatorTelemetry.Name, AgentTelemetry.Name)
            .SetSampler(new AlwaysOnSampler());
        if (traceFile is not null)
        {
            tracing.AddProcessor(new SimpleActivityExportProcessor(new JsonLinesSpanExporter(traceFile)));
        }

        MeterProvider? meter = null;
        if (otlp)
        {
            tracing.AddOtlpExporter();
            meter = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(CoordinatorTelemetry.Name).AddOtlpExporter().Build();
        }

        return new Telemetry(tracing.Build(), meter);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _tracer?.ForceFlush(5000);
        _tracer?.Dispose();
        _meter?.Dispose();
    }
}

/// <summary>Writes each finished span as one JSON object per line (ids, name, source, times, status, securefed.* tags).</summary>
internal sealed class JsonLinesSpanExporter : BaseExporter<Activity>
{
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();

    public JsonLinesSpanExporter(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _writer = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public override ExportResult Export(in Batch<Activity> batch)
    {
        lock (_gate)
        {
            foreach (var span in batch)
            {
                var tags = new Dictionary<string, string?>();
                foreach (var tag in span.TagObjects)
                {
                    tags[tag.Key] = Convert.ToString(tag.Value, CultureInfo.InvariantCulture);
                }

                _writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["trace_id"] = span.TraceId.ToHexString(),
                    ["span_id"] = span.SpanId.ToHexString(),
                    ["parent_span_id"] = span.ParentSpanId == default ? null : span.ParentSpanId.ToHexString(),
                    ["name"] = span.DisplayName,
                    ["source"] = span.Source.Name,
                    ["kind"] = span.Kind.ToString(),
                    ["start"] = span.StartTimeUtc.ToString("O", CultureInfo.InvariantCulture),
                    ["duration_ms"] = span.Duration.TotalMilliseconds,
                    ["status"] = span.Status.ToString(),
                    ["attributes"] = tags,
                }));
            }
        }

        return ExportResult.Success;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _writer.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
