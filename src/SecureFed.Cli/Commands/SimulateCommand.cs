using System.CommandLine;
using System.Globalization;
using SecureFed.Coordinator;
using SecureFed.Hosting;
using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed simulate</c>: a whole federation in one process over loopback mutual TLS.</summary>
internal static class SimulateCommand
{
    public static Command Build()
    {
        var dataset = new Option<string>("--dataset") { Description = "Bundled dataset: breast-cancer, german-credit or digits.", DefaultValueFactory = _ => "breast-cancer" };
        dataset.AcceptOnlyFromAmong("breast-cancer", "german-credit", "digits");
        var silos = new Option<int>("--silos") { Description = "Number of silos (1..200).", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to complete.", DefaultValueFactory = _ => 20 };
        var partition = new Option<string>("--partition") { Description = "How data is split over silos: iid, label-skew:ALPHA (Dirichlet) or feature:NAME (natural split by a feature).", DefaultValueFactory = _ => "iid" };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the initial model and training.", DefaultValueFactory = _ => 42 };
        var model = new Option<string?>("--model") { Description = "Model: logreg or mlp (default: logreg for tabular data, mlp for digits)." };
        model.AcceptOnlyFromAmong("logreg", "mlp");
        var output = new Option<string>("--out") { Description = "Output folder for the store, log and summary.json (must not hold a federation yet).", DefaultValueFactory = _ => Path.Combine("runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)) };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the bundled datasets (default: the nearest data/ folder)." };
        var noise = new Option<double>("--noise-multiplier") { Description = "Central noise multiplier z of client-level differential privacy (each silo clips and adds its share of the noise); 0 turns privacy off.", DefaultValueFactory = _ => 0 };
        var clip = new Option<double>("--clip") { Description = "L2 clip norm C of each silo's model delta.", DefaultValueFactory = _ => 1.0 };
        var delta = new Option<double>("--delta") { Description = "Target delta of the (epsilon, delta) guarantee.", DefaultValueFactory = _ => 1e-5 };
        var budget = new Option<double>("--epsilon-budget") { Description = "The consortium's epsilon budget: the federation stops before a round that would exceed it (0: none).", DefaultValueFactory = _ => 0 };
        var accountant = new Option<string>("--accountant") { Description = "Privacy accountant: rdp (Opacus-compatible RDP) or exact (closed-form Gaussian composition).", DefaultValueFactory = _ => "rdp" };
        accountant.AcceptOnlyFromAmong("rdp", "exact");
        var mechanism = new Option<string>("--mechanism") { Description = "Noise mechanism: gaussian, or discrete-gaussian (integer noise after fixed-point rounding).", DefaultValueFactory = _ => "gaussian" };
        mechanism.AcceptOnlyFromAmong("gaussian", "discrete-gaussian");
        var colluding = new Option<int>("--colluding") { Description = "Colluding silos the noise must tolerate (kappa).", DefaultValueFactory = _ => 0 };
        var aggregation = new Option<string>("--aggregation") { Description = "secure (default: Bonawitz et al. secure aggregation, the coordinator sees only the sum) or plain (baseline: the coordinator sees every update).", DefaultValueFactory = _ => "secure" };
        aggregation.AcceptOnlyFromAmong("secure", "plain");
        var ringBits = new Option<int>("--ring-bits") { Description = "Secure aggregation ring 2^k: 32 or 64.", DefaultValueFactory = _ => 32 };
        var dropout = new Option<double>("--dropout") { Description = "Probability that a silo drops out of a round at a random secure-aggregation stage (fault injection).", DefaultValueFactory = _ => 0 };
        var traceFile = new Option<string?>("--trace-file") { Description = "Write spans as JSON lines to this file (default: traces.jsonl in --out). OTLP export is on when OTEL_EXPORTER_OTLP_ENDPOINT is set." };
        var json = new Option<bool>("--json") { Description = "Print only the summary JSON to stdout (no progress display)." };

        var command = new Command("simulate", "Run a federation in one process: a coordinator and N silo agents over real loopback mutual TLS, with certificates minted for this run.")
        {
            dataset, silos, rounds, partition, seed, model, output, dataDir, noise, clip, delta, budget, accountant, mechanism, colluding, aggregation, ringBits, dropout, traceFile, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var options = new SimulationOptions
            {
                Dataset = parse.GetValue(dataset)!,
                Silos = parse.GetValue(silos),
                Rounds = parse.GetValue(rounds),
                Partition = parse.GetValue(partition)!,
                Seed = parse.GetValue(seed),
                Model = parse.GetValue(model),
                OutputDirectory = parse.GetValue(output)!,
                DataDirectory = parse.GetValue(dataDir),
                NoiseMultiplier = parse.GetValue(noise),
                ClipNorm = parse.GetValue(clip),
                Delta = parse.GetValue(delta),
                EpsilonBudget = parse.GetValue(budget),
                Accountant = parse.GetValue(accountant)!,
                Mechanism = parse.GetValue(mechanism)!,
                Colluding = parse.GetValue(colluding),
                Aggregation = parse.GetValue(aggregation)!,
                RingBits = parse.GetValue(ringBits),
                Dropout = parse.GetValue(dropout),
                TraceFile = parse.GetValue(traceFile),
            }.Validate();
            var quiet = parse.GetValue(json);
            SimulationResult result;
            if (quiet)
            {
                result = await FederationSimulation.RunAsync(options, null, ct);
                Console.Out.WriteLine(result.ToJson());
                return 0;
            }

            AnsiConsole.MarkupLine($"[bold]SecureFed simulation[/]: {options.Silos} silos, {Markup.Escape(options.Dataset)}, {options.Rounds} rounds, partition {Markup.Escape(options.Partition)}, seed {options.Seed}");
            result = await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask("rounds", maxValue: options.Rounds);
                    var progress = new SynchronousProgress<RoundReport>(r =>
                    {
                        if (r.Completed)
                        {
                            bar.Increment(1);
                        }

                        var eps = double.IsFinite(r.Epsilon) ? $"  eps {r.Epsilon:F3}" : "";
                        var status = r.Completed
                            ? $"acc {r.Accuracy:F4} loss {r.Loss:F4}{eps}"
                            : $"[yellow]aborted[/]: {Markup.Escape(r.AbortReason ?? "")}";
                        bar.Description = $"round {r.Round}/{options.Rounds}";
                        var faults = r.Refused + r.Rejected > 0 ? $"  refused {r.Refused}  rejected {r.Rejected}" : "";
                        if (r.StageCounts is { } sc)
                        {
                            faults += $" U1-5 {sc.AdvertiseKeys}/{sc.ShareKeys}/{sc.MaskedInput}/{sc.ConsistencyCheck}/{sc.Unmask}";
                        }

                        AnsiConsole.MarkupLine(
                            $"r{r.Round,-3} {status}  silos {r.Contributors}/{r.Participants.Count} drop {r.Dropouts}{faults}  {r.Duration.TotalMilliseconds:F0} ms");
                    });
                    return await FederationSimulation.RunAsync(options, progress, ct);
                });
            var table = new Table().AddColumn("result").AddColumn("value");
            table.AddRow("rounds completed", result.Outcome.RoundsCompleted.ToString(CultureInfo.InvariantCulture));
            table.AddRow("final accuracy", result.Outcome.FinalAccuracy.ToString("F4", CultureInfo.InvariantCulture));
            table.AddRow("final model", result.Outcome.FinalModelHash[..16] + "…");
            if (double.IsFinite(result.Outcome.Epsilon))
            {
                table.AddRow("epsilon", $"{result.Outcome.Epsilon:F4} at delta {options.Delta:G3} ({options.Accountant})");
            }

            if (result.Outcome.StopReason is { } why)
            {
                table.AddRow("stopped early", Markup.Escape(why));
            }

            table.AddRow("output", Markup.Escape(Path.GetFullPath(options.OutputDirectory)));
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    private sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }
}
