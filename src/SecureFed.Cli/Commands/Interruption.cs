using System.Runtime.InteropServices;

namespace SecureFed.Cli.Commands;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM for a long-running command: the first one cancels <see cref="Token"/> so the command
/// stops cleanly (the attempt in progress recorded as aborted, summary and report written); a second one exits at once
/// with the same code. System.CommandLine's own handling is off (Program.Main): it would end the process two seconds
/// after the signal, in the middle of the clean stop.
/// </summary>
/// <remarks>Thread-safe: signals arrive on their own threads.</remarks>
internal sealed class Interruption : IDisposable
{
    /// <summary>Exit code after SIGINT (128 + 2): interrupted cleanly, resumable.</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>Exit code after SIGTERM (128 + 15): interrupted cleanly, resumable.</summary>
    public const int TerminatedExitCode = 143;

    private readonly CancellationTokenSource _cts;
    private readonly PosixSignalRegistration _sigInt;
    private readonly PosixSignalRegistration _sigTerm;
    private int _signals;
    private volatile string? _signal;

    private readonly string _stopping;

    private Interruption(CancellationToken outer, string stopping)
    {
        _stopping = stopping;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _sigInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM (or by <c>outer</c>).</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Whether a signal asked the command to stop.</summary>
    public bool Requested => _signal is not null;

    /// <summary>The abort reason stored and signed for the attempt the signal stopped.</summary>
    public string Reason => $"interrupted by the operator ({_signal ?? "cancelled"})";

    /// <summary>The documented exit code for the signal received: 130 (SIGINT) or 143 (SIGTERM).</summary>
    public int ExitCode => _signal == "SIGTERM" ? TerminatedExitCode : InterruptedExitCode;

    /// <summary>Starts listening for SIGINT and SIGTERM until disposed; <paramref name="stopping"/> says what the first one does.</summary>
    public static Interruption Listen(CancellationToken outer, string stopping = "stopping after recording the round in progress as aborted") => new(outer, stopping);

    private void OnSignal(PosixSignalContext context)
    {
        // Taken here: the runtime's default (ending the process) does not run.
        context.Cancel = true;
        var name = context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
        if (Interlocked.Increment(ref _signals) > 1)
        {
            // Bounded: the second signal does not wait for the clean stop. The store stays consistent (SQLite
            // transactions); the attempt in progress is marked interrupted and charged when the federation resumes.
            Console.Error.WriteLine($"{name} again: exiting at once; the attempt in progress is recorded as interrupted when the federation resumes");
            Environment.Exit(ExitCode);
            return;
        }

        _signal = name;
        Console.Error.WriteLine($"{name}: {_stopping} (send it again to exit at once)");
        // Cancelling runs the token's callbacks; not on the signal thread, which must stay free for a second signal.
        ThreadPool.QueueUserWorkItem(
            static cts =>
            {
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // the command already finished
                }
            },
            _cts,
            preferLocal: false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _sigInt.Dispose();
        _sigTerm.Dispose();
        _cts.Dispose();
    }
}
