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
        var dataset = new Option<string>("--dataset") { Description = $"Bundled dataset: {string.Join(", ", BundledStudies.Names)} (fashion-mnist: the 10,000-image test split; the bench uses the 60,000 training images).", DefaultValueFactory = _ => "breast-cancer" };
        dataset.AcceptOnlyFromAmong([.. BundledStudies.Names]);
        var silos = new Option<int>("--silos") { Description = "Number of silos (1..200).", DefaultValueFactory = _ => 5 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds to complete (default: the study's \"rounds\").", DefaultValueFactory = _ => 0 };
        var study = new Option<string?>("--study") { Description = "Study file (JSON: label, features, model, rounds, evaluation); each --silo-data file is one silo's own data. Without it, the bundled study of --dataset runs split over --silos silos." };
        var siloData = new Option<string[]>("--silo-data") { Description = "One silo's data file (CSV with , ; or tab, or Parquet), columns matched by header name; repeat once per silo.", AllowMultipleArgumentsPerToken = false, DefaultValueFactory = _ => [] };
        var separator = new Option<string?>("--separator") { Description = "CSV separator of the silo files: , ; or tab (default: detected from each header)." };
        separator.AcceptOnlyFromAmong(",", ";", "tab");
        var evaluate = new Option<string?>("--evaluate") { Description = "Evaluation only: evaluate the stored model with this hash (summary.json's final_model_hash) of the federation in --out on the silos' held-out rows; nothing is trained." };
        var partition = new Option<string>("--partition") { Description = "How data is split over silos: iid, label-skew:ALPHA (Dirichlet) or feature:NAME (natural split by a feature).", DefaultValueFactory = _ => "iid" };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the initial model and training.", DefaultValueFactory = _ => 42 };
        var model = new Option<string?>("--model") { Description = "Bundled datasets only: train a logreg or the default mlp instead of the bundled study's model. A study file declares its own model (mlp layers, cnn) in its \"model\" section, and --model with --study is refused." };
        model.AcceptOnlyFromAmong("logreg", "mlp");
        var output = new Option<string>("--out") { Description = "Output folder for the store, log, summary.json and report.html. A folder holding an interrupted run (Ctrl-C, SIGTERM, a crash) resumes it with the options in its simulation.json; one holding a completed federation is refused.", DefaultValueFactory = _ => Path.Combine("runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)) };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the bundled datasets (default: the nearest data/ folder)." };
        var noise = new Option<double>("--noise-multiplier") { Description = "Central noise multiplier z of client-level differential privacy (each silo clips and adds its share of the noise); 0 turns privacy off.", DefaultValueFactory = _ => 0, CustomParser = NumberOptions.ParseDouble };
        var clip = new Option<double>("--clip") { Description = "L2 clip norm C of each silo's model delta.", DefaultValueFactory = _ => 1.0, CustomParser = NumberOptions.ParseDouble };
        var delta = new Option<double>("--delta") { Description = "Target delta of the (epsilon, delta) guarantee.", DefaultValueFactory = _ => 1e-5, CustomParser = NumberOptions.ParseDouble };
        var budget = new Option<double>("--epsilon-budget") { Description = "The consortium's epsilon budget: the federation stops before a round that would exceed it (0: none).", DefaultValueFactory = _ => 0, CustomParser = NumberOptions.ParseDouble };
        var accountant = new Option<string>("--accountant") { Description = "Privacy accountant: rdp (Opacus-compatible RDP) or exact (closed-form Gaussian composition).", DefaultValueFactory = _ => "rdp" };
        accountant.AcceptOnlyFromAmong("rdp", "exact");
        var mechanism = new Option<string>("--mechanism") { Description = "Noise mechanism: gaussian, or discrete-gaussian (integer noise after fixed-point rounding).", DefaultValueFactory = _ => "gaussian" };
        mechanism.AcceptOnlyFromAmong("gaussian", "discrete-gaussian");
        var colluding = new Option<int>("--colluding") { Description = "Colluding silos the noise must tolerate (kappa).", DefaultValueFactory = _ => 0 };
        var aggregation = new Option<string>("--aggregation") { Description = "secure (default: Bonawitz et al. secure aggregation, the coordinator sees only the sum) or plain (baseline: the coordinator sees every update).", DefaultValueFactory = _ => "secure" };
        aggregation.AcceptOnlyFromAmong("secure", "plain");
        var ringBits = new Option<int>("--ring-bits") { Description = "Secure aggregation ring 2^k: 32 or 64.", DefaultValueFactory = _ => 32 };
        var dropout = new Option<double>("--dropout") { Description = "Probability that a silo drops out of a round at a random secure-aggregation stage (fault injection).", DefaultValueFactory = _ => 0, CustomParser = NumberOptions.ParseDouble };
        var traceFile = new Option<string?>("--trace-file") { Description = "Write spans as JSON lines to this file (default: traces.jsonl in --out). OTLP export is on when OTEL_EXPORTER_OTLP_ENDPOINT is set." };
        var json = new Option<bool>("--json") { Description = "Print only the summary JSON to stdout (no progress display)." };

        var command = new Command("simulate", "Run a federation in one process: a coordinator and N silo agents over real loopback mutual TLS, with certificates minted for this run.")
        {
            dataset, silos, rounds, study, siloData, separator, evaluate, partition, seed, model, output, dataDir, noise, clip, delta, budget, accountant, mechanism, colluding, aggregation, ringBits, dropout, traceFile, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            // `--out DIR` of an interrupted run resumes it: options left out are those it was started with.
            var outDir = parse.GetValue(output)!;
            var saved = parse.GetValue(evaluate) is null ? SimulationRecord.Read(outDir) is { Resumable: true } r ? r.Options : null : null;
            T Pick<T>(Option<T> option, Func<SimulationOptions, T> recorded) =>
                saved is not null && parse.GetResult(option) is null or { Implicit: true } ? recorded(saved) : parse.GetValue(option)!;
            var options = new SimulationOptions
            {
                Dataset = Pick(dataset, o => o.Dataset),
                Silos = Pick(silos, o => o.Silos),
                Rounds = Pick(rounds, o => o.Rounds),
                Partition = Pick(partition, o => o.Partition),
                Seed = Pick(seed, o => o.Seed),
                Model = Pick(model, o => o.Model),
                OutputDirectory = outDir,
                DataDirectory = Pick(dataDir, o => o.DataDirectory),
                NoiseMultiplier = Pick(noise, o => o.NoiseMultiplier),
                ClipNorm = Pick(clip, o => o.ClipNorm),
                Delta = Pick(delta, o => o.Delta),
                EpsilonBudget = Pick(budget, o => o.EpsilonBudget),
                Accountant = Pick(accountant, o => o.Accountant),
                Mechanism = Pick(mechanism, o => o.Mechanism),
                Colluding = Pick(colluding, o => o.Colluding),
                Aggregation = Pick(aggregation, o => o.Aggregation),
                RingBits = Pick(ringBits, o => o.RingBits),
                Dropout = Pick(dropout, o => o.Dropout),
                TraceFile = parse.GetValue(traceFile),
                StudyPath = Pick(study, o => o.StudyPath),
                SiloData = Pick(siloData, o => [.. o.SiloData]) ?? [],
                Separator = saved is not null && parse.GetResult(separator) is null
                    ? saved.Separator
                    : parse.GetValue(separator) switch { null => null, "tab" => '\t', var x => x[0] },
                EvaluateModelHash = parse.GetValue(evaluate),
                DataFile = saved?.DataFile,
                PlanTimeout = saved?.PlanTimeout ?? new SimulationOptions { OutputDirectory = outDir }.PlanTimeout,
                TrainTimeout = saved?.TrainTimeout ?? new SimulationOptions { OutputDirectory = outDir }.TrainTimeout,
                SiloEpsilonCap = saved?.SiloEpsilonCap ?? 0,
                StrictSilos = saved?.StrictSilos ?? [],
            }.Validate();
            using var interruption = Interruption.Listen(ct);
            var stop = interruption.Token;
            string Reason() => interruption.Reason;
            FederationSimulation.CheckOutput(options);
            var quiet = parse.GetValue(json);
            SimulationResult result;
            if (quiet)
            {
                result = await FederationSimulation.RunAsync(options, null, stop, Reason);
                Console.Out.WriteLine(result.ToJson());
                return Interrupted(result, interruption);
            }

            var what = options.StudyPath is { } sp ? $"study {Path.GetFileName(sp)}, one silo per file" : $"{options.Dataset}, partition {options.Partition}";
            var plannedRounds = options.Rounds > 0
                ? options.Rounds
                : Studies.Study.Load(options.StudyPath ?? BundledStudies.Locate(options.Dataset, options.DataDirectory).StudyPath).Rounds;
            var planned = options.EvaluateModelHash is null ? plannedRounds.ToString(CultureInfo.InvariantCulture) : "0 (evaluation only)";
            AnsiConsole.MarkupLine($"[bold]SecureFed simulation[/]: {options.SiloCount} silos, {Markup.Escape(what)}, {planned} rounds, seed {options.Seed}");
            result = await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var bar = ctx.AddTask("rounds", maxValue: options.EvaluateModelHash is null ? plannedRounds : 1);
                    var progress = new SynchronousProgress<RoundReport>(r =>
                    {
                        if (r.Completed && r.Kind == Protocol.RoundKinds.Training)
                        {
                            bar.Increment(1);
                        }

                        if (r.Kind == Protocol.RoundKinds.Statistics)
                        {
                            AnsiConsole.MarkupLine(r.Completed
                                ? $"r0   federated statistics from {r.Contributors}/{r.Participants.Count} silos  {r.Duration.TotalMilliseconds:F0} ms"
                                : $"r0   [yellow]statistics aborted[/]: {Markup.Escape(r.AbortReason ?? "")}");
                            return;
                        }

                        var eps = double.IsFinite(r.Epsilon) ? $"  eps {r.Epsilon:F3}" : "";
                        var examples = r.Evaluation is { } ev ? $" on {ev.Examples} held-out rows" : "";
                        var status = r.Completed
                            ? $"acc {r.Accuracy:F4} loss {r.Loss:F4}{examples}{eps}"
                            : $"[yellow]aborted[/]: {Markup.Escape(r.AbortReason ?? "")}";
                        bar.Description = $"round {r.Round}/{plannedRounds}";
                        var faults = r.Refused + r.Rejected > 0 ? $"  refused {r.Refused}  rejected {r.Rejected}" : "";
                        if (r.StageCounts is { } sc)
                        {
                            faults += $" U1-5 {sc.AdvertiseKeys}/{sc.ShareKeys}/{sc.MaskedInput}/{sc.ConsistencyCheck}/{sc.Unmask}";
                        }

                        AnsiConsole.MarkupLine(
                            $"r{r.Round,-3} {status}  silos {r.Contributors}/{r.Participants.Count} drop {r.Dropouts}{faults}  {r.Duration.TotalMilliseconds:F0} ms");
                    });
                    return await FederationSimulation.RunAsync(options, progress, stop, Reason);
                });
            var table = new Table().AddColumn("result").AddColumn("value");
            table.AddRow("rounds completed", result.Outcome.RoundsCompleted.ToString(CultureInfo.InvariantCulture));
            table.AddRow(result.StudyHash is null ? "final accuracy" : "final accuracy (federated)", result.Outcome.FinalAccuracy.ToString("F4", CultureInfo.InvariantCulture));
            if (result.StudyHash is { } studyHash)
            {
                table.AddRow("study", $"{Markup.Escape(result.Dataset)} {studyHash}");
            }
            table.AddRow(options.EvaluateModelHash is null ? "final model" : "evaluated model", result.Outcome.FinalModelHash);
            switch (result.ExportedModel)
            {
                case { OnnxPath: { } onnx } m:
                    table.AddRow("exported model", Markup.Escape($"{onnx} (sha256 {m.Sha256}), {m.Architecture}; card: model.json beside it"));
                    break;
                case { Error: { } error }:
                    table.AddRow("[red]export refused[/]", Markup.Escape(error));
                    break;
            }

            if (double.IsFinite(result.Outcome.Epsilon))
            {
                table.AddRow("epsilon", $"{result.Outcome.Epsilon:F4} at delta {options.Delta:G3} ({options.Accountant})");
            }

            if (result.Outcome.StopReason is { } why)
            {
                table.AddRow("stopped early", Markup.Escape(why));
            }

            var fullOut = Path.GetFullPath(options.OutputDirectory);
            var html = Path.Combine(fullOut, Audit.Reports.ReportWriter.HtmlFileName);
            if (File.Exists(html))
            {
                table.AddRow("report", Markup.Escape($"{html} (epsilon and accuracy by round, verified ledger; {Audit.Reports.ReportWriter.JsonFileName} beside it)"));
            }

            table.AddRow("output", Markup.Escape(fullOut));
            AnsiConsole.Write(table);
            return Interrupted(result, interruption);
        }));
        return command;
    }

    /// <summary>
    /// After an interrupted run: one line on stderr saying what was kept and how to resume, and the signal's documented
    /// exit code (130 for SIGINT, 143 for SIGTERM); 0 after a run that reached its end.
    /// </summary>
    private static int Interrupted(SimulationResult result, Interruption interruption)
    {
        if (result.Interrupted is not { } reason)
        {
            return 0;
        }

        var dir = Path.GetDirectoryName(result.StorePath)!;
        var aborted = result.Outcome.Rounds.LastOrDefault() is { Completed: false } last && last.AbortReason == reason
            ? $"round {last.Round} recorded as aborted"
            : "no round was running";
        Console.Error.WriteLine(
            $"interrupted ({reason}): {result.Outcome.RoundsCompleted} rounds completed, {aborted}; summary.json and report.html written; " +
            $"resume with `securefed simulate --out {dir}`");
        return interruption.ExitCode;
    }

    private sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }
}
