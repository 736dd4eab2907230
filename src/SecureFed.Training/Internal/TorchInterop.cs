using System.Runtime.CompilerServices;
using TorchSharp;

namespace SecureFed.Training.Internal;

/// <summary>
/// The first touches of the <c>torch</c> type, kept in separate non-inlined methods so that nothing in
/// <see cref="TorchRuntime"/> triggers TorchSharp's native load before the compatibility shim is in place.
/// </summary>
internal static class TorchInterop
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void InitializeBackend()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or NotSupportedException or BadImageFormatException or EntryPointNotFoundException)
        {
            throw new InvalidOperationException(
                "The TorchSharp native runtime (libLibTorchSharp.so, libtorch) could not be loaded. On Debian 12 the copy next to the " +
                "application must have its GLIBCXX_3.4.32 requirement marked weak by the build (Directory.Build.targets at the " +
                "repository root; see build/torchsharp-debian12/README.md); check that the build ran with g++ available. " +
                $"Underlying error: {ex.GetBaseException().Message}",
                ex);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void SetThreads(int threads) => torch.set_num_threads(threads);
}
