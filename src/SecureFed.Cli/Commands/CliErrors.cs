using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary>Turns exceptions into one clear line on stderr and an exit code: 2 for bad input, 1 for failures.</summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException)
        {
            WriteError(ex.Message);
            return 2;
        }
        catch (OperationCanceledException)
        {
            WriteError("cancelled");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException or Grpc.Core.RpcException)
        {
            WriteError(ex.Message);
            return 1;
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
}
