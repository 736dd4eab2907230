using System.Runtime.InteropServices;

namespace SecureFed.Training.Internal;

/// <summary>
/// Loads <c>libstdcxx_ios_shim.so</c> (built next to libLibTorchSharp.so by the repository's Directory.Build.targets)
/// with RTLD_NOW | RTLD_GLOBAL when the process's libstdc++ lacks GLIBCXX_3.4.32, so the weak-versioned reference
/// to <c>std::ios_base_library_init</c> in the patched libLibTorchSharp.so binds to it. Callers serialize.
/// </summary>
internal static unsafe class NativeCompat
{
    internal const string ShimFileName = "libstdcxx_ios_shim.so";
    internal const string ShimPathVariable = "SECUREFED_TORCH_SHIM";
    internal const string RequiredVersion = "GLIBCXX_3.4.32";
    private const string Symbol = "_ZSt21ios_base_library_initv";
    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    /// <summary>Returns the loaded shim's path, or null when no shim is needed.</summary>
    internal static string? LoadShimIfNeeded()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var dl = DynamicLoader.Open();
        if (dl.SystemLibStdCxxHasVersion())
        {
            return null;
        }

        var candidates = ShimCandidates();
        var shim = candidates.FirstOrDefault(File.Exists);
        if (shim is null)
        {
            throw new InvalidOperationException(
                $"TorchSharp's native library needs {RequiredVersion}, which this system's libstdc++ lacks (Debian 12 stops at 3.4.30), " +
                $"and the compatibility shim {ShimFileName} was not found. Looked in: {string.Join(", ", candidates)}. " +
                "Build the application inside the SecureFed repository with g++ installed: its Directory.Build.targets patches " +
                "libLibTorchSharp.so and builds the shim next to it (see build/torchsharp-debian12/README.md), " +
                $"or set {ShimPathVariable} to the shim's path.");
        }

        dl.OpenGlobal(shim);
        return shim;
    }

    internal static IReadOnlyList<string> ShimCandidates()
    {
        var list = new List<string>();
        var fromEnvironment = Environment.GetEnvironmentVariable(ShimPathVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            list.Add(Path.GetFullPath(fromEnvironment));
        }

        var roots = new List<string> { AppContext.BaseDirectory };
        AddAssemblyDirectory(roots, typeof(NativeCompat).Assembly.Location);
        AddAssemblyDirectory(roots, typeof(TorchSharp.torch).Assembly.Location);
        foreach (var root in roots.Distinct(StringComparer.Ordinal))
        {
            // The shim sits next to libLibTorchSharp.so: runtimes/<rid>/native for portable builds, the root for RID-specific ones.
            list.Add(Path.GetFullPath(Path.Combine(root, "runtimes", "linux-x64", "native", ShimFileName)));
            list.Add(Path.GetFullPath(Path.Combine(root, ShimFileName)));
        }

        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    private static void AddAssemblyDirectory(List<string> roots, string assemblyLocation)
    {
        if (!string.IsNullOrEmpty(assemblyLocation))
        {
            var dir = Path.GetDirectoryName(assemblyLocation);
            if (!string.IsNullOrEmpty(dir))
            {
                roots.Add(dir);
            }
        }
    }

    /// <summary>glibc's dlopen/dlvsym/dlerror through function pointers (libc.so.6 since glibc 2.34, libdl.so.2 before).</summary>
    private readonly struct DynamicLoader
    {
        private readonly delegate* unmanaged<byte*, int, nint> _dlopen;
        private readonly delegate* unmanaged<nint, byte*, byte*, nint> _dlvsym;
        private readonly delegate* unmanaged<byte*> _dlerror;

        private DynamicLoader(nint dlopen, nint dlvsym, nint dlerror)
        {
            _dlopen = (delegate* unmanaged<byte*, int, nint>)dlopen;
            _dlvsym = (delegate* unmanaged<nint, byte*, byte*, nint>)dlvsym;
            _dlerror = (delegate* unmanaged<byte*>)dlerror;
        }

        internal static DynamicLoader Open()
        {
            foreach (var name in new[] { "libc.so.6", "libdl.so.2" })
            {
                if (NativeLibrary.TryLoad(name, out var lib)
                    && NativeLibrary.TryGetExport(lib, "dlopen", out var open)
                    && NativeLibrary.TryGetExport(lib, "dlvsym", out var vsym)
                    && NativeLibrary.TryGetExport(lib, "dlerror", out var error))
                {
                    return new DynamicLoader(open, vsym, error);
                }
            }

            throw new InvalidOperationException("Cannot find dlopen/dlvsym in libc.so.6 or libdl.so.2; only glibc-based Linux is supported.");
        }

        /// <summary>True when the libstdc++.so.6 this process resolves defines the symbol under GLIBCXX_3.4.32.</summary>
        internal bool SystemLibStdCxxHasVersion()
        {
            var handle = Call("libstdc++.so.6", RtldNow);
            if (handle == 0)
            {
                return false;
            }

            fixed (byte* sym = NullTerminated(Symbol))
            fixed (byte* ver = NullTerminated(RequiredVersion))
            {
                return _dlvsym(handle, sym, ver) != 0;
            }
        }

        internal void OpenGlobal(string path)
        {
            if (Call(path, RtldNow | RtldGlobal) == 0)
            {
                var error = _dlerror();
                var message = error == null ? "unknown error" : Marshal.PtrToStringUTF8((nint)error);
                throw new InvalidOperationException($"Loading the libstdc++ compatibility shim {path} failed: {message}");
            }
        }

        private nint Call(string path, int flags)
        {
            fixed (byte* p = NullTerminated(path))
            {
                return _dlopen(p, flags);
            }
        }

        private static byte[] NullTerminated(string s)
        {
            var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
            System.Text.Encoding.UTF8.GetBytes(s, bytes);
            return bytes;
        }
    }
}
