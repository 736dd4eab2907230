using System.Text.Json.Nodes;
using SecureFed.Agent;
using SecureFed.Hosting.Internal;
using SecureFed.Identity;

namespace SecureFed.Hosting;

/// <summary>Settings of one benchmark agent run as its own process (<c>securefed bench secagg-agent</c>, hidden).</summary>
/// <param name="Coordinator">The benchmark coordinator's address.</param>
/// <param name="Certificate">The silo's certificate (PEM).</param>
/// <param name="PrivateKey">The silo's private key (PEM).</param>
/// <param name="CaCertificate">The benchmark CA's certificate (PEM).</param>
/// <param name="Seed">The seed of the silo's fixed delta (the benchmark's silo index).</param>
/// <param name="Parameters">L, the delta's length.</param>
/// <param name="DropAtMaskedInput">Go silent at the MaskedInput stage every round (a dropped silo).</param>
public sealed record SecAggBenchAgentOptions(Uri Coordinator, string Certificate, string PrivateKey, string CaCertificate, int Seed, int Parameters, bool DropAtMaskedInput);

/// <summary>
/// One benchmark silo alone in a process, so that its CPU time and bytes are its own: runs until the federation ends
/// and returns its counters after each round result (process CPU, protobuf bytes sent, masking time, and on Linux
/// the TCP bytes its one connection carried each way, TLS and HTTP/2 framing included).
/// </summary>
public static class SecAggBenchAgent
{
    /// <summary>Runs the agent; the JSON it returns is what the parent benchmark reads from stdout.</summary>
    public static async Task<JsonObject> RunAsync(SecAggBenchAgentOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var certificate = CertificateStore.LoadCertificateWithKey(options.Certificate, options.PrivateKey);
        using var root = CertificateStore.LoadCertificate(options.CaCertificate);
        var trainer = new FixedTrainer(FixedTrainer.RandomDelta(options.Parameters, options.Seed));
        using var agent = new SiloAgent(
            new AgentOptions
            {
                Coordinator = options.Coordinator,
                FederationId = SecAggBenchmark.FederationId,
                DropAtStage = options.DropAtMaskedInput ? Contracts.V1.Stage.MaskedInput : null,
                KeepAlivePingTimeout = SecAggBenchmark.StarvedPingTimeout,
            },
            certificate, root, trainer, new LocalPolicy { AllowedDatasets = ["bench"] });
        var meter = new BenchAgentMeter(agent, ownsProcess: true);
        var outcome = await agent.RunAsync(cancellationToken);
        var samples = new JsonArray();
        foreach (var s in meter.Samples)
        {
            samples.Add(new JsonObject
            {
                ["round"] = s.Round,
                ["cpu_ms"] = s.CpuMs,
                ["bytes_sent"] = s.BytesSent,
                ["mask_ms"] = s.MaskMs,
                ["wire_read"] = s.WireRead,
                ["wire_written"] = s.WireWritten,
            });
        }

        return new JsonObject
        {
            ["silo"] = agent.SiloId,
            ["rounds_completed"] = outcome.RoundsCompleted,
            ["graph"] = trainer.LastSecure?.Graph,
            ["graph_degree"] = trainer.LastSecure?.GraphDegree,
            ["neighbourhood_threshold"] = trainer.LastSecure?.NeighbourhoodThreshold,
            ["samples"] = samples,
        };
    }

    /// <summary>The graph the agent's last plan named, from <see cref="RunAsync"/>'s JSON (null for a plain run).</summary>
    internal static (string Graph, int Degree, int NeighbourhoodThreshold)? ParseGraph(JsonObject result) =>
        result["graph"] is { } g ? ((string)g!, (int)result["graph_degree"]!, (int)result["neighbourhood_threshold"]!) : null;

    /// <summary>Reads the samples back from <see cref="RunAsync"/>'s JSON.</summary>
    internal static IReadOnlyList<BenchAgentSample> ParseSamples(JsonObject result) =>
        [.. result["samples"]!.AsArray().Select(n => new BenchAgentSample(
            (long)n!["round"]!, (double?)n["cpu_ms"], (long)n["bytes_sent"]!, (double)n["mask_ms"]!, (long?)n["wire_read"], (long?)n["wire_written"]))];
}
