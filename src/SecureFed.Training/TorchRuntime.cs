using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>
/// One-time preparation of the TorchSharp native runtime. On systems whose libstdc++ lacks GLIBCXX_3.4.32
/// (Debian 12), TorchSharp 0.107.0's libLibTorchSharp.so only loads after the build has marked that version
/// requirement weak and a small shim defining <c>std::ios_base_library_init</c> has been loaded with
/// RTLD_NOW | RTLD_GLOBAL (see <c>build/torchsharp-debian12/README.md</c>); this type loads that shim, then the
/// torch backend. Every entry point of this library that reaches torch (<see cref="LocalTrainer.Train"/>,
/// <see cref="Evaluator.Evaluate"/>) calls <see cref="EnsureInitialized"/> first. Data loading, splitting, partitioning,
/// standardization, <see cref="ModelFactory"/> and <see cref="ParameterVector"/> are plain managed code and deliberately
/// do not load libtorch, so a coordinator or aggregation code can use them without the native runtime.
/// Thread-safe and idempotent.
/// </summary>
public static class TorchRuntime
{
    /// <summary>Upper bound accepted for the intra-op thread count.</summary>
    public const int MaxThreads = 1024;

    private static readonly Lock Gate = new();
    private static volatile bool s_initialized;
    private static string? s_shimPath;

    /// <summary>
    /// Full path of the compatibility shim that was loaded, or <see langword="null"/> when none was needed
    /// (the system libstdc++ already provides GLIBCXX_3.4.32, or the platform is not Linux) or
    /// <see cref="EnsureInitialized"/> has not run yet.
    /// </summary>
    public static string? CompatibilityShimPath => s_shimPath;

    /// <summary>Whether <see cref="EnsureInitialized"/> has completed successfully in this process.</summary>
    public static bool IsInitialized => s_initialized;

    /// <summary>
    /// Loads the compatibility shim when present and needed, then the torch CPU backend; if
    /// <paramref name="threads"/> is given, sets torch's intra-op thread count (process-wide) to it.
    /// Safe to call any number of times from any thread; the native part runs once.
    /// </summary>
    /// <param name="threads">Intra-op threads for torch (1..<see cref="MaxThreads"/>), or null to leave it unchanged.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">The native runtime cannot be loaded; the message says why and how to fix it.</exception>
    public static void EnsureInitialized(int? threads = null)
    {
        if (threads is int requested)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(requested, 1, nameof(threads));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(requested, MaxThreads, nameof(threads));
        }
        else if (s_initialized)
        {
            return;
        }

        lock (Gate)
        {
            if (!s_initialized)
            {
                s_shimPath = NativeCompat.LoadShimIfNeeded();
                TorchInterop.InitializeBackend();
                s_initialized = true;
            }

            if (threads is int n)
            {
                TorchInterop.SetThreads(n);
            }
        }
    }
}
