using System.CommandLine;
using Microsoft.Extensions.Logging;
using SecureFed.Coordinator;
using SecureFed.Hosting;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed coordinator</c> and <c>securefed agent</c>: the two halves as separate processes.</summary>
internal static class ServeCommands
{
    /// <summary>Exit code of `securefed agent` when it stops on an error that retrying cannot fix.</summary>
    public const int GaveUp = 3;

    public static Command BuildCoordinator()
    {
        var config = new Option<string>("--config") { Description = "Coordinator configuration file (JSON, section \"Coordinator\"); SECUREFED_Coordinator__Name variables override it.", Required = true };
        var traceFile = new Option<string?>("--trace-file") { Description = "Write spans as JSON lines to this file. OTLP export is on when OTEL_EXPORTER_OTLP_ENDPOINT is set." };
        var command = new Command("coordinator", "Run the coordinator: gRPC over mutual TLS, rounds until the configured count, state in SQLite (resumes after a restart).") { config, traceFile };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var path = parse.GetValue(config)!;
            var file = CoordinatorConfig.Load(path);
            using var telemetry = Telemetry.Start("securefed-coordinator", parse.GetValue(traceFile));
            using var interruption = Interruption.Listen(ct);
            await using var host = Configured(path, () => file.Build(ConsoleLogging));
            try
            {
                await host.StartAsync(interruption.Token);
            }
            catch (IOException ex) when (IsAddressInUse(ex))
            {
                CliErrors.WriteError(
                    $"port {file.Port} on {file.ListenAddress} is in use; change Coordinator:Port (or Coordinator:ListenAddress) in {Path.GetFullPath(path)} or set SECUREFED_Coordinator__Port, or stop the process listening there");
                return CliErrors.Failed;
            }

            Console.Error.WriteLine($"coordinator listening on {host.Address}");
            FederationOutcome outcome;
            try
            {
                outcome = await host.Completion.WaitAsync(interruption.Token);
            }
            catch (OperationCanceledException) when (interruption.Requested)
            {
                // A clean stop: the attempt in progress is stored and signed as aborted before the process ends.
                await host.StopAsync(interruption.Reason);
                var next = host.Store.NextRoundNumber();
                var aborted = host.Store.Rounds().LastOrDefault() is { Status: "aborted" } last && last.AbortReason == interruption.Reason
                    ? $"round {last.Round} (attempt {last.Attempt}) recorded as aborted"
                    : "no round was running";
                var report = LedgerReport.WriteFor(file, host) is { } written ? $", report {written.HtmlPath}" : "";
                Console.Out.WriteLine(
                    $"coordinator stopped ({interruption.Reason}): {host.Store.CompletedRounds()} rounds completed, {aborted}; " +
                    $"run the same `securefed coordinator --config` again to resume at round {next} (store {host.Store.Path}, ledger {host.LedgerPath}{report})");
                return interruption.ExitCode;
            }

            if (LedgerReport.WriteFor(file, host) is { } files)
            {
                Console.Error.WriteLine($"wrote {files.HtmlPath}");
            }

            Console.Out.WriteLine($"federation complete: {outcome.RoundsCompleted} rounds, accuracy {outcome.FinalAccuracy:F4}, model {outcome.FinalModelHash}{StoppedEarly(outcome.StopReason)}");
            return 0;
        }));
        return command;
    }

    public static Command BuildAgent()
    {
        var config = new Option<string>("--config") { Description = "Agent configuration file (JSON, section \"Agent\"); SECUREFED_Agent__Name variables override it.", Required = true };
        var traceFile = new Option<string?>("--trace-file") { Description = "Write spans as JSON lines to this file. OTLP export is on when OTEL_EXPORTER_OTLP_ENDPOINT is set." };
        var command = new Command("agent", "Run a silo agent: dials out to the coordinator over mutual TLS, trains on local data, takes part in secure aggregation each round. Retries with backoff while the coordinator is unreachable; exits 0 when the federation completes, 3 on an error retrying cannot fix (not a member, wrong federation id, a coordinator certificate from another CA), 2 for a bad config, 1 otherwise.") { config, traceFile };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var path = parse.GetValue(config)!;
            var file = AgentConfig.Load(path);
            using var telemetry = Telemetry.Start("securefed-agent", parse.GetValue(traceFile));
            using var loggerFactory = LoggerFactory.Create(ConsoleLogging);
            using var agent = Configured(path, () => file.Build(loggerFactory.CreateLogger("SecureFed.Agent")));
            using var interruption = Interruption.Listen(ct, "stopping the agent");
            Agent.AgentOutcome outcome;
            try
            {
                outcome = await agent.RunAsync(interruption.Token);
            }
            catch (Agent.AgentGaveUpException ex)
            {
                // Documented: 3 = an error retrying cannot fix (membership, identity, federation id, another CA).
                CliErrors.WriteError($"giving up: {ex.Message}");
                return GaveUp;
            }

            Console.Out.WriteLine($"silo {outcome.SiloId}: federation complete after {outcome.RoundsCompleted} rounds ({outcome.RoundsParticipated} here), model {outcome.FinalModelHash}{StoppedEarly(outcome.StopReason)}");
            return 0;
        }));
        return command;
    }

    /// <summary>Builds from a loaded file; a value the options refuse ("option X = ... is invalid") also names the file.</summary>
    private static T Configured<T>(string path, Func<T> build)
    {
        try
        {
            return build();
        }
        catch (ArgumentException ex) when (ex.Message.StartsWith("option ", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Path.GetFullPath(path)}: {ex.Message}", ex);
        }
    }

    /// <summary>Kestrel's bind failure: an IOException around the socket's "address already in use".</summary>
    private static bool IsAddressInUse(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
                || e.GetType().Name == "AddressInUseException")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The end of the final line when the federation stopped before its planned rounds (the budget, or a refusal that
    /// left too few silos): still exit 0, a decided end, but said. The agent's copy comes from the coordinator: bounded.
    /// </summary>
    private static string StoppedEarly(string? reason) =>
        reason is null ? "" : $"; stopped early: {Identity.PeerText.Bound(reason, 400)}";

    private static void ConsoleLogging(ILoggingBuilder builder) =>
        builder.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }).SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning)
            // The host logs a failed start (a port in use, a bad store) with its stack trace; CliErrors prints that one line.
            .AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical)
            .AddFilter("Grpc", LogLevel.Warning);
}
