using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// The store where a user meets it, as real `securefed coordinator` processes: one coordinator per store (the second is
/// refused naming the holder's pid, and a kill -9 releases the lock by itself), and a read-only or full disk is one line
/// with exit code 1, never a stack trace.
/// </summary>
/// <remarks>
/// Tests run as root in CI, and root ignores chmod; there the store is made read-only with the immutable attribute
/// (chattr +i, which binds root too), elsewhere with chmod. The full disk is a 512 KiB tmpfs, which needs root
/// (CAP_SYS_ADMIN) to mount; the test fails saying so where it cannot.
/// </remarks>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // chmod, chattr, tmpfs
public sealed class StoreProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("securefed-store-").FullName;
    private readonly List<ChildProcess> _processes = [];
    private readonly List<Action> _cleanup = [];

    [Fact]
    public async Task A_second_coordinator_on_the_store_is_refused_naming_the_pid_and_a_kill_9_releases_the_lock()
    {
        var config = await ConfigureAsync(Path.Combine(_dir, "store", "federation.db"));
        var first = Start("coordinator-1", "coordinator", "--config", config);
        Assert.True(await first.WaitForOutputAsync("coordinator listening on", StepTimeout), first.Transcript());

        var second = Start("coordinator-2", "coordinator", "--config", config);
        Assert.True(await second.WaitForExitAsync(StepTimeout), second.Transcript());
        Assert.Equal(1, second.ExitCode);
        var line = OneErrorLine(second);
        Assert.Contains(Path.Combine(_dir, "store", "federation.db"), line, StringComparison.Ordinal);
        Assert.Contains($"pid {first.Pid} on", line, StringComparison.Ordinal);
        Assert.False(first.HasExited, first.Transcript());

        first.Kill(); // SIGKILL: nothing of the process runs after it, so only the kernel can release the lock
        Assert.True(first.HasExited);
        var third = Start("coordinator-3", "coordinator", "--config", config);
        Assert.True(await third.WaitForOutputAsync("coordinator listening on", StepTimeout), third.Transcript());
    }

    [Fact]
    public async Task A_read_only_store_is_one_line_and_exit_code_1()
    {
        var folder = Path.Combine(_dir, "ro");
        var store = Path.Combine(folder, "federation.db");
        var config = await ConfigureAsync(store);
        var creating = Start("coordinator-create", "coordinator", "--config", config);
        Assert.True(await creating.WaitForOutputAsync("coordinator listening on", StepTimeout), creating.Transcript());
        creating.Kill();

        // The database files read-only, its folder and lock files still writable: SQLite's own refusal to write.
        MakeReadOnly([.. Directory.GetFiles(folder).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal) && !f.EndsWith(".owner", StringComparison.Ordinal))]);
        var files = Start("coordinator-ro-files", "coordinator", "--config", config);
        Assert.True(await files.WaitForExitAsync(StepTimeout), files.Transcript());
        Assert.Equal(1, files.ExitCode);
        var line = OneErrorLine(files);
        Assert.Contains(store, line, StringComparison.Ordinal);
        Assert.Contains("read-only", line, StringComparison.Ordinal);

        // Everything read-only, the folder included (read-only storage).
        MakeReadOnly([.. Directory.GetFiles(folder).Where(f => f.EndsWith(".lock", StringComparison.Ordinal) || f.EndsWith(".owner", StringComparison.Ordinal)), folder]);
        var all = Start("coordinator-ro-folder", "coordinator", "--config", config);
        Assert.True(await all.WaitForExitAsync(StepTimeout), all.Transcript());
        Assert.Equal(1, all.ExitCode);
        Assert.Contains(store, OneErrorLine(all), StringComparison.Ordinal);
    }

    [RootFact]
    public async Task A_full_disk_is_one_line_and_exit_code_1()
    {
        var mount = Path.Combine(_dir, "tiny");
        Directory.CreateDirectory(mount);
        var mounted = Run("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mount);
        Assert.True(mounted.Code == 0, $"this test needs root (CAP_SYS_ADMIN) to mount a 512 KiB tmpfs: {mounted.Output}");
        _cleanup.Add(() => Run("umount", "-l", mount));

        var store = Path.Combine(mount, "federation.db");
        var config = await ConfigureAsync(store);
        Fill(mount);
        var coordinator = Start("coordinator-full", "coordinator", "--config", config);
        Assert.True(await coordinator.WaitForExitAsync(StepTimeout), coordinator.Transcript());
        Assert.Equal(1, coordinator.ExitCode);
        var line = OneErrorLine(coordinator);
        Assert.Contains(store, line, StringComparison.Ordinal);
        Assert.Contains("disk is full", line, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        foreach (var undo in Enumerable.Reverse(_cleanup))
        {
            undo();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
        catch (UnauthorizedAccessException)
        {
            // best effort
        }
    }

    /// <summary>Fills the file system at <paramref name="folder"/> to the last byte.</summary>
    private static void Fill(string folder)
    {
        using var filler = new FileStream(Path.Combine(folder, "filler"), FileMode.Create);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                filler.Write(block);
                filler.Flush(true);
            }
        }
        catch (IOException)
        {
            // full
        }
    }

    /// <summary>Makes <paramref name="paths"/> read-only for this user, root included, and checks that it holds.</summary>
    private void MakeReadOnly(IReadOnlyList<string> paths)
    {
        foreach (var path in paths)
        {
            if (Environment.IsPrivilegedProcess)
            {
                var set = Run("chattr", "+i", path);
                Assert.True(set.Code == 0, $"chattr +i {path} failed (root ignores chmod, so this needs a file system with the immutable attribute): {set.Output}");
                _cleanup.Add(() => Run("chattr", "-i", path));
            }
            else
            {
                var mode = File.GetUnixFileMode(path);
                File.SetUnixFileMode(path, mode & ~(UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
                _cleanup.Add(() => File.SetUnixFileMode(path, mode));
            }

            var writable = Directory.Exists(path) ? CanCreateIn(path) : CanOpenForWriting(path);
            Assert.False(writable, $"{path} is still writable");
        }
    }

    private static bool CanOpenForWriting(string file)
    {
        try
        {
            using var _ = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool CanCreateIn(string folder)
    {
        try
        {
            File.WriteAllText(Path.Combine(folder, "probe"), "");
            File.Delete(Path.Combine(folder, "probe"));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The single line the process wrote to stderr: an error, no stack trace.</summary>
    private string OneErrorLine(ChildProcess process)
    {
        var lines = process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        output.WriteLine($"{process.Name}: {string.Join(" | ", lines)}");
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal));
        var line = Assert.Single(lines);
        Assert.StartsWith("error:", line, StringComparison.Ordinal);
        return line;
    }

    /// <summary>Development certificates and a coordinator configuration for the hospitals study with its store at <paramref name="store"/>.</summary>
    private async Task<string> ConfigureAsync(string store)
    {
        var certs = Path.Combine(_dir, "certs");
        if (!Directory.Exists(certs))
        {
            using var init = Start("certs", "certs", "init", "--out", certs, "--silos", "3");
            Assert.True(await init.WaitForExitAsync(StepTimeout), init.Transcript());
            Assert.True(init.ExitCode == 0, init.Transcript());
        }

        var path = Path.Combine(_dir, $"coordinator-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, new JsonObject
        {
            ["Coordinator"] = new JsonObject
            {
                ["FederationId"] = "store-test",
                ["ListenAddress"] = "127.0.0.1",
                ["Port"] = ProcessConsortium.FreePort(),
                ["Rounds"] = 1,
                ["MinSilos"] = 2,
                ["TargetSilos"] = 3,
                ["Members"] = new JsonArray("silo-1", "silo-2", "silo-3"),
                ["Study"] = RepoPaths.File("data", "hospitals", "study.json"),
                ["StorePath"] = store,
                ["Certificate"] = Path.Combine(certs, "coordinator.pem"),
                ["PrivateKey"] = Path.Combine(certs, "coordinator.key.pem"),
                ["CaCertificate"] = Path.Combine(certs, "ca.pem"),
                ["JoinTimeoutSeconds"] = 600,
            },
        }.ToJsonString());
        return path;
    }

    private ChildProcess Start(string name, params string[] args)
    {
        var p = ChildProcess.Start(name, ProcessConsortium.LocateCli(), _dir, null, args);
        _processes.Add(p);
        return p;
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(info)!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, text.Trim());
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
