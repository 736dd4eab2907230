using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureFed.Privacy;
using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed privacy epsilon|calibrate</c>: the privacy accountants as a calculator, for planning a run before it
/// starts. Pure computation over SecureFed.Privacy; writes to the invocation's Output/Error (Console by default).
/// </summary>
internal static class PrivacyCommand
{
    /// <summary>Exit code for arguments that parse but are out of range (same as <see cref="CliErrors"/>).</summary>
    private const int BadInput = 2;

    /// <summary>Exit code of <c>privacy epsilon</c> when the accountant gives no finite epsilon at the delta.</summary>
    internal const int Unbounded = 3;

    /// <summary>What <c>--json</c> writes for an unbounded epsilon (JSON has no Infinity).</summary>
    internal const string InfinityJson = "infinity";

    public static Command Build()
    {
        var privacy = new Command("privacy", "Differential-privacy calculator: epsilon spent by a plan, or the noise multiplier a target epsilon needs.");
        privacy.Subcommands.Add(BuildEpsilon());
        privacy.Subcommands.Add(BuildCalibrate());
        return privacy;
    }

    private static Command BuildEpsilon()
    {
        var z = new Option<double>("--noise-multiplier") { Description = "Noise multiplier z: Gaussian noise standard deviation divided by the clipping norm (finite, > 0, written like 1.5).", Required = true, CustomParser = NumberOptions.ParseDouble };
        var q = SamplingRateOption();
        var rounds = RoundsOption();
        var delta = DeltaOption();
        var accountant = AccountantOption();
        var json = JsonOption();
        var command = new Command("epsilon", "Epsilon spent at --delta after --rounds rounds of the Gaussian mechanism with noise multiplier --noise-multiplier and sampling rate --sampling-rate. " +
            $"Exit codes: 0 epsilon is finite; 1 or 2 bad arguments; {Unbounded} epsilon is infinite (the accountant gives no finite bound at this --delta): one error line says why, and with --json the object also carries \"epsilon\": \"{InfinityJson}\".")
        {
            z, q, rounds, delta, accountant, json,
        };
        command.SetAction((parse, _) => CliErrors.RunAsync(() =>
        {
            var plan = new Plan(parse.GetValue(q), parse.GetValue(rounds), parse.GetValue(delta), PrivacyAccountants.ParseKind(parse.GetValue(accountant)!));
            var noise = parse.GetValue(z);
            var error = ValidateNoiseMultiplier(noise) ?? plan.Validate();
            if (error is not null)
            {
                return Task.FromResult(Fail(parse, error));
            }

            var spent = plan.Spend(noise);
            var output = parse.InvocationConfiguration.Output;
            bool bounded = double.IsFinite(spent.Epsilon);
            if (parse.GetValue(json))
            {
                output.WriteLine(ToJson(w =>
                {
                    WriteSpent(w, spent);
                    WritePlan(w, plan, noise);
                }));
            }
            else if (bounded)
            {
                var table = PlanTable(plan, noise);
                AddSpentRows(table, spent);
                Render(output, table, spent);
            }

            if (!bounded)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {WhyUnbounded(plan, noise)}");
                return Task.FromResult(Unbounded);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command BuildCalibrate()
    {
        var target = new Option<double>("--target-epsilon") { Description = "Epsilon the whole run may spend at --delta (finite, > 0, written like 1.5).", Required = true, CustomParser = NumberOptions.ParseDouble };
        var q = SamplingRateOption();
        var rounds = RoundsOption();
        var delta = DeltaOption();
        var accountant = AccountantOption();
        var json = JsonOption();
        var command = new Command("calibrate", "Smallest noise multiplier (to 1e-6, by bisection) that keeps --rounds rounds at sampling rate --sampling-rate within --target-epsilon at --delta.")
        {
            target, q, rounds, delta, accountant, json,
        };
        command.SetAction((parse, _) => CliErrors.RunAsync(() =>
        {
            var plan = new Plan(parse.GetValue(q), parse.GetValue(rounds), parse.GetValue(delta), PrivacyAccountants.ParseKind(parse.GetValue(accountant)!));
            var epsilon = parse.GetValue(target);
            var error = ValidateTargetEpsilon(epsilon) ?? plan.Validate();
            if (error is not null)
            {
                return Task.FromResult(Fail(parse, error));
            }

            double noise;
            try
            {
                noise = NoiseCalibrator.Calibrate(epsilon, plan.Delta, plan.Rounds, plan.SamplingRate, plan.Kind);
            }
            catch (ArgumentOutOfRangeException ex) when (ex.ParamName == "targetEpsilon")
            {
                // Arguments were validated above, so this is the one remaining refusal: the target is out of reach
                // with this accountant. Another one may be tighter (pld, or exact when every silo takes part).
                return Task.FromResult(Fail(parse, string.Create(
                    CultureInfo.InvariantCulture,
                    $"--target-epsilon {Format(epsilon)} cannot be met with --accountant {PrivacyAccountants.GetName(plan.Kind)}: at --delta {Format(plan.Delta)} over {plan.Rounds} rounds it would need --noise-multiplier above {Format(NoiseCalibrator.MaxNoiseMultiplier)}; {Alternative(plan, epsilon)}")));
            }

            var spent = plan.Spend(noise);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(ToJson(w =>
                {
                    w.WriteNumber("noise_multiplier", noise);
                    w.WriteNumber("target_epsilon", epsilon);
                    WriteSpent(w, spent);
                    WritePlan(w, plan, noise: null);
                }));
                return Task.FromResult(0);
            }

            var table = PlanTable(plan, noise: null);
            table.AddRow("target epsilon", Format(epsilon));
            table.AddRow("[bold]noise multiplier z[/]", $"[bold]{Format(noise)}[/]");
            AddSpentRows(table, spent);
            Render(output, table, spent);
            if (noise <= NoiseCalibrator.MinNoiseMultiplier)
            {
                output.WriteLine($"note: the target is met even at the smallest noise multiplier searched ({Format(NoiseCalibrator.MinNoiseMultiplier)}).");
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static Option<double> SamplingRateOption() => new("--sampling-rate")
    {
        Description = "Probability q that a silo (record) takes part in a round, in (0, 1]; 1 means every round. The exact accountant needs 1.",
        DefaultValueFactory = _ => 1.0,
        CustomParser = NumberOptions.ParseDouble,
    };

    private static Option<int> RoundsOption() => new("--rounds")
    {
        Description = "Number of rounds (mechanism applications), at least 1.",
        Required = true,
    };

    private static Option<double> DeltaOption() => new("--delta")
    {
        Description = "Delta of the (epsilon, delta) guarantee, in (0, 1), written like 1e-5; typically below 1/(number of records).",
        Required = true,
        CustomParser = NumberOptions.ParseDouble,
    };

    private static Option<string> AccountantOption()
    {
        var option = new Option<string>("--accountant")
        {
            Description = "rdp: Rényi DP of the sampled Gaussian (Opacus' orders and conversion), any sampling rate; exact: exact curve of the unsampled Gaussian, sampling rate 1 only; pld: privacy loss distributions composed by FFT (as Google's dp_accounting), any sampling rate, tighter than rdp and slower (under a second for 14063 rounds).",
            DefaultValueFactory = _ => "rdp",
        };
        option.AcceptOnlyFromAmong([.. PrivacyAccountants.Names]);
        return option;
    }

    private static Option<bool> JsonOption() => new("--json")
    {
        Description = "Print one JSON object on stdout instead of a table.",
    };

    private static string? ValidateNoiseMultiplier(double z) =>
        z > 0.0 && double.IsFinite(z) ? null : Invalid("--noise-multiplier", z, "must be a finite number > 0");

    private static string? ValidateTargetEpsilon(double epsilon) =>
        epsilon > 0.0 && double.IsFinite(epsilon) ? null : Invalid("--target-epsilon", epsilon, "must be a finite number > 0");

    private static string Invalid(string option, double value, string rule) => $"{option} {Format(value)} is invalid: {rule}";

    private static string WhyUnbounded(Plan plan, double noise)
    {
        string why = plan.Kind switch
        {
            AccountantKind.Rdp => "no Rényi order gives a finite bound (too little noise for this many rounds)",
            AccountantKind.Exact => "the composed Gaussian's epsilon exceeds what the exact accountant searches (far too little noise)",
            AccountantKind.Pld => "the probability of an unbounded privacy loss (the noise tails the PLD cuts at e^-50 per round, counted as infinite) exceeds delta",
            _ => throw new ArgumentOutOfRangeException(nameof(plan), plan.Kind, "unknown accountant"),
        };
        return string.Create(
            CultureInfo.InvariantCulture,
            $"epsilon is infinite with --accountant {PrivacyAccountants.GetName(plan.Kind)} at --noise-multiplier {Format(noise)}, --sampling-rate {Format(plan.SamplingRate)}, --rounds {plan.Rounds}, --delta {Format(plan.Delta)}: {why}; add noise, run fewer rounds or allow a larger --delta");
    }

    /// <summary>Names an accountant that can calibrate the plan when the chosen one cannot, or says none can.</summary>
    private static string Alternative(Plan plan, double epsilon)
    {
        foreach (var kind in Enum.GetValues<AccountantKind>())
        {
            if (kind == plan.Kind || (kind == AccountantKind.Exact && plan.SamplingRate != 1.0))
            {
                continue;
            }

            // One evaluation at the largest noise searched tells whether calibrating with this accountant can succeed.
            IReadOnlyList<(double z, double q, int steps)> mostNoise = [(NoiseCalibrator.MaxNoiseMultiplier, plan.SamplingRate, plan.Rounds)];
            if (!(PrivacyAccountants.ComputeEpsilon(kind, mostNoise, plan.Delta) <= epsilon))
            {
                continue;
            }

            try
            {
                double z = NoiseCalibrator.Calibrate(epsilon, plan.Delta, plan.Rounds, plan.SamplingRate, kind);
                return $"--accountant {PrivacyAccountants.GetName(kind)} reaches it with --noise-multiplier {Format(z)}";
            }
            catch (ArgumentOutOfRangeException ex) when (ex.ParamName == "targetEpsilon")
            {
                // Out of reach for this one too; try the next.
            }
        }

        return $"no accountant ({string.Join(", ", PrivacyAccountants.Names)}) reaches it; choose a larger epsilon or fewer rounds";
    }

    private static int Fail(ParseResult parse, string message)
    {
        // Plain text, not Spectre markup: the message must stay one line whatever the console width.
        parse.InvocationConfiguration.Error.WriteLine($"error: {message}");
        return BadInput;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string ToJson(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WritePlan(Utf8JsonWriter w, Plan plan, double? noise)
    {
        w.WriteString("accountant", PrivacyAccountants.GetName(plan.Kind));
        w.WriteNumber("delta", plan.Delta);
        if (noise is { } z)
        {
            w.WriteNumber("noise_multiplier", z);
        }

        w.WriteNumber("sampling_rate", plan.SamplingRate);
        w.WriteNumber("rounds", plan.Rounds);
    }

    private static void WriteSpent(Utf8JsonWriter w, Spent spent)
    {
        // JSON has no Infinity: an unbounded epsilon is the string "infinity" (and the exit code is Unbounded).
        if (double.IsFinite(spent.Epsilon))
        {
            w.WriteNumber("epsilon", spent.Epsilon);
        }
        else
        {
            w.WriteString("epsilon", InfinityJson);
        }

        if (spent.Rdp is { } rdp)
        {
            WriteFiniteOrNull(w, "best_order", rdp.Order);
            w.WriteBoolean("order_at_boundary", rdp.OrderAtBoundary);
        }

        if (spent.Mu is { } mu)
        {
            WriteFiniteOrNull(w, "mu", mu);
        }

        if (spent.Pld is { } pld)
        {
            w.WriteNumber("value_discretization_interval", pld.ValueDiscretizationInterval);
        }
    }

    private static void WriteFiniteOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static Table PlanTable(Plan plan, double? noise)
    {
        var table = new Table().AddColumn("privacy").AddColumn("value");
        table.AddRow("accountant", PrivacyAccountants.GetName(plan.Kind));
        if (noise is { } z)
        {
            table.AddRow("noise multiplier z", Format(z));
        }

        table.AddRow("sampling rate q", Format(plan.SamplingRate));
        table.AddRow("rounds", plan.Rounds.ToString(CultureInfo.InvariantCulture));
        table.AddRow("delta", Format(plan.Delta));
        return table;
    }

    private static void AddSpentRows(Table table, Spent spent)
    {
        table.AddRow("[bold]epsilon[/]", $"[bold]{spent.Epsilon.ToString("G7", CultureInfo.InvariantCulture)}[/]");
        if (spent.Rdp is { } rdp)
        {
            table.AddRow("best RDP order", rdp.Order.ToString("G6", CultureInfo.InvariantCulture));
        }

        if (spent.Mu is { } mu)
        {
            table.AddRow("Gaussian DP mu", mu.ToString("G7", CultureInfo.InvariantCulture));
        }

        if (spent.Pld is { } pld)
        {
            table.AddRow("PLD loss grid spacing", pld.ValueDiscretizationInterval.ToString("G3", CultureInfo.InvariantCulture));
        }
    }

    private static void Render(TextWriter output, Table table, Spent spent)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        console.Write(table);
        if (spent.Rdp is { OrderAtBoundary: true })
        {
            console.MarkupLine("[yellow]note:[/] the best RDP order is at the edge of the orders searched; the bound may be loose.");
        }
    }

    /// <summary>The part of a plan both subcommands share, validated with messages that name the option.</summary>
    private sealed record Plan(double SamplingRate, int Rounds, double Delta, AccountantKind Kind)
    {
        public string? Validate()
        {
            if (!(SamplingRate > 0.0 && SamplingRate <= 1.0))
            {
                return Invalid("--sampling-rate", SamplingRate, "must be in (0, 1]");
            }

            if (Rounds < 1)
            {
                return $"--rounds {Rounds.ToString(CultureInfo.InvariantCulture)} is invalid: must be at least 1";
            }

            if (!(Delta > 0.0 && Delta < 1.0))
            {
                return Invalid("--delta", Delta, "must be in (0, 1)");
            }

            if (Kind == AccountantKind.Exact && SamplingRate != 1.0)
            {
                return Invalid("--sampling-rate", SamplingRate, "the exact accountant composes unsampled rounds and needs --sampling-rate 1; use --accountant rdp for sampled rounds");
            }

            return null;
        }

        public Spent Spend(double noiseMultiplier)
        {
            IReadOnlyList<(double z, double q, int steps)> history = [(noiseMultiplier, SamplingRate, Rounds)];
            switch (Kind)
            {
                case AccountantKind.Rdp:
                    var rdp = RdpAccountant.ComputePrivacySpent(history, Delta);
                    return new Spent(rdp.Epsilon, rdp, Mu: null, Pld: null);
                case AccountantKind.Exact:
                    return new Spent(ExactGaussianAccountant.ComputeEpsilon(history, Delta), Rdp: null, ExactGaussianAccountant.ComputeMu(history), Pld: null);
                case AccountantKind.Pld:
                    var pld = PldAccountant.ComputePrivacySpent(history, Delta);
                    return new Spent(pld.Epsilon, Rdp: null, Mu: null, pld);
                default:
                    throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown accountant");
            }
        }
    }

    /// <summary>Epsilon spent, with the best RDP order (rdp), the Gaussian DP parameter mu (exact) or the PLD grid (pld).</summary>
    private sealed record Spent(double Epsilon, RdpEpsilon? Rdp, double? Mu, PldEpsilon? Pld);
}
