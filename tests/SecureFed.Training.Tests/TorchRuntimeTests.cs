using System.Text;
using TorchSharp;

namespace SecureFed.Training.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void EnsureInitialized_ManyThreadsAtOnce_InitializesOnceAndTorchComputes()
    {
        Parallel.For(0, 16, i => TorchRuntime.EnsureInitialized(i % 2 == 0 ? 1 : null));

        Assert.True(TorchRuntime.IsInitialized);
        using var t = torch.ones(3);
        using var sum = t.sum();
        Assert.Equal(3f, sum.item<float>());
        Assert.Equal(1, torch.get_num_threads());
    }

    [Fact]
    public void EnsureInitialized_OnThisMachine_LoadsShimExactlyWhenLibStdCxxLacksVersion()
    {
        TorchRuntime.EnsureInitialized(threads: 1);

        var libstdcxx = File.ReadAllLines("/proc/self/maps")
            .Select(l => l.IndexOf('/', StringComparison.Ordinal) is var i and >= 0 ? l[i..].Trim() : string.Empty)
            .First(p => p.Contains("libstdc++.so.6", StringComparison.Ordinal));
        var hasVersion = File.ReadAllBytes(libstdcxx).AsSpan().IndexOf(Encoding.ASCII.GetBytes("GLIBCXX_3.4.32\0")) >= 0;

        if (hasVersion)
        {
            Assert.Null(TorchRuntime.CompatibilityShimPath);
        }
        else
        {
            Assert.NotNull(TorchRuntime.CompatibilityShimPath);
            Assert.StartsWith(Path.GetFullPath(AppContext.BaseDirectory), TorchRuntime.CompatibilityShimPath, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(TorchRuntime.CompatibilityShimPath)!, "libLibTorchSharp.so")));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(TorchRuntime.MaxThreads + 1)]
    public void EnsureInitialized_ThreadsOutOfRange_Throws(int threads)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.EnsureInitialized(threads));
    }
}
