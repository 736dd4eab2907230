namespace SecureFed.Crypto.Tests;

public class SecretBytesTests
{
    [Fact]
    public void ToString_AnyContent_IsRedacted()
    {
        using var secret = new SecretBytes([1, 2, 3]);
        Assert.Equal("[redacted]", secret.ToString());
        Assert.Equal("[redacted]", $"{secret}");
    }

    [Fact]
    public void Reveal_AfterConstruction_ReturnsCopyOfInput()
    {
        byte[] input = [9, 8, 7];
        using var secret = new SecretBytes(input);
        input[0] = 0;
        Assert.Equal([9, 8, 7], secret.Reveal().ToArray());
        Assert.Equal(3, secret.Length);
    }

    [Fact]
    public void Dispose_NonZeroSecret_ZeroesBuffer()
    {
        var secret = new SecretBytes([0xAA, 0xBB, 0xCC, 0xDD]);
        Assert.False(secret.IsZeroedForTesting());
        secret.Dispose();
        Assert.True(secret.IsZeroedForTesting());
    }

    [Fact]
    public void Reveal_AfterDispose_ThrowsObjectDisposed()
    {
        var secret = new SecretBytes([1]);
        secret.Dispose();
        Assert.Throws<ObjectDisposedException>(() => secret.Reveal().ToArray());
        Assert.Throws<ObjectDisposedException>(() => secret.Length);
        Assert.Throws<ObjectDisposedException>(() => secret.Equals(new SecretBytes([1])));
        secret.Dispose();
        Assert.Equal("[redacted]", secret.ToString());
    }

    [Fact]
    public void Equals_SameContent_True_DifferentContentOrLength_False()
    {
        using var a = new SecretBytes([1, 2, 3]);
        using var b = new SecretBytes([1, 2, 3]);
        using var c = new SecretBytes([1, 2, 4]);
        using var d = new SecretBytes([1, 2]);
        Assert.True(a.Equals(b));
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals(c));
        Assert.False(a.Equals(d));
        Assert.False(a.Equals(null));
        Assert.False(a.Equals((object)new byte[] { 1, 2, 3 }));
    }

    [Fact]
    public void Generate_FromRandomSource_TakesBytesFromSource()
    {
        using var secret = SecretBytes.Generate(4, new ScriptedRandomSource([5, 6, 7, 8]));
        Assert.Equal([5, 6, 7, 8], secret.Reveal().ToArray());
    }

    [Fact]
    public void Generate_NegativeLength_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SecretBytes.Generate(-1, SystemRandomSource.Instance));
    }

    [Fact]
    public void EngineKey_MadeOnceAndFreedWithTheSecret()
    {
        var secret = new SecretBytes([1, 2, 3]);
        int made = 0;
        var first = secret.EngineKey(bytes =>
        {
            made++;
            Assert.Equal(new byte[] { 1, 2, 3 }, bytes.ToArray());
            return new Tracked();
        });
        var second = secret.EngineKey(_ =>
        {
            made++;
            return new Tracked();
        });

        Assert.Same(first, second);
        Assert.Equal(1, made);
        Assert.False(first.Disposed);
        secret.Dispose();
        Assert.True(first.Disposed);
        Assert.True(secret.IsZeroedForTesting());
        Assert.Throws<ObjectDisposedException>(() => secret.EngineKey(_ => new Tracked()));
    }

    private sealed class Tracked : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void SmallSecrets_ShareSlabs_WithoutOverlap()
    {
        var secrets = Enumerable.Range(0, 200).Select(i => new SecretBytes(Enumerable.Repeat((byte)(i + 1), 32).ToArray())).ToList();

        // 200 secrets of 32 bytes take one or two 16 KiB pinned slabs, not 200 pinned arrays.
        Assert.InRange(secrets.Select(s => s.Buffer.Array).Distinct().Count(), 1, 2);
        var placed = secrets.Select(s => (s.Buffer.Array, s.Buffer.Offset)).ToList();
        Assert.Equal(placed.Count, placed.Distinct().Count());

        // Disposing one zeroes its own bytes and none of its neighbours'.
        secrets[100].Dispose();
        Assert.True(secrets[100].IsZeroedForTesting());
        Assert.Equal(Enumerable.Repeat((byte)100, 32), secrets[99].Reveal().ToArray());
        Assert.Equal(Enumerable.Repeat((byte)102, 32), secrets[101].Reveal().ToArray());
        foreach (var s in secrets)
        {
            s.Dispose();
        }
    }

    [Fact]
    public void LargeSecret_HasItsOwnArray_AndComparesWithSlabbedOnes()
    {
        var bytes = Enumerable.Range(0, 600).Select(i => (byte)(i % 256)).ToArray();
        using var large = new SecretBytes(bytes);
        using var again = new SecretBytes(bytes);
        Assert.Equal(0, large.Buffer.Offset);
        Assert.Equal(600, large.Buffer.Array.Length);
        Assert.True(large.Equals(again));
        using var small = new SecretBytes(bytes.AsSpan(0, 40));
        using var smallAgain = new SecretBytes(bytes.AsSpan(0, 40));
        Assert.True(small.Equals(smallAgain));
        Assert.False(small.Equals(large));
    }

    [Fact]
    public void SecretsMadeOnManyThreads_KeepTheirOwnBytes()
    {
        var made = new System.Collections.Concurrent.ConcurrentBag<(SecretBytes Secret, byte Fill)>();
        Parallel.For(0, 2000, i =>
        {
            byte fill = (byte)(i % 251 + 1);
            made.Add((new SecretBytes(Enumerable.Repeat(fill, 16 + (i % 48)).ToArray()), fill));
        });

        foreach (var (secret, fill) in made)
        {
            Assert.All(secret.Reveal().ToArray(), b => Assert.Equal(fill, b));
            secret.Dispose();
        }
    }
}
