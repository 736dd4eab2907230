using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using SecureFed.Cli.Commands;

namespace SecureFed.Cli;

/// <summary>Entry point of the <c>securefed</c> command.</summary>
public static class Program
{
    /// <summary>Parses the arguments and runs the chosen command; exit codes as in <see cref="CliErrors"/>.</summary>
    public static Task<int> Main(string[] args) => RunAsync(BuildRoot(), args);

    /// <summary>
    /// Runs <paramref name="root"/> on <paramref name="args"/>. A parse error prints its error lines (with
    /// System.CommandLine's typo suggestions) and where the help is, not the whole help, and exits
    /// <see cref="CliErrors.Usage"/>.
    /// </summary>
    public static Task<int> RunAsync(RootCommand root, string[] args)
    {
        ArgumentNullException.ThrowIfNull(root);
        var result = root.Parse(args);
        if (result.Action is ParseErrorAction parseError)
        {
            parseError.ShowHelp = false;
            parseError.Invoke(result);
            Console.Error.WriteLine($"see `{CommandPath(result.CommandResult)} --help`");
            return Task.FromResult(CliErrors.Usage);
        }

        // Off: System.CommandLine's own exception handler prints the stack trace; CliErrors decides what a person sees.
        // Off too: its SIGINT/SIGTERM handling ends the process two seconds after the signal, in the middle of a clean
        // stop. The long-running commands (simulate, coordinator, agent) take the signals themselves (Interruption);
        // the others end as the signal's default does.
        return CliErrors.RunAsync(() => result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }));
    }

    /// <summary>The command tree (exposed for tests of help text and parsing).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "SecureFed: privacy-hardened federated learning for regulated consortia. " +
            "Silos train locally; the coordinator, reached over mutual TLS, aggregates their updates.");
        root.Subcommands.Add(SimulateCommand.Build());
        root.Subcommands.Add(CertsCommand.Build());
        root.Subcommands.Add(ServeCommands.BuildCoordinator());
        root.Subcommands.Add(ServeCommands.BuildAgent());
        root.Subcommands.Add(HealthCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(PrivacyCommand.Build());
        root.Subcommands.Add(AuditCommand.Build());
        root.Subcommands.Add(DataCommand.Build());
        root.Subcommands.Add(ModelCommand.Build());
        root.Subcommands.Add(PredictCommand.Build());
        return root;
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? at = command; at is not null; at = at.Parent)
        {
            if (at is CommandResult c)
            {
                names.Add(c.Command is RootCommand ? "securefed" : c.Command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
