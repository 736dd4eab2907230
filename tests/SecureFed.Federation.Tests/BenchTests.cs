using System.CommandLine;
using System.Text.Json.Nodes;
using SecureFed.Cli;
using SecureFed.Hosting;

namespace SecureFed.Federation.Tests;

/// <summary>The benchmark's function (not its speed: figures are reported by the command, never asserted).</summary>
public sealed class BenchTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public async Task SecAggBench_SmallRun_ReportsEveryFieldAndExactSum(double dropout)
    {
        var result = await SecAggBenchmark.RunAsync(silos: 4, parameters: 2000, dropout: dropout, ringBits: 32, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(2));

        foreach (var field in new[] { "silos", "params", "dropout", "plain_ms", "secure_ms", "ratio", "client_mask_ms", "server_unmask_ms", "bytes_up_per_client", "prg_gb_per_s" })
        {
            Assert.True(result.ContainsKey(field), $"missing {field}");
        }

        Assert.True((bool)result["exact_sum"]!);
        Assert.Equal(dropout > 0 ? 1 : 0, (int)result["dropped_silos"]!);
        Assert.True((long)result["bytes_up_per_client"]! > 2000 * 4, "a masked 32-bit vector of 2000 values is at least 8000 bytes");

        // The coordinator's ingest, from the plain upload stage's span: every value of every plain upload, once.
        var plainSilos = 4 - (int)result["dropped_silos"]!;
        Assert.Equal(plainSilos * 2000L * 4, (long)result["plain"]!["ingest_bytes"]!);
        Assert.True((double)result["plain"]!["ingest_window_ms"]! >= 0);
        Assert.Null(result["secure"]!["ingest_bytes"]);
        Assert.True(result.ContainsKey("plain_ingest_mb_per_s"));

        // With the agents in this process its CPU is theirs too: no coordinator ingest CPU is claimed.
        Assert.Null(result["plain"]!["ingest_cpu_ms"]);
        Assert.Null(result["plain_ingest_mb_per_cpu_s"]);
    }
    [Fact]
    public async Task SecAggBench_AgentsAsProcesses_ReportsEachRolesCpuAndBytesForPlainAndSecure()
    {
        var result = await BenchThroughCliAsync("--silos", "3", "--params", "3000", "--agents-in-process", "false");

        Assert.False((bool)result["agents_in_process"]!);
        Assert.True((bool)result["exact_sum"]!);

        // As the agent processes read it from their plans.
        Assert.Equal("complete", (string)result["graph"]!);
        Assert.Equal(2, (int)result["graph_degree"]!);
        foreach (var run in new[] { "plain", "secure" })
        {
            var role = result[run]!.AsObject();
            foreach (var field in new[] { "round_ms", "process_cpu_ms", "coordinator_cpu_ms", "client_cpu_ms", "client_mask_ms", "bytes_up_per_client", "wire_bytes_up_per_client", "wire_bytes_down_per_client" })
            {
                Assert.True(role.ContainsKey(field), $"missing {run}.{field}");
            }

            // Alone in this process, the coordinator's CPU is the process's; each client's is its own process's.
            Assert.Equal((double)role["process_cpu_ms"]!, (double)role["coordinator_cpu_ms"]!);
            Assert.True((double)role["coordinator_cpu_ms"]! > 0, $"{run}: coordinator CPU");
            Assert.True((double)role["client_cpu_ms"]! > 0, $"{run}: client CPU");
            Assert.True((long)role["bytes_up_per_client"]! > 3000 * 4, $"{run}: an update of 3000 values is more than 12000 bytes");
            if (OperatingSystem.IsLinux())
            {
                // The connection carries the protobuf bytes plus TLS and HTTP/2 framing; down, at least the model.
                Assert.True((long)role["wire_bytes_up_per_client"]! >= (long)role["bytes_up_per_client"]!, $"{run}: wire bytes up");
                Assert.True((long)role["wire_bytes_down_per_client"]! > 3000 * 4, $"{run}: wire bytes down");
            }
        }

        Assert.True((long)result["secure"]!["bytes_up_per_client"]! > (long)result["plain"]!["bytes_up_per_client"]!, "masked inputs and keys add bytes");
        Assert.True((double)result["secure"]!["client_mask_ms"]! > 0);
        Assert.Equal(0.0, (double)result["plain"]!["client_mask_ms"]!);
        Assert.True((double)result["coordinator_cpu_ratio"]! > 0);
        Assert.True((double)result["client_cpu_ratio"]! > 0);

        // Alone in its process, the coordinator's CPU over the plain ingest window is measured (it may round to 0 for
        // three one-chunk uploads, when the rate is left out rather than divided by zero).
        var ingestCpu = (double)result["plain"]!["ingest_cpu_ms"]!;
        Assert.InRange(ingestCpu, 0, (double)result["plain"]!["coordinator_cpu_ms"]!);
        Assert.Equal(ingestCpu > 0, result["plain_ingest_mb_per_cpu_s"] is not null);
    }

    [Fact]
    public async Task SecAggBench_OneAgentProcess_EverySiloApartFromTheCoordinatorAndNoClaimOfAClientsOwnCost()
    {
        // Four silos, one dropping: the three that stay share one process, the dropped one has its own.
        var result = await BenchThroughCliAsync("--silos", "4", "--params", "2000", "--dropout", "0.25", "--agents-in-process", "false", "--agent-processes", "1");

        Assert.True((bool)result["exact_sum"]!);
        Assert.Equal(1, (int)result["agent_processes"]!);
        Assert.Equal(1, (int)result["dropped_silos"]!);
        foreach (var run in new[] { "plain", "secure" })
        {
            // The coordinator is still alone in the benchmark's process; a client shares its process, so its CPU and
            // its connection's bytes are not its own and are not reported.
            Assert.True((double)result[run]!["coordinator_cpu_ms"]! > 0, $"{run}: coordinator CPU");
            Assert.Null(result[run]!["client_cpu_ms"]);
            Assert.Null(result[run]!["wire_bytes_up_per_client"]);
            Assert.True((long)result[run]!["bytes_up_per_client"]! > 2000 * 4, $"{run}: protobuf bytes are still each silo's own");
        }

        Assert.Equal(3 * 2000L * 4, (long)result["plain"]!["ingest_bytes"]!);
        Assert.Null(result["client_cpu_ratio"]);
    }

    [Fact]
    public async Task SecAggBench_GraphHarary_RunsSecAggPlusWithExactSum()
    {
        // γ = δ = 0 gives the smallest SecAgg+ graph (k = 2) at a size where the default bounds give the complete graph.
        var result = await BenchThroughCliAsync("--silos", "6", "--params", "1000", "--graph", "harary", "--corruption", "0", "--graph-dropout", "0");

        Assert.Equal("harary", (string)result["graph"]!);
        Assert.Equal(2, (int)result["graph_degree"]!);
        Assert.Equal(2, (int)result["neighbourhood_threshold"]!);
        Assert.True((bool)result["exact_sum"]!);
        Assert.True((bool)result["agents_in_process"]!);

        // In one process the roles share threads: the process's CPU is reported, not a split the run cannot make.
        Assert.True((double)result["secure"]!["process_cpu_ms"]! > 0);
        Assert.Null(result["secure"]!["client_cpu_ms"]);
        Assert.Null(result["secure"]!["coordinator_cpu_ms"]);

        // The measured round's garbage collection, from the process's counters (a round allocates, so the pause is not
        // below zero; a difference of counters taken out of order would be).
        foreach (var run in new[] { "plain", "secure" })
        {
            Assert.True((double)result[run]!["gc_pause_ms"]! >= 0, $"{run}.gc_pause_ms");
            Assert.True((int)result[run]!["gen2_collections"]! >= 0, $"{run}.gen2_collections");
        }

        Assert.True(result["secure"]!["stages_ms"]!.AsObject().ContainsKey("training.unmask"), "the coordinator's stage spans are timed");
    }

    [Fact]
    public async Task SecAggBench_MaskPrgAndChunkOptions_ReachThePlanAndTheCoordinator()
    {
        // Through the CLI: AES-256 masks in 100-word chunks still sum exactly, and the JSON names both.
        var result = await BenchThroughCliAsync("--silos", "4", "--params", "1000", "--mask-prg", "aes-256-ctr", "--chunk-floats", "100");
        Assert.True((bool)result["exact_sum"]!);
        Assert.Equal("aes-256-ctr", (string)result["mask_prg"]!);
        Assert.Equal(100, (int)result["chunk_floats"]!);

        // The transport probe sends in the same chunks: ten 400-byte messages a client, all counted by its server.
        Assert.Equal(400, (int)result["transport"]!["message_bytes"]!);
        Assert.Equal(4000L, (long)result["transport"]!["bytes_per_connection"]!);
        Assert.True((double)result["transport"]!["mb_per_s"]! > 0);

        var fresh = await SecAggBenchmark.RunAsync(new SecAggBenchmarkOptions { Silos = 4, Parameters = 100 }, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal("aes-128-ctr", (string)fresh["mask_prg"]!);
        Assert.True((bool)fresh["exact_sum"]!);
    }

    [Fact]
    public async Task SecAggBench_GraphAutoBelow256_UsesCompleteGraph()
    {
        var result = await SecAggBenchmark.RunAsync(new SecAggBenchmarkOptions { Silos = 4, Parameters = 100 }, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal("complete", (string)result["graph"]!);
        Assert.Equal(3, (int)result["graph_degree"]!);
    }

    [Fact]
    public async Task SecAggBench_MeasuredRounds_EachFigureIsTheMedianOfItsRounds()
    {
        var result = await BenchThroughCliAsync("--silos", "3", "--params", "1000", "--warmup-rounds", "1", "--measured-rounds", "3", "--receive-window", "131072");

        Assert.Equal(3, (int)result["measured_rounds"]!);
        Assert.Equal(131072, (int)result["receive_window_bytes"]!);
        Assert.True((bool)result["exact_sum"]!);
        foreach (var run in new[] { "plain", "secure" })
        {
            // Three rounds of their own, and the reported round time is the middle one of them.
            var rounds = result[run]!["rounds_ms"]!.AsArray().Select(r => (double)r!).ToArray();
            Assert.Equal(3, rounds.Length);
            Assert.All(rounds, r => Assert.True(r > 0, $"{run}: a round of {r} ms"));
            Assert.Equal(rounds.Order().ElementAt(1), (double)result[run]!["round_ms"]!);
            Assert.Equal((double)result[$"{run}_ms"]!, (double)result[run]!["round_ms"]!);
        }

        // The plain ingest: every round took in all three updates; the rate reported is the middle round's.
        var rates = result["plain"]!["ingest_mb_per_s_rounds"]!.AsArray().Select(r => (double?)r).ToArray();
        Assert.Equal(3, rates.Length);
        if (rates.All(r => r.HasValue))
        {
            Assert.Equal(rates.Order().ElementAt(1), (double?)result["plain"]!["ingest_mb_per_s"]);
        }

        Assert.Equal(3 * 1000L * 4, (long)result["plain"]!["ingest_bytes"]!);
        Assert.Null(result["secure"]!["ingest_mb_per_s_rounds"]);

        // The bare transport beside it: one client per plain silo streaming an update's bytes in chunk-sized messages,
        // as many measured passes as rounds, and the plain ingest as a share of it.
        var transport = result["transport"]!.AsObject();
        Assert.Equal(3, (int)transport["connections"]!);
        Assert.Equal(1000L * 4, (long)transport["bytes_per_connection"]!);
        Assert.Equal(65536 * 4, (int)transport["message_bytes"]!);
        var passes = transport["passes_mb_per_s"]!.AsArray().Select(p => (double)p!).ToArray();
        Assert.Equal(3, passes.Length);
        Assert.All(passes, p => Assert.True(p > 0));
        Assert.Equal(passes.Order().ElementAt(1), (double)transport["mb_per_s"]!);
        if (result["plain"]!["ingest_mb_per_s"] is { } ingest)
        {
            Assert.Equal(Math.Round((double)ingest / (double)transport["mb_per_s"]!, 3), (double)result["plain_ingest_of_transport"]!);
        }

        // One measured round (the default) reports no per-round lists.
        var single = await SecAggBenchmark.RunAsync(new SecAggBenchmarkOptions { Silos = 3, Parameters = 100, WarmupRounds = 1 }, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(1, (int)single["measured_rounds"]!);
        Assert.Null(single["plain"]!["rounds_ms"]);
    }

    [Theory]
    [InlineData("--measured-rounds", "0", "--measured-rounds 0 is invalid")]
    [InlineData("--agent-processes", "0", "--agent-processes 0 is invalid")]
    [InlineData("--receive-window", "1000", "--receive-window 1000 is invalid")]
    [InlineData("--graph", "ring", "ring")]
    [InlineData("--mask-prg", "des", "des")]
    [InlineData("--chunk-floats", "0", "--chunk-floats 0 is invalid")]
    [InlineData("--silos", "201", "--silos 201 is invalid")]
    public async Task SecAggBench_BadOption_ExitsWithCodeTwoNamingIt(string option, string value, string message)
    {
        // A parse error goes to the invocation's writer, a bad value to CliErrors' stderr line.
        var (error, output, console) = (new StringWriter(), new StringWriter(), new StringWriter());
        var saved = Console.Error;
        int code;
        try
        {
            Console.SetError(console);
            code = await Program.BuildRoot().Parse(["bench", "secagg", option, value, "--agents-in-process", "false"])
                .InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        }
        finally
        {
            Console.SetError(saved);
        }

        Assert.NotEqual(0, code);
        Assert.Contains(message, error.ToString() + console, StringComparison.Ordinal);
    }

    private static async Task<JsonObject> BenchThroughCliAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = await Program.BuildRoot().Parse(["bench", "secagg", "--json", .. args])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"exit {code}: {error}");
        return JsonNode.Parse(output.ToString())!.AsObject();
    }
}
