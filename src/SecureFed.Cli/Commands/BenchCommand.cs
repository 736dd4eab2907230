using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SecureFed.Hosting;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed bench</c>: performance measurements that print JSON (never timed assertions in tests).</summary>
internal static class BenchCommand
{
    public static Command Build()
    {
        var silos = new Option<int>("--silos") { Description = "Number of silos (3..10000; 3..200 with --agents-in-process false).", DefaultValueFactory = _ => 10 };
        var parameters = new Option<int>("--params") { Description = "Model parameters L per update.", DefaultValueFactory = _ => 100_000 };
        var dropout = new Option<double>("--dropout") { Description = "Fraction of silos that drop at the MaskedInput stage (0..0.5).", DefaultValueFactory = _ => 0, CustomParser = NumberOptions.ParseDouble };
        var ringBits = new Option<int>("--ring-bits") { Description = "Secure aggregation ring 2^k: 32 or 64.", DefaultValueFactory = _ => 32 };
        ringBits.AcceptOnlyFromAmong("32", "64");
        var graph = new Option<string>("--graph") { Description = "Secure aggregation graph, as the coordinator's SecAggGraph: auto (complete below 256 silos, SecAgg+ from 256), complete or harary (SecAgg+).", DefaultValueFactory = _ => SecureFed.Coordinator.SecAggGraphOptions.Auto };
        graph.AcceptOnlyFromAmong([.. SecureFed.Coordinator.SecAggGraphOptions.Modes]);
        var maskPrg = new Option<string>("--mask-prg") { Description = "The plan's mask PRG, as the coordinator's SecAggMaskPrg: aes-128-ctr (default) or aes-256-ctr.", DefaultValueFactory = _ => SecureFed.Crypto.MaskPrgs.Aes128Ctr };
        maskPrg.AcceptOnlyFromAmong([.. SecureFed.Crypto.MaskPrgs.All]);
        var chunkFloats = new Option<int>("--chunk-floats") { Description = "Floats or ring words per upload chunk, as the coordinator's MaxChunkFloats (1..1048576).", DefaultValueFactory = _ => SecureFed.Coordinator.CoordinatorOptions.DefaultMaxChunkFloats };
        var corruption = new Option<double>("--corruption") { Description = "SecAgg+: fraction of silos assumed corrupt, which sizes the graph (SecAggCorruption).", DefaultValueFactory = _ => SecureFed.Coordinator.SecAggGraphOptions.Default.CorruptFraction, CustomParser = NumberOptions.ParseDouble };
        var graphDropout = new Option<double>("--graph-dropout") { Description = "SecAgg+: fraction of silos assumed to drop, which sizes the graph (SecAggDropout; raised to --dropout).", DefaultValueFactory = _ => SecureFed.Coordinator.SecAggGraphOptions.Default.DropoutFraction, CustomParser = NumberOptions.ParseDouble };
        var inProcess = new Option<bool>("--agents-in-process") { Description = "Run the agents in this process (true), or each as its own securefed process (false), so the coordinator's and one client's CPU and bytes are measured apart.", DefaultValueFactory = _ => true };
        var warmup = new Option<int?>("--warmup-rounds") { Description = "Rounds before the measured one, so the runtime's JIT has settled (default: 10 up to 30 silos, 3 up to 100, 1 above; 1..20)." };
        var window = new Option<int>("--receive-window") { Description = "HTTP/2 window in bytes the coordinator grants each connection and stream, as its Limits.ReceiveWindowBytes (at least 65535).", DefaultValueFactory = _ => SecureFed.Coordinator.ConnectionLimits.DefaultReceiveWindowBytes };
        var agentProcesses = new Option<int?>("--agent-processes") { Description = "With --agents-in-process false, the processes the silos are spread over (default: one per silo; 1 puts every silo in one process apart from the coordinator). Below one per silo a client's CPU and wire bytes are not its own and are not reported." };
        var measured = new Option<int>("--measured-rounds") { Description = "Rounds measured after the warm-up (1..20); every figure is the median of theirs.", DefaultValueFactory = _ => 1 };
        var logLevel = new Option<Microsoft.Extensions.Logging.LogLevel>("--log-level") { Description = "The coordinator's log on standard error: Warning (default: dropped or stalled silos, aborts), Information, Debug, None.", DefaultValueFactory = _ => Microsoft.Extensions.Logging.LogLevel.Warning };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object (the default output is indented JSON too)." };
        var secagg = new Command("secagg", "Plain against secure aggregation of the same inputs over loopback gRPC with mutual TLS; per role (coordinator, one client) CPU time and bytes of the measured rounds (their medians); prints one JSON object.")
        {
            silos, parameters, dropout, ringBits, maskPrg, chunkFloats, window, graph, corruption, graphDropout, inProcess, agentProcesses, warmup, measured, logLevel, json,
        };
        secagg.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var result = await SecAggBenchmark.RunAsync(
                new SecAggBenchmarkOptions
                {
                    Silos = parse.GetValue(silos),
                    Parameters = parse.GetValue(parameters),
                    Dropout = parse.GetValue(dropout),
                    RingBits = parse.GetValue(ringBits),
                    MaskPrg = parse.GetValue(maskPrg)!,
                    ChunkFloats = parse.GetValue(chunkFloats),
                    ReceiveWindowBytes = parse.GetValue(window),
                    Graph = parse.GetValue(graph)!,
                    Corruption = parse.GetValue(corruption),
                    GraphDropout = parse.GetValue(graphDropout),
                    AgentsInProcess = parse.GetValue(inProcess),
                    AgentProcesses = parse.GetValue(agentProcesses),
                    WarmupRounds = parse.GetValue(warmup),
                    MeasuredRounds = parse.GetValue(measured),
                    LogLevel = parse.GetValue(logLevel),
                },
                ct);
            parse.InvocationConfiguration.Output.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = !parse.GetValue(json) }));
            return 0;
        }));
        var bench = new Command("bench", "Benchmarks that print machine-readable JSON.");
        bench.Subcommands.Add(secagg);
        bench.Subcommands.Add(BuildSecAggAgent());
        bench.Subcommands.Add(BuildFashionMnist());
        return bench;
    }

    /// <summary>Hidden: one silo of <c>bench secagg --agents-in-process false</c>, started by the benchmark itself.</summary>
    private static Command BuildSecAggAgent()
    {
        var coordinator = new Option<string>("--coordinator") { Required = true, Description = "The benchmark coordinator's address." };
        var cert = new Option<string[]>("--cert") { Required = true, Description = "Silo certificate (PEM); once per silo of this process." };
        var key = new Option<string[]>("--key") { Required = true, Description = "Silo private key (PEM); once per silo, in the order of --cert." };
        var ca = new Option<string>("--ca") { Required = true, Description = "CA certificate (PEM)." };
        var seed = new Option<int[]>("--seed") { Required = true, Description = "Seed of the silo's fixed delta; once per silo, in the order of --cert." };
        var parameters = new Option<int>("--params") { Required = true, Description = "Parameters L." };
        var drop = new Option<bool>("--drop-at-masked-input") { Description = "Every silo of this process goes silent at the MaskedInput stage every round." };
        var command = new Command("secagg-agent", "Benchmark silos in a process of their own; prints their per-round counters as JSON.")
        {
            coordinator, cert, key, ca, seed, parameters, drop,
        };
        command.Hidden = true;
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var (certs, keys, seeds) = (parse.GetValue(cert)!, parse.GetValue(key)!, parse.GetValue(seed)!);
            if (keys.Length != certs.Length || seeds.Length != certs.Length)
            {
                throw new ArgumentException($"--cert, --key and --seed must each be given once per silo: {certs.Length}, {keys.Length} and {seeds.Length} were given");
            }

            var silos = certs.Select((c, i) => (c, keys[i], seeds[i])).ToList();
            var result = await SecAggBenchAgent.RunAsync(
                new SecAggBenchAgentOptions(new Uri(parse.GetValue(coordinator)!, UriKind.Absolute), silos, parse.GetValue(ca)!, parse.GetValue(parameters), parse.GetValue(drop)),
                ct);
            parse.InvocationConfiguration.Output.WriteLine(result.ToJsonString());
            return 0;
        }));
        return command;
    }

    private static Command BuildFashionMnist()
    {
        var silos = new Option<int>("--silos") { Description = "Silos the 60,000 training images are split over (2..200).", DefaultValueFactory = _ => 10 };
        var partition = new Option<string>("--partition") { Description = "iid, or label-skew:ALPHA (Dirichlet label skew, e.g. label-skew:0.5).", DefaultValueFactory = _ => "iid" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds (0: the study's rounds).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the partition, initial model and training.", DefaultValueFactory = _ => 42 };
        var trainDir = new Option<string>("--train-dir") { Description = "Folder of train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (the Debian package dataset-fashion-mnist's by default).", DefaultValueFactory = _ => BundledStudies.FashionMnistTrainDirectory };
        var output = new Option<string>("--out") { Description = "Output folder for the federation's store, log, summary.json and bench.json (must not hold a federation yet).", DefaultValueFactory = _ => Path.Combine("runs", "bench-fashion-mnist-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)) };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the bundled datasets, for the study and the 10,000-image test split (default: the nearest data/ folder)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one line of JSON (the default is indented JSON)." };
        var recordEpsilon = new Option<double>("--record-epsilon") { Description = "Record-level DP-SGD in every silo, its noise calibrated (RDP) so the rounds run stay within this epsilon at --record-delta; 0: none, as the bundled study. The variant study is written under --out.", DefaultValueFactory = _ => 0, CustomParser = NumberOptions.ParseDouble };
        var recordDelta = new Option<double>("--record-delta") { Description = "Record-level delta (with --record-epsilon).", DefaultValueFactory = _ => 1e-5, CustomParser = NumberOptions.ParseDouble };
        var expectedBatch = new Option<int>("--expected-batch") { Description = "DP-SGD's expected Poisson batch; q = this over a silo's training rows (with --record-epsilon).", DefaultValueFactory = _ => 64 };
        var clip = new Option<double>("--clip") { Description = "DP-SGD's per-example clip norm (with --record-epsilon).", DefaultValueFactory = _ => 1.0, CustomParser = NumberOptions.ParseDouble };
        var learningRate = new Option<double?>("--learning-rate") { Description = "Local learning rate instead of the study's (changes the study: a variant is written under --out).", CustomParser = r => NumberOptions.ParseDouble(r) };
        var momentum = new Option<double?>("--momentum") { Description = "Local SGD momentum instead of the study's (changes the study).", CustomParser = r => NumberOptions.ParseDouble(r) };
        var epochs = new Option<int?>("--epochs") { Description = "Local epochs per round instead of the study's (changes the study)." };
        var activation = new Option<string?>("--activation") { Description = "The model's activation instead of the study's: relu, tanh or sigmoid (changes the study; tanh suits DP-SGD's clipped gradients)." };
        activation.AcceptOnlyFromAmong("relu", "tanh", "sigmoid");
        var command = new Command("fashion-mnist", "The Fashion-MNIST cnn study as an in-process federation (secure aggregation; no privacy unless --record-epsilon) on the 60,000 training images; prints accuracy and wall time per round, peak memory, parameter count and the final model's accuracy on the 10,000 test images as JSON, and with --record-epsilon each silo's epsilon by rdp and pld. Progress goes to stderr.")
        {
            silos, partition, rounds, seed, trainDir, output, dataDir, json, recordEpsilon, recordDelta, expectedBatch, clip, learningRate, momentum, epochs, activation,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var options = new FashionMnistBenchmarkOptions
            {
                Silos = parse.GetValue(silos),
                Partition = parse.GetValue(partition)!,
                Rounds = parse.GetValue(rounds),
                Seed = parse.GetValue(seed),
                TrainDirectory = parse.GetValue(trainDir)!,
                OutputDirectory = parse.GetValue(output)!,
                DataDirectory = parse.GetValue(dataDir),
                RecordEpsilon = parse.GetValue(recordEpsilon),
                RecordDelta = parse.GetValue(recordDelta),
                ExpectedBatch = parse.GetValue(expectedBatch),
                Clip = parse.GetValue(clip),
                LearningRate = parse.GetValue(learningRate),
                Momentum = parse.GetValue(momentum),
                Epochs = parse.GetValue(epochs),
                Activation = parse.GetValue(activation),
            };
            var result = await FashionMnistBenchmark.RunAsync(options, parse.InvocationConfiguration.Error, ct);
            parse.InvocationConfiguration.Output.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = !parse.GetValue(json) }));
            return 0;
        }));
        return command;
    }
}
