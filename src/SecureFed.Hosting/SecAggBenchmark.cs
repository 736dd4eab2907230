using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Crypto;
using SecureFed.Hosting.Internal;
using SecureFed.Identity;
using SecureFed.Protocol;

namespace SecureFed.Hosting;

/// <summary>
/// Plain against secure aggregation of the same inputs, each a real federation over loopback mutual TLS: N agents
/// with fixed random deltas of L parameters, warm-up rounds and then measured rounds each, every figure the median of
/// the measured rounds' (one measured round by default). Silos that drop do so at the MaskedInput stage (after sharing
/// keys), the case that costs the server most. Per role: the benchmark process's CPU over a measured round (the
/// coordinator, and with agents in process every agent too), and with <see cref="SecAggBenchmarkOptions.AgentsInProcess"/>
/// false each agent's own process CPU and (on Linux) the bytes its process read and wrote on its connection. Then the
/// bare transport, for the plain ingest to be read against (<see cref="Internal.TransportProbe"/>).
/// </summary>
public static class SecAggBenchmark
{
    /// <summary>The benchmark federation's id.</summary>
    public const string FederationId = "bench";

    /// <summary>HTTP/2 ping timeout on both ends: every silo shares this machine's cores, so a ping waits its turn.</summary>
    internal static readonly TimeSpan StarvedPingTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Runs the benchmark with agents in this process and returns one JSON object.</summary>
    public static Task<JsonObject> RunAsync(int silos, int parameters, double dropout, int ringBits, CancellationToken cancellationToken) =>
        RunAsync(new SecAggBenchmarkOptions { Silos = silos, Parameters = parameters, Dropout = dropout, RingBits = ringBits }, cancellationToken);

    /// <summary>Runs the benchmark and returns one JSON object (the keys are listed in README, Benchmarks).</summary>
    public static async Task<JsonObject> RunAsync(SecAggBenchmarkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var command = options.AgentsInProcess ? null : options.AgentCommand ?? SecAggBenchAgentCommand.Locate();
        var silos = options.Silos;
        var dropped = (int)Math.Round(silos * options.Dropout);
        var template = new SecureAggregationPlan(options.RingBits, 16, 16.0, MaskPrg: options.MaskPrg);
        var graph = options.GraphOptions.Validate();

        var rounds = (options.EffectiveWarmupRounds, options.MeasuredRounds);
        var plain = await RunFederationAsync(silos - dropped, 0, options, null, graph, command, rounds, cancellationToken);
        var secure = await RunFederationAsync(silos, dropped, options, template, graph, command, rounds, cancellationToken);
        var prg = MaskGeneratorBenchmark.MeasureGigabytesPerSecond(64, prg: options.MaskPrg);
        var transport = await TransportProbe.MeasureAsync(
            Math.Min(silos - dropped, MaxProbeConnections), options.Parameters * 4L, options.ChunkFloats * 4, Limits(silos - dropped, options), options.MeasuredRounds, cancellationToken);
        return new JsonObject
        {
            ["silos"] = silos,
            ["params"] = options.Parameters,
            ["dropout"] = options.Dropout,
            ["dropped_silos"] = dropped,
            ["ring_bits"] = options.RingBits,
            ["warmup_rounds"] = options.EffectiveWarmupRounds,
            ["measured_rounds"] = options.MeasuredRounds,
            ["plain_ms"] = Math.Round(plain.Round.TotalMilliseconds, 1),
            ["secure_ms"] = Math.Round(secure.Round.TotalMilliseconds, 1),
            ["ratio"] = Math.Round(secure.Round / plain.Round, 3),
            ["client_mask_ms"] = Math.Round(secure.Client.MaskMs, 1),
            ["server_unmask_ms"] = Math.Round(secure.Unmask.TotalMilliseconds, 1),
            ["bytes_up_per_client"] = secure.Client.BytesUp,
            ["plain_bytes_up_per_client"] = plain.Client.BytesUp,
            ["prg_gb_per_s"] = Math.Round(prg, 3),
            ["mask_prg"] = options.MaskPrg,
            ["chunk_floats"] = options.ChunkFloats,
            ["receive_window_bytes"] = options.ReceiveWindowBytes,
            ["exact_sum"] = secure.MeanError < 1e-3,
            ["agents_in_process"] = options.AgentsInProcess,
            ["agent_processes"] = options.AgentsInProcess ? null : options.AgentProcesses ?? silos,
            ["graph"] = secure.Graph.Graph,
            ["graph_degree"] = secure.Graph.Graph == SecureAggregationPlan.HararyGraph ? secure.Graph.Degree : silos - 1,
            ["neighbourhood_threshold"] = secure.Graph.Graph == SecureAggregationPlan.HararyGraph ? secure.Graph.NeighbourhoodThreshold : SecureAggregationPlan.ThresholdFor(silos, 0),
            ["plain"] = plain.ToJson(),
            ["secure"] = secure.ToJson(),
            ["coordinator_cpu_ratio"] = Ratio(secure.CoordinatorCpuMs, plain.CoordinatorCpuMs),
            ["client_cpu_ratio"] = Ratio(secure.Client.CpuMs, plain.Client.CpuMs),
            ["bytes_up_ratio"] = Ratio(secure.Client.BytesUp, plain.Client.BytesUp),
            ["plain_ingest_mb_per_s"] = plain.IngestMegabytesPerSecond,
            ["plain_ingest_mb_per_cpu_s"] = plain.IngestMegabytesPerCpuSecond,
            ["transport"] = new JsonObject
            {
                ["mb_per_s"] = transport.MegabytesPerSecond,
                ["passes_mb_per_s"] = new JsonArray([.. transport.Passes.Select(p => (JsonNode?)p)]),
                ["connections"] = transport.Connections,
                ["bytes_per_connection"] = transport.BytesPerConnection,
                ["message_bytes"] = transport.MessageBytes,
            },
            ["plain_ingest_of_transport"] = Ratio(plain.IngestMegabytesPerSecond, transport.MegabytesPerSecond),
        };
    }

    /// <summary>The coordinator's log at <paramref name="level"/> and above goes to standard error, so the JSON on
    /// standard output stays whole and a failed run says which silos dropped and why.</summary>
    private static void LogToStandardError(ILoggingBuilder logging, LogLevel level)
    {
        logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(level)
            .AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>The most connections the transport probe opens (each a client certificate and a TLS handshake).</summary>
    private const int MaxProbeConnections = 1000;

    /// <summary>The coordinator's limits in a benchmark of <paramref name="silos"/> silos (the transport probe's too).</summary>
    private static ConnectionLimits Limits(int silos, SecAggBenchmarkOptions run) =>
        new() { MaxConnections = Math.Max(256, (2 * silos) + 16), KeepAlivePingTimeout = StarvedPingTimeout, ReceiveWindowBytes = run.ReceiveWindowBytes };

    private static double? Ratio(double? secure, double? plain) =>
        secure is { } s && plain is { } p && p > 0 ? Math.Round(s / p, 3) : null;

    /// <summary>One federation's measured round, or the median of its measured rounds (<see cref="Median"/>).</summary>
    /// <param name="Round">Its wall time.</param>
    /// <param name="Process">This process's CPU over it (coordinator, plus agents when in process) and its garbage collections.</param>
    /// <param name="AgentsInProcess">Whether the agents ran in this process.</param>
    /// <param name="Unmask">The coordinator's unmask time.</param>
    /// <param name="Client">One client's cost: the mean over the silos that did not drop.</param>
    /// <param name="MeanError">Largest error of the released mean.</param>
    /// <param name="Graph">The graph the silos' last plan named, as they received it (plain: complete).</param>
    /// <param name="Stages">The coordinator's wall time per stage of the measured round, from its stage spans.</param>
    /// <param name="Ingest">The plain upload payload the coordinator took in, the time from its first chunk to its last, and
    /// this process's CPU over that time (plain only).</param>
    /// <param name="Rounds">Each measured round (oldest first) when this is their median; else empty.</param>
    private sealed record Measurement(
        TimeSpan Round, ProcessCounters Process, bool AgentsInProcess, TimeSpan Unmask, BenchAgentCost Client, double MeanError,
        (string Graph, int Degree, int NeighbourhoodThreshold) Graph, JsonObject Stages, (long Bytes, double WindowMs, double CpuMs)? Ingest,
        IReadOnlyList<Measurement> Rounds)
    {
        /// <summary>
        /// Each figure the median of <paramref name="rounds"/>' (the mean of the middle two for an even count), taken
        /// figure by figure, so one slow round on a shared machine moves none of them far. Ratios are then of medians.
        /// </summary>
        public static Measurement Median(IReadOnlyList<Measurement> rounds)
        {
            if (rounds.Count == 1)
            {
                return rounds[0];
            }

            double M(Func<Measurement, double> f) => BenchStatistics.Median(rounds.Select(f))!.Value;
            double? N(Func<Measurement, double?> f) => rounds.All(r => f(r).HasValue) ? M(r => f(r)!.Value) : null;
            var stages = new JsonObject();
            foreach (var stage in rounds.SelectMany(r => r.Stages.Select(s => s.Key)).Distinct().Order(StringComparer.Ordinal))
            {
                stages[stage] = Math.Round(M(r => r.Stages[stage]?.GetValue<double>() ?? 0), 1);
            }

            var ingest = rounds.All(r => r.Ingest.HasValue)
                ? ((long)M(r => r.Ingest!.Value.Bytes), M(r => r.Ingest!.Value.WindowMs), M(r => r.Ingest!.Value.CpuMs))
                : ((long, double, double)?)null;
            var client = new BenchAgentCost(
                N(r => r.Client.CpuMs), (long)M(r => r.Client.BytesUp), M(r => r.Client.MaskMs), rounds[^1].Client.WireUp, rounds[^1].Client.WireDown);
            return new Measurement(
                TimeSpan.FromMilliseconds(M(r => r.Round.TotalMilliseconds)),
                new ProcessCounters(M(r => r.Process.CpuMs), M(r => r.Process.GcPauseMs), (int)Math.Round(M(r => r.Process.Gen2Collections))),
                rounds[0].AgentsInProcess, TimeSpan.FromMilliseconds(M(r => r.Unmask.TotalMilliseconds)), client, rounds.Max(r => r.MeanError),
                rounds[^1].Graph, stages, ingest, rounds);
        }

        /// <summary>Megabytes (10^6) of plain updates a second into the coordinator while they arrived, or null.</summary>
        public double? IngestMegabytesPerSecond => Ingest is { Bytes: > 0, WindowMs: > 0 } i ? Math.Round(i.Bytes / 1e6 / (i.WindowMs / 1e3), 1) : null;

        /// <summary>The coordinator's CPU over the ingest window, when it is alone in this process; else null.</summary>
        public double? IngestCpuMs => AgentsInProcess || Ingest is null ? null : Math.Round(Ingest.Value.CpuMs, 1);

        /// <summary>Megabytes of plain updates per second of the coordinator's CPU over the ingest window: what one core
        /// of the coordinator takes in when the silos' own work is elsewhere (agents as processes only), or null.</summary>
        public double? IngestMegabytesPerCpuSecond =>
            IngestCpuMs is > 0 && Ingest is { Bytes: > 0 } i ? Math.Round(i.Bytes / 1e6 / (i.CpuMs / 1e3), 1) : null;

        public double ProcessCpuMs => Process.CpuMs;

        /// <summary>The coordinator's CPU, when it is alone in this process.</summary>
        public double? CoordinatorCpuMs => AgentsInProcess ? null : ProcessCpuMs;

        public JsonObject ToJson() => new()
        {
            ["round_ms"] = Math.Round(Round.TotalMilliseconds, 1),
            ["process_cpu_ms"] = Math.Round(ProcessCpuMs, 1),
            ["gc_pause_ms"] = Math.Round(Process.GcPauseMs, 1),
            ["gen2_collections"] = Process.Gen2Collections,
            ["coordinator_cpu_ms"] = CoordinatorCpuMs is { } c ? Math.Round(c, 1) : null,
            ["client_cpu_ms"] = Client.CpuMs is { } cpu ? Math.Round(cpu, 1) : null,
            ["client_mask_ms"] = Math.Round(Client.MaskMs, 1),
            ["bytes_up_per_client"] = Client.BytesUp,
            ["wire_bytes_up_per_client"] = Client.WireUp,
            ["wire_bytes_down_per_client"] = Client.WireDown,
            ["stages_ms"] = Stages.DeepClone(),
            ["ingest_bytes"] = Ingest?.Bytes,
            ["ingest_window_ms"] = Ingest?.WindowMs,
            ["ingest_mb_per_s"] = IngestMegabytesPerSecond,
            ["ingest_cpu_ms"] = IngestCpuMs,
            ["ingest_mb_per_cpu_s"] = IngestMegabytesPerCpuSecond,
            ["rounds_ms"] = Rounds.Count == 0 ? null : new JsonArray([.. Rounds.Select(r => (JsonNode?)Math.Round(r.Round.TotalMilliseconds, 1))]),
            ["ingest_mb_per_s_rounds"] = Rounds.Count == 0 || Ingest is null ? null : new JsonArray([.. Rounds.Select(r => (JsonNode?)r.IngestMegabytesPerSecond)]),
        };
    }

    /// <summary>This process's CPU, garbage-collection pause and full collections so far; a difference spans a round.</summary>
    private readonly record struct ProcessCounters(double CpuMs, double GcPauseMs, int Gen2Collections)
    {
        public static ProcessCounters Now() =>
            new(Environment.CpuUsage.TotalTime.TotalMilliseconds, GC.GetTotalPauseDuration().TotalMilliseconds, GC.CollectionCount(2));

        public static ProcessCounters operator -(ProcessCounters after, ProcessCounters before) =>
            new(after.CpuMs - before.CpuMs, after.GcPauseMs - before.GcPauseMs, after.Gen2Collections - before.Gen2Collections);
    }

    private static async Task<Measurement> RunFederationAsync(
        int silos, int dropped, SecAggBenchmarkOptions run, SecureAggregationPlan? secure, SecAggGraphOptions graph, SecAggBenchAgentCommand? command,
        (int Warmup, int Measured) rounds, CancellationToken ct)
    {
        var (parameters, chunkFloats) = (run.Parameters, run.ChunkFloats);
        var time = TimeProvider.System;
        var dir = Path.Combine(Path.GetTempPath(), "securefed-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using var ca = ConsortiumCa.Create("securefed-bench", time, TimeSpan.FromDays(1));
        using var coordinatorCert = ca.IssueCoordinator(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        var ids = Enumerable.Range(1, silos).Select(i => $"silo-{i}").ToArray();
        var certs = ids.Select(id => ca.IssueSilo(SiloId.Parse(id), TimeSpan.FromDays(1))).ToArray();
        var honest = silos - dropped;
        var expectedMean = ExpectedMean(parameters, honest);
        var options = new CoordinatorOptions
        {
            FederationId = FederationId,
            Port = 0,
            Rounds = rounds.Warmup + rounds.Measured,
            MinSilos = Math.Max(2, honest),
            TargetSilos = silos,
            Members = ids,
            Dataset = "bench",
            Model = new ModelDescriptor("logreg", 1, 2, 1),
            Training = new TrainingParameters(1, 1, 0.1, 1),
            StorePath = Path.Combine(dir, "bench.db"),
            SecureAggregation = secure,
            SecureAggregationGraph = graph,
            MaxChunkFloats = chunkFloats,
            MaxMessageBytes = Math.Max(4 * 1024 * 1024, (chunkFloats * 4) + 4096),
            // Room for reconnects while the old connection closes, and pings a starved process can answer in time
            // (at 1000 in-process silos the default 20 s cut connections by the hundred, and each reconnect cost a
            // handshake on the same two cores).
            Limits = Limits(silos, run),
            // Every silo's client runs on this machine's few cores, so a stage's wall time grows with the silos: at 1000
            // in-process silos the key stages took longer than a fixed 60 s, and the stalled silos aborted the round.
            PlanTimeout = TimeSpan.FromSeconds(60 + (silos / 2)),
            TrainTimeout = TimeSpan.FromSeconds(300 + (silos / 2)),

            // Agents start together on a shared machine: give each process a couple of seconds to connect, and each
            // in-process agent half a second (300 of them took over 60 s of TLS handshakes on 2 cores).
            JoinTimeout = TimeSpan.FromSeconds(60 + (command is null ? silos / 2 : 2 * silos)),
        };
        try
        {
            using var stages = new BenchStageTimes();
            await using var coordinator = CoordinatorHost.Create(options, coordinatorCert, ca.Certificate, new ZeroModel(parameters), b => LogToStandardError(b, run.LogLevel), time);
            var afterRound = new System.Collections.Concurrent.ConcurrentDictionary<long, ProcessCounters>();
            coordinator.RoundFinished += r => afterRound[r.Round] = ProcessCounters.Now();
            await coordinator.StartAsync(ct);
            IReadOnlyList<IReadOnlyList<BenchAgentSample>> samples;
            FederationOutcome outcome;
            (string, int, int)? seen;
            if (command is null)
            {
                (outcome, samples, seen) = await RunAgentsInProcessAsync(coordinator, ids, certs, ca.Certificate, parameters, dropped, ct);
            }
            else
            {
                (outcome, samples, seen) = await RunAgentProcessesAsync(coordinator, dir, certs, ca.Certificate, command, parameters, dropped, run.AgentProcesses, ct);
            }

            var model = coordinator.Store.LatestModel()!.Parameters;
            var released = coordinator.Store.ModelHistory().Count - 1;
            var error = 0.0;
            for (var j = 0; j < parameters; j++)
            {
                error = Math.Max(error, Math.Abs((model[j] / released) - expectedMean[j]));
            }

            var each = outcome.Rounds.TakeLast(rounds.Measured).Select(measured =>
            {
                var costs = Costs(samples, measured.Round);
                var client = new BenchAgentCost(
                    Mean(costs.Select(c => c.CpuMs)), (long)costs.Average(c => c.BytesUp), costs.Average(c => c.MaskMs),
                    (long?)Mean(costs.Select(c => (double?)c.WireUp)), (long?)Mean(costs.Select(c => (double?)c.WireDown)));
                return new Measurement(
                    measured.Duration,
                    afterRound[measured.Round] - afterRound[measured.Round - 1],
                    command is null,
                    measured.ServerUnmaskTime ?? TimeSpan.Zero,
                    client,
                    error,
                    seen ?? (SecureAggregationPlan.CompleteGraph, 0, 0),
                    stages.Of(measured.Round),
                    stages.IngestOf(measured.Round),
                    []);
            }).ToList();
            return Measurement.Median(each);
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

    private static async Task<(FederationOutcome, IReadOnlyList<IReadOnlyList<BenchAgentSample>>, (string, int, int)?)> RunAgentsInProcessAsync(
        CoordinatorHost coordinator, string[] ids, System.Security.Cryptography.X509Certificates.X509Certificate2[] certs,
        System.Security.Cryptography.X509Certificates.X509Certificate2 root, int parameters, int dropped, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var silos = ids.Length;
        var trainers = ids.Select((_, i) => new FixedTrainer(FixedTrainer.RandomDelta(parameters, i))).ToArray();
        var agents = ids.Select((id, i) => new SiloAgent(
            new AgentOptions
            {
                Coordinator = coordinator.Address,
                FederationId = FederationId,
                DropAtStage = i >= silos - dropped ? Contracts.V1.Stage.MaskedInput : null,
                KeepAlivePingTimeout = StarvedPingTimeout,
            },
            certs[i], root, trainers[i], new LocalPolicy { AllowedDatasets = ["bench"] })).ToArray();
        var meters = agents.Select(a => new BenchAgentMeter(a, ownsProcess: false)).ToArray();
        var runs = agents.Select(a => Task.Run(() => a.RunOnceAsync(stop.Token), CancellationToken.None)).ToArray();
        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromMinutes(20), ct);
        try
        {
            // The silos that stay end on FederationComplete, after the last round's result, which every measured round's
            // cost is cut at; cancelled at once, an agent could miss it. The dropped ones are still reconnecting.
            await Task.WhenAll(runs.Take(silos - dropped)).WaitAsync(TimeSpan.FromSeconds(20), ct);
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or TimeoutException)
        {
            // the cost of such an agent's last round is missing, which Costs names
        }

        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        }
        catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException or TimeoutException)
        {
            // dropped agents still reconnecting
        }

        var last = trainers[0].LastSecure;
        return (outcome, [.. meters.Take(silos - dropped).Select(m => m.Samples)], last is null ? null : (last.Graph, last.GraphDegree, last.NeighbourhoodThreshold));
    }

    private static async Task<(FederationOutcome, IReadOnlyList<IReadOnlyList<BenchAgentSample>>, (string, int, int)?)> RunAgentProcessesAsync(
        CoordinatorHost coordinator, string dir, System.Security.Cryptography.X509Certificates.X509Certificate2[] certs,
        System.Security.Cryptography.X509Certificates.X509Certificate2 root, SecAggBenchAgentCommand command, int parameters, int dropped, int? processes, CancellationToken ct)
    {
        var caFile = Path.Combine(dir, "ca.pem");
        CertificateStore.WriteCertificate(caFile, root);
        var files = new List<(string, string)>();
        for (var i = 0; i < certs.Length; i++)
        {
            var (cert, key) = (Path.Combine(dir, $"silo-{i + 1}.pem"), Path.Combine(dir, $"silo-{i + 1}.key"));
            CertificateStore.WriteCertificate(cert, certs[i]);
            CertificateStore.WritePrivateKey(key, certs[i]);
            files.Add((cert, key));
        }

        await using var children = BenchAgentProcesses.Start(command, coordinator.Address, caFile, files, parameters, dropped, processes);
        FederationOutcome outcome;
        try
        {
            outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromMinutes(20), ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && children.FirstFailure() is { } failure)
        {
            // The coordinator only saw silos missing; the child's own error says why.
            throw new InvalidOperationException(failure, ex);
        }
        var results = await children.CollectAsync(TimeSpan.FromSeconds(60), ct);
        var silos = results.SelectMany(SecAggBenchAgent.SilosOf).ToList();
        return (outcome, [.. silos.Select(SecAggBenchAgent.ParseSamples)], SecAggBenchAgent.ParseGraph(silos[0]));
    }

    private static BenchAgentCost[] Costs(IEnumerable<IReadOnlyList<BenchAgentSample>> samples, long round) =>
        [.. samples.Select(s => BenchAgentCost.OfRound(s, round) ?? throw new InvalidOperationException($"a benchmark agent saw no result of round {round} or of the one before it (saw {string.Join(",", s.Select(x => x.Round))})"))];

    private static double? Mean(IEnumerable<double?> values)
    {
        var list = values.ToList();
        return list.Count > 0 && list.All(v => v.HasValue) ? list.Average(v => v!.Value) : null;
    }

    private static double[] ExpectedMean(int parameters, int honest)
    {
        var mean = new double[parameters];
        for (var i = 0; i < honest; i++)
        {
            var delta = FixedTrainer.RandomDelta(parameters, i);
            for (var j = 0; j < parameters; j++)
            {
                mean[j] += delta[j];
            }
        }

        for (var j = 0; j < parameters; j++)
        {
            mean[j] /= honest;
        }

        return mean;
    }

    private sealed class ZeroModel(int parameters) : IModelEvaluator
    {
        public float[] InitialParameters() => new float[parameters];

        public ModelQuality Evaluate(float[] parameters) => new(double.NaN, double.NaN);
    }
}
