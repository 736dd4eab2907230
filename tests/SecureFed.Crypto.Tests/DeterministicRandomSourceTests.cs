namespace SecureFed.Crypto.Tests;

public class DeterministicRandomSourceTests
{
    [Fact]
    public void Fill_SameSeed_SameBytes_DifferentSeed_DifferentBytes()
    {
        using var a = new DeterministicRandomSource([1, 2, 3]);
        using var b = new DeterministicRandomSource([1, 2, 3]);
        using var c = new DeterministicRandomSource([1, 2, 4]);
        byte[] x = new byte[100], y = new byte[100], z = new byte[100];
        a.Fill(x);
        b.Fill(y);
        c.Fill(z);
        Assert.Equal(x, y);
        Assert.NotEqual(x, z);
    }

    [Fact]
    public void Fill_Seed42_MatchesPinnedStream()
    {
        // AES-256-CTR from counter 0 under HKDF-SHA256(seed, info = "SecureFed.DeterministicRandomSource/v1"),
        // computed independently (OpenSSL via Python). Simulations replay only while this stays fixed.
        using var source = new DeterministicRandomSource(42UL);
        byte[] output = new byte[40];
        source.Fill(output);
        Assert.Equal("9705695d1c1caa8d132c0935af29be23aaedbbf1fcbfb282c04d21e91fbd06c430f3ba09ecd46ca2", Convert.ToHexStringLower(output));
    }

    [Fact]
    public void Fill_SplitRequests_EqualOneLongRequest()
    {
        using var whole = new DeterministicRandomSource(42UL);
        using var pieces = new DeterministicRandomSource(42UL);
        byte[] expected = new byte[1000];
        whole.Fill(expected);
        byte[] actual = new byte[1000];
        int position = 0;
        foreach (int size in new[] { 1, 15, 16, 17, 0, 3, 100, 500 })
        {
            pieces.Fill(actual.AsSpan(position, size));
            position += size;
        }

        pieces.Fill(actual.AsSpan(position));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Fill_ConcurrentCallers_ReceiveDisjointPartsOfOneStream()
    {
        const int Threads = 4;
        const int PerThread = 500;
        using var reference = new DeterministicRandomSource(7UL);
        byte[] stream = new byte[Threads * PerThread * 16];
        reference.Fill(stream);
        var expected = Enumerable.Range(0, Threads * PerThread).Select(i => Convert.ToHexString(stream, i * 16, 16)).Order().ToList();

        using var shared = new DeterministicRandomSource(7UL);
        var results = new List<string>[Threads];
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var mine = new List<string>();
            var block = new byte[16];
            for (int i = 0; i < PerThread; i++)
            {
                shared.Fill(block);
                mine.Add(Convert.ToHexString(block));
            }

            results[t] = mine;
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(10))));
        Assert.Equal(expected, results.SelectMany(r => r).Order().ToList());
    }

    [Fact]
    public void Fill_AfterDispose_ThrowsObjectDisposed()
    {
        var source = new DeterministicRandomSource(1UL);
        source.Dispose();
        Assert.Throws<ObjectDisposedException>(() => source.Fill(new byte[1]));
    }
}
