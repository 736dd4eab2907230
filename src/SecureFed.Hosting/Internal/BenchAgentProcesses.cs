using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// The benchmark's agents as child processes of the securefed CLI (<c>bench secagg-agent</c>), one per silo, each
/// printing its counters as one JSON object when the federation ends. Only the processes started here are stopped.
/// </summary>
internal sealed class BenchAgentProcesses : IAsyncDisposable
{
    private readonly List<(Process Process, StringBuilder Output, StringBuilder Errors, bool Dropped)> _children = [];

    /// <summary>Starts one child per silo; <paramref name="files"/> gives (certificate, key) per silo.</summary>
    public static BenchAgentProcesses Start(
        SecAggBenchAgentCommand command, Uri coordinator, string caFile, IReadOnlyList<(string Certificate, string Key)> files, int parameters, int dropped)
    {
        var children = new BenchAgentProcesses();
        for (var i = 0; i < files.Count; i++)
        {
            var info = new ProcessStartInfo(command.FileName)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in command.PrefixArguments)
            {
                info.ArgumentList.Add(a);
            }

            string[] args =
            [
                "bench", "secagg-agent", "--coordinator", coordinator.ToString(), "--cert", files[i].Certificate, "--key", files[i].Key,
                "--ca", caFile, "--seed", i.ToString(CultureInfo.InvariantCulture), "--params", parameters.ToString(CultureInfo.InvariantCulture),
            ];
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            var drop = i >= files.Count - dropped;
            if (drop)
            {
                info.ArgumentList.Add("--drop-at-masked-input");
            }

            // The parent's configuration overrides must not reach the children.
            foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("SECUREFED_", StringComparison.OrdinalIgnoreCase)).ToList())
            {
                info.Environment.Remove(key);
            }

            // Every method compiled once, fully optimised, at its first call: a fresh agent process otherwise spends
            // the benchmark recompiling at its higher tiers (a CPU profile of 10 agents showed the runtime's tiering
            // compiler on half of an agent's CPU through all 11 rounds, warm-up included), and its measured round
            // then counts the JIT, not the client. A caller's own setting of the variable is kept.
            info.Environment.TryAdd("DOTNET_TieredCompilation", "0");

            var process = new Process { StartInfo = info };
            var output = new StringBuilder();
            var errors = new StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.AppendLine(e.Data); } } };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            children._children.Add((process, output, errors, drop));
        }

        return children;
    }

    /// <summary>
    /// Waits for the children that did not drop to exit and returns their JSON; the dropped ones are stopped.
    /// </summary>
    /// <exception cref="InvalidOperationException">A child failed or printed no result; the message holds its last error line.</exception>
    public async Task<IReadOnlyList<JsonObject>> CollectAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var results = new List<JsonObject>();
        foreach (var (process, output, errors, dropped) in _children)
        {
            if (dropped)
            {
                continue;
            }

            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new InvalidOperationException($"a benchmark agent (process {process.Id}) did not end within {timeout.TotalSeconds:0} s of the federation");
            }

            string text, error;
            lock (output)
            {
                text = output.ToString();
            }

            lock (errors)
            {
                error = errors.ToString().Trim();
            }

            var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
            if (process.ExitCode != 0 || line is null)
            {
                var last = error.Split('\n').LastOrDefault() ?? "";
                throw new InvalidOperationException($"a benchmark agent (process {process.Id}) exited with {process.ExitCode} and no result: {last}");
            }

            results.Add(JsonNode.Parse(line)!.AsObject());
        }

        return results;
    }

    /// <summary>The last error line of the first child that has exited with a failure, or null.</summary>
    public string? FirstFailure()
    {
        foreach (var (process, _, errors, _) in _children)
        {
            if (process.HasExited && process.ExitCode != 0)
            {
                lock (errors)
                {
                    return $"a benchmark agent (process {process.Id}) exited with {process.ExitCode}: {errors.ToString().Trim().Split('\n').LastOrDefault()}";
                }
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _, _, _) in _children)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException)
            {
                // already gone
            }

            process.Dispose();
        }
    }
}
