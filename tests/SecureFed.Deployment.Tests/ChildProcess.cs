using System.Diagnostics;
using System.Text;

namespace SecureFed.Deployment.Tests;

/// <summary>A <c>dotnet securefed.dll ...</c> child process whose stdout and stderr are captured line by line.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly object _gate = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    // A test run started in the background by a shell without job control (`nohup .ci/run &`) inherits SIGINT
    // ignored, and the runtime keeps an ignored SIGINT ignored, so the Ctrl-C tests would see a CLI that never
    // stops. coreutils' env (8.31 and later) restores the default before it runs dotnet; without it, children start
    // as before.
    private static readonly Lazy<string?> SignalReset = new(() =>
    {
        const string option = "--default-signal=INT";
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("/usr/bin/env") { ArgumentList = { option, "true" }, UseShellExecute = false, RedirectStandardError = true })!;
            probe.StandardError.ReadToEnd();
            probe.WaitForExit();
            return probe.ExitCode == 0 ? option : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    });

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The operating system's process id.</summary>
    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the CLI (<paramref name="cli"/> is securefed.dll) with the given arguments and extra environment variables.</summary>
    public static ChildProcess Start(string name, string cli, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo(SignalReset.Value is null ? "dotnet" : "/usr/bin/env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (SignalReset.Value is { } reset)
        {
            // env execs dotnet in place, so the process id stays the one the tests signal.
            info.ArgumentList.Add(reset);
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(cli);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        // Nothing from the test's own environment overrides the files written by the test.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("SECUREFED_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Append(child._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(child._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until stdout or stderr holds <paramref name="text"/>; false on timeout or if the process exits first.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Contains(text))
            {
                return true;
            }

            if (_process.HasExited)
            {
                _process.WaitForExit(); // drains the output readers
                return Contains(text);
            }

            await Task.Delay(50);
        }

        return Contains(text);
    }

    /// <summary>Waits for exit; false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sends the signal <paramref name="name"/> (INT, TERM) to the process, as `kill -s NAME` does.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start(new ProcessStartInfo("/bin/kill") { ArgumentList = { "-s", name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {name} {_process.Id} exited {kill.ExitCode}");
        }
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>Everything the process printed, for failure messages.</summary>
    public string Transcript() => $"--- {Name} stdout ---\n{Stdout}\n--- {Name} stderr ---\n{Stderr}\n";

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private bool Contains(string text)
    {
        lock (_gate)
        {
            return _stdout.ToString().Contains(text, StringComparison.Ordinal) || _stderr.ToString().Contains(text, StringComparison.Ordinal);
        }
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            target.AppendLine(line);
        }
    }
}
