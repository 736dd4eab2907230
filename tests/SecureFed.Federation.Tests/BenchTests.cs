using SecureFed.Hosting;

namespace SecureFed.Federation.Tests;

/// <summary>The benchmark's function (not its speed: figures are reported by the command, never asserted).</summary>
public sealed class BenchTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public async Task SecAggBench_SmallRun_ReportsEveryFieldAndExactSum(double dropout)
    {
        var result = await SecAggBenchmark.RunAsync(silos: 4, parameters: 2000, dropout: dropout, ringBits: 32, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(2));

        foreach (var field in new[] { "silos", "params", "dropout", "plain_ms", "secure_ms", "ratio", "client_mask_ms", "server_unmask_ms", "bytes_up_per_client", "prg_gb_per_s" })
        {
            Assert.True(result.ContainsKey(field), $"missing {field}");
        }

        Assert.True((bool)result["exact_sum"]!);
        Assert.Equal(dropout > 0 ? 1 : 0, (int)result["dropped_silos"]!);
        Assert.True((long)result["bytes_up_per_client"]! > 2000 * 4, "a masked 32-bit vector of 2000 values is at least 8000 bytes");
    }
}
