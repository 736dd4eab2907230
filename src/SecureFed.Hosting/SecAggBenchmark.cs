using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Crypto;
using SecureFed.Identity;
using SecureFed.Protocol;

namespace SecureFed.Hosting;

/// <summary>
/// Plain against secure aggregation of the same inputs, each a real federation over loopback mutual TLS in this
/// process: N agents with fixed random deltas of L parameters, one warm-up round and one measured round each.
/// Silos that drop do so at the MaskedInput stage (after sharing keys), the case that costs the server most.
/// </summary>
public static class SecAggBenchmark
{
    /// <summary>Runs the benchmark and returns one JSON object.</summary>
    public static async Task<JsonObject> RunAsync(int silos, int parameters, double dropout, int ringBits, CancellationToken cancellationToken)
    {
        if (silos is < 3 or > 255)
        {
            throw new ArgumentException($"--silos {silos} is invalid: must be within 3..255");
        }

        if (parameters is < 1 or > 10_000_000)
        {
            throw new ArgumentException($"--params {parameters} is invalid: must be within 1..10000000");
        }

        if (dropout is < 0 or >= 0.5 || double.IsNaN(dropout))
        {
            throw new ArgumentException($"--dropout {dropout} is invalid: must be within 0..0.5 (the threshold needs a majority)");
        }

        var dropped = (int)Math.Round(silos * dropout);
        var plain = await RunFederationAsync(silos - dropped, 0, parameters, null, cancellationToken);
        var secure = await RunFederationAsync(silos, dropped, parameters, new SecureAggregationPlan(ringBits, 16, 16.0), cancellationToken);
        var prg = MaskGeneratorBenchmark.MeasureGigabytesPerSecond(64);
        return new JsonObject
        {
            ["silos"] = silos,
            ["params"] = parameters,
            ["dropout"] = dropout,
            ["dropped_silos"] = dropped,
            ["ring_bits"] = ringBits,
            ["plain_ms"] = Math.Round(plain.Round.TotalMilliseconds, 1),
            ["secure_ms"] = Math.Round(secure.Round.TotalMilliseconds, 1),
            ["ratio"] = Math.Round(secure.Round / plain.Round, 3),
            ["client_mask_ms"] = Math.Round(secure.MaskPerClient.TotalMilliseconds, 1),
            ["server_unmask_ms"] = Math.Round(secure.Unmask.TotalMilliseconds, 1),
            ["bytes_up_per_client"] = secure.BytesUpPerClient,
            ["plain_bytes_up_per_client"] = plain.BytesUpPerClient,
            ["prg_gb_per_s"] = Math.Round(prg, 3),
            ["exact_sum"] = secure.MeanError < 1e-3,
        };
    }

    private sealed record Measurement(TimeSpan Round, TimeSpan MaskPerClient, TimeSpan Unmask, long BytesUpPerClient, double MeanError);

    private static async Task<Measurement> RunFederationAsync(int silos, int dropped, int parameters, SecureAggregationPlan? secure, CancellationToken ct)
    {
        var time = TimeProvider.System;
        var dir = Path.Combine(Path.GetTempPath(), "securefed-bench", Guid.NewGuid().ToString("N"));
        using var ca = ConsortiumCa.Create("securefed-bench", time, TimeSpan.FromDays(1));
        using var coordinatorCert = ca.IssueCoordinator(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        var ids = Enumerable.Range(1, silos).Select(i => $"silo-{i}").ToArray();
        var certs = ids.Select(id => ca.IssueSilo(SiloId.Parse(id), TimeSpan.FromDays(1))).ToArray();
        var deltas = ids.Select((_, i) => RandomDelta(parameters, i)).ToArray();
        var honest = Enumerable.Range(0, silos - dropped).ToArray();
        var expectedMean = Enumerable.Range(0, parameters).Select(j => honest.Average(i => (double)deltas[i][j])).ToArray();
        var options = new CoordinatorOptions
        {
            FederationId = "bench",
            Port = 0,
            Rounds = 2,
            MinSilos = Math.Max(2, silos - dropped),
            TargetSilos = silos,
            Members = ids,
            Dataset = "bench",
            Model = new ModelDescriptor("logreg", 1, 2, 1),
            Training = new TrainingParameters(1, 1, 0.1, 1),
            StorePath = Path.Combine(dir, "bench.db"),
            SecureAggregation = secure,
            MaxChunkFloats = 65536,
            MaxMessageBytes = 4 * 1024 * 1024,
            PlanTimeout = TimeSpan.FromSeconds(60),
            TrainTimeout = TimeSpan.FromSeconds(300),
            JoinTimeout = TimeSpan.FromSeconds(60),
        };
        try
        {
            await using var coordinator = CoordinatorHost.Create(options, coordinatorCert, ca.Certificate, new ZeroModel(parameters), b => b.SetMinimumLevel(LogLevel.Warning), time);
            await coordinator.StartAsync(ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var agents = ids.Select((id, i) => new SiloAgent(
                new AgentOptions
                {
                    Coordinator = coordinator.Address,
                    FederationId = "bench",
                    DropAtStage = i >= silos - dropped ? Contracts.V1.Stage.MaskedInput : null,
                },
                certs[i], ca.Certificate, new FixedTrainer(deltas[i]), new LocalPolicy { AllowedDatasets = ["bench"] })).ToArray();
            var runs = agents.Select(a => Task.Run(() => a.RunAsync(stop.Token), CancellationToken.None)).ToArray();
            var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromMinutes(20), ct);
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
            }
            catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException or TimeoutException)
            {
                // dropped agents still reconnecting
            }

            var measured = outcome.Rounds[^1];
            var model = coordinator.Store.LatestModel()!.Parameters;
            var previous = coordinator.Store.ModelHistory().Count - 1;
            var error = Enumerable.Range(0, parameters).Max(j => Math.Abs((model[j] / previous) - expectedMean[j]));
            var honestAgents = agents.Take(silos - dropped).ToArray();
            return new Measurement(
                measured.Duration,
                TimeSpan.FromTicks((long)honestAgents.Average(a => a.Statistics.MaskingTime.Ticks) / 2),
                measured.ServerUnmaskTime ?? TimeSpan.Zero,
                (long)honestAgents.Average(a => a.Statistics.BytesSent) / 2,
                error);
        }
        finally
        {
            foreach (var c in certs)
            {
                c.Dispose();
            }

            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }

    private static float[] RandomDelta(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1))];
    }

    private sealed class ZeroModel(int parameters) : IModelEvaluator
    {
        public float[] InitialParameters() => new float[parameters];

        public ModelQuality Evaluate(float[] parameters) => new(double.NaN, double.NaN);
    }

    private sealed class FixedTrainer(float[] delta) : ILocalTrainer
    {
        public string Dataset => "bench";

        public Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken) =>
            Task.FromResult(new LocalUpdate(delta, 1));
    }
}
