using System.Text.Json.Nodes;
using SecureFed.Agent;
using SecureFed.Hosting.Internal;
using SecureFed.Identity;

namespace SecureFed.Hosting;

/// <summary>Settings of one benchmark agent process (<c>securefed bench secagg-agent</c>, hidden): one silo, or several.</summary>
/// <param name="Coordinator">The benchmark coordinator's address.</param>
/// <param name="Silos">Each silo's certificate and private key (PEM files) and the seed of its fixed delta (the
/// benchmark's silo index).</param>
/// <param name="CaCertificate">The benchmark CA's certificate (PEM).</param>
/// <param name="Parameters">L, the delta's length.</param>
/// <param name="DropAtMaskedInput">Every silo of the process goes silent at the MaskedInput stage every round (dropped silos).</param>
public sealed record SecAggBenchAgentOptions(
    Uri Coordinator, IReadOnlyList<(string Certificate, string PrivateKey, int Seed)> Silos, string CaCertificate, int Parameters, bool DropAtMaskedInput);

/// <summary>
/// Benchmark silos in a process of their own, apart from the coordinator: runs until the federation ends and returns
/// each silo's counters after each round result (protobuf bytes sent, masking time; and when the silo is alone in the
/// process, so they are its own, the process CPU and on Linux the TCP bytes its one connection carried each way, TLS
/// and HTTP/2 framing included).
/// </summary>
public static class SecAggBenchAgent
{
    /// <summary>Runs the silos; the JSON it returns (one object per silo, under <c>silos</c>) is what the parent reads from stdout.</summary>
    public static async Task<JsonObject> RunAsync(SecAggBenchAgentOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var root = CertificateStore.LoadCertificate(options.CaCertificate);
        var alone = options.Silos.Count == 1;
        var runs = options.Silos.Select(s => Task.Run(() => RunSiloAsync(options, s, root, alone, cancellationToken), cancellationToken)).ToArray();
        return new JsonObject { ["silos"] = new JsonArray([.. await Task.WhenAll(runs)]) };
    }

    private static async Task<JsonNode?> RunSiloAsync(
        SecAggBenchAgentOptions options, (string Certificate, string PrivateKey, int Seed) silo, System.Security.Cryptography.X509Certificates.X509Certificate2 root, bool alone, CancellationToken cancellationToken)
    {
        using var certificate = CertificateStore.LoadCertificateWithKey(silo.Certificate, silo.PrivateKey);
        var trainer = new FixedTrainer(FixedTrainer.RandomDelta(options.Parameters, silo.Seed));
        using var agent = new SiloAgent(
            new AgentOptions
            {
                Coordinator = options.Coordinator,
                FederationId = SecAggBenchmark.FederationId,
                DropAtStage = options.DropAtMaskedInput ? Contracts.V1.Stage.MaskedInput : null,
                KeepAlivePingTimeout = SecAggBenchmark.StarvedPingTimeout,
            },
            certificate, root, trainer, new LocalPolicy { AllowedDatasets = ["bench"] });
        var meter = new BenchAgentMeter(agent, ownsProcess: alone);
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

    /// <summary>Each silo's object in one process's <see cref="RunAsync"/> JSON.</summary>
    internal static IEnumerable<JsonObject> SilosOf(JsonObject result) => result["silos"]!.AsArray().Select(n => n!.AsObject());

    /// <summary>The graph the agent's last plan named, from <see cref="RunAsync"/>'s JSON (null for a plain run).</summary>
    internal static (string Graph, int Degree, int NeighbourhoodThreshold)? ParseGraph(JsonObject result) =>
        result["graph"] is { } g ? ((string)g!, (int)result["graph_degree"]!, (int)result["neighbourhood_threshold"]!) : null;

    /// <summary>Reads the samples back from <see cref="RunAsync"/>'s JSON.</summary>
    internal static IReadOnlyList<BenchAgentSample> ParseSamples(JsonObject result) =>
        [.. result["samples"]!.AsArray().Select(n => new BenchAgentSample(
            (long)n!["round"]!, (double?)n["cpu_ms"], (long)n["bytes_sent"]!, (double)n["mask_ms"]!, (long?)n["wire_read"], (long?)n["wire_written"]))];
}
