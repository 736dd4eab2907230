using System.CommandLine;
using SecureFed.Cli.Commands;

namespace SecureFed.Cli;

/// <summary>Entry point of the <c>securefed</c> command.</summary>
public static class Program
{
    /// <summary>Parses the arguments and runs the chosen command.</summary>
    /// <remarks>
    /// System.CommandLine's own SIGINT/SIGTERM handling is off: it would end the process two seconds after the signal,
    /// in the middle of a clean stop. The long-running commands (simulate, coordinator, agent) take the signals
    /// themselves (<see cref="Interruption"/>); the others end as the signal's default does.
    /// </remarks>
    public static Task<int> Main(string[] args) =>
        BuildRoot().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

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
}
