using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// The benchmark's agents as child processes of the securefed CLI (<c>bench secagg-agent</c>), one per silo or the silos
/// spread over fewer, each printing its silos' counters as one JSON object when the federation ends. Dropped silos
/// never share a process with silos that stay. Only the processes started here are stopped.
/// </summary>
internal sealed class BenchAgentProcesses : IAsyncDisposable
{
    private readonly List<(Process Process, StringBuilder Output, StringBuilder Errors, bool Dropped)> _children = [];

    /// <summary>Starts the children; <paramref name="files"/> gives (certificate, key) per silo, the last <paramref name="dropped"/> of
    /// them dropping; <paramref name="processes"/> spreads the silos over that many children (null: one each).</summary>
    public static BenchAgentProcesses Start(
        SecAggBenchAgentCommand command, Uri coordinator, string caFile, IReadOnlyList<(string Certificate, string Key)> files, int parameters, int dropped,
        int? processes = null)
    {
        var children = new BenchAgentProcesses();
        var staying = files.Count - dropped;
        var groups = Spread(0, staying, processes ?? files.Count).Concat(Spread(staying, dropped, processes ?? files.Count));
        foreach (var group in groups)
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
                "bench", "secagg-agent", "--coordinator", coordinator.ToString(), "--ca", caFile, "--params", parameters.ToString(CultureInfo.InvariantCulture),
                .. group.SelectMany(i => new[] { "--cert", files[i].Certificate, "--key", files[i].Key, "--seed", i.ToString(CultureInfo.InvariantCulture) }),
            ];
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            var drop = group[0] >= staying;
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

    /// <summary>Silos <paramref name="first"/>.. (<paramref name="count"/> of them) in consecutive groups, at most
    /// <paramref name="processes"/> of them, as even as they divide.</summary>
    private static IEnumerable<int[]> Spread(int first, int count, int processes)
    {
        var groups = Math.Min(count, processes);
        for (var g = 0; g < groups; g++)
        {
            var (from, to) = (first + (count * g / groups), first + (count * (g + 1) / groups));
            yield return [.. Enumerable.Range(from, to - from)];
        }
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
