using System.CommandLine;
using System.Text.Json;
using SecureFed.Hosting;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed bench</c>: performance measurements that print JSON (never timed assertions in tests).</summary>
internal static class BenchCommand
{
    public static Command Build()
    {
        var silos = new Option<int>("--silos") { Description = "Number of silos (3..255).", DefaultValueFactory = _ => 10 };
        var parameters = new Option<int>("--params") { Description = "Model parameters L per update.", DefaultValueFactory = _ => 100_000 };
        var dropout = new Option<double>("--dropout") { Description = "Fraction of silos that drop at the MaskedInput stage (0..0.5).", DefaultValueFactory = _ => 0 };
        var ringBits = new Option<int>("--ring-bits") { Description = "Secure aggregation ring 2^k: 32 or 64.", DefaultValueFactory = _ => 32 };
        ringBits.AcceptOnlyFromAmong("32", "64");
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object (the default output is indented JSON too)." };
        var secagg = new Command("secagg", "Plain against secure aggregation of the same inputs over loopback gRPC with mutual TLS in one process; prints one JSON object.")
        {
            silos, parameters, dropout, ringBits, json,
        };
        secagg.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var result = await SecAggBenchmark.RunAsync(parse.GetValue(silos), parse.GetValue(parameters), parse.GetValue(dropout), parse.GetValue(ringBits), ct);
            parse.InvocationConfiguration.Output.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = !parse.GetValue(json) }));
            return 0;
        }));
        var bench = new Command("bench", "Benchmarks that print machine-readable JSON.");
        bench.Subcommands.Add(secagg);
        return bench;
    }
}
