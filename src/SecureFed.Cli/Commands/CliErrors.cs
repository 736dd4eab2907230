using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using SecureFed.Protocol;
using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary>
/// The one place where exceptions become a line on stderr and an exit code: <see cref="Usage"/> (2) for bad input
/// (an option, a configuration file, a missing input file), <see cref="Failed"/> (1) for what went wrong while running
/// (I/O, a peer, a certificate, a refused round). A user's mistake never prints a stack trace. Anything else is a bug:
/// one line naming the exception, its full trace written to a file in the temporary folder (and to stderr with
/// <c>SECUREFED_DEBUG=1</c>), exit 1.
/// </summary>
internal static class CliErrors
{
    /// <summary>Exit code: done.</summary>
    public const int Ok = 0;

    /// <summary>Exit code: failed while running.</summary>
    public const int Failed = 1;

    /// <summary>Exit code: bad usage or input (an option, a value, a configuration file).</summary>
    public const int Usage = 2;

    /// <summary>Environment variable that prints an unexpected exception's full trace on stderr.</summary>
    public const string DebugVariable = "SECUREFED_DEBUG";

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException)
        {
            WriteError(ex.Message);
            return Usage;
        }
        catch (OperationCanceledException)
        {
            WriteError("cancelled");
            return 130;
        }
        catch (Grpc.Core.RpcException ex)
        {
            // Status(StatusCode="Unavailable", Detail=..., DebugException=...) is for developers; a person reads the code and why.
            var cause = ex.Status.DebugException?.GetBaseException().Message is { Length: > 0 } m && !ex.Status.Detail.Contains(m, StringComparison.Ordinal) ? $" ({m})" : "";
            WriteError($"{ex.StatusCode}: {ex.Status.Detail}{cause}");
            return Failed;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException
            or CryptographicException or DbException or SecureFedException or ModelExport.ExportRefusedException)
        {
            WriteError(ex.Message);
            return Failed;
        }
        catch (Exception ex)
        {
            WriteUnexpected(ex);
            return Failed;
        }
    }

    public static void WriteError(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        if (Console.IsErrorRedirected)
        {
            // Plain and unwrapped: Spectre wraps at its assumed width (80) when it cannot see a terminal, which cuts the
            // one line a log collector or a script reads into several.
            Console.Error.WriteLine($"error: {line}");
            return;
        }

        var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        stderr.MarkupLine($"[red]error:[/] {Markup.Escape(line)}");
    }

    /// <summary>A bug: one line, and the trace kept where a bug report can quote it.</summary>
    private static void WriteUnexpected(Exception ex)
    {
        var trace = ex.ToString();
        if (Environment.GetEnvironmentVariable(DebugVariable) == "1")
        {
            WriteError($"unexpected {ex.GetType().Name}: {ex.Message} (a bug; full trace below)");
            Console.Error.WriteLine(trace);
            return;
        }

        string where;
        try
        {
            var file = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"securefed-error-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.txt"));
            File.WriteAllText(file, trace);
            where = $"full trace in {file}";
        }
        catch (Exception io) when (io is IOException or UnauthorizedAccessException)
        {
            where = "the trace could not be written to the temporary folder";
        }

        WriteError($"unexpected {ex.GetType().Name}: {ex.Message} (a bug; {where}; set {DebugVariable}=1 to print it here)");
    }
}
