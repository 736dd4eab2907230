using System.Security.Cryptography;

namespace SecureFed.Crypto.Tests;

public class KeystreamRandomSourceTests
{
    [Fact]
    public void WithFreshKey_IsAesCtrUnderTheDrawnKey()
    {
        // The key is the first 32 bytes of the key source; block j of the stream is AES_key(j as a big-endian counter).
        var key = new byte[32];
        using (var keys = new DeterministicRandomSource(7))
        {
            keys.Fill(key);
        }

        using var aes = Aes.Create();
        aes.Key = key;
        var counters = new byte[48];
        counters[31] = 1;
        counters[47] = 2;
        var expected = aes.EncryptEcb(counters, PaddingMode.None);

        using var sameKeys = new DeterministicRandomSource(7);
        using var source = KeystreamRandomSource.WithFreshKey(sameKeys);
        var actual = new byte[48];
        source.Fill(actual.AsSpan(0, 5));
        source.Fill(actual.AsSpan(5, 30)); // requests continue the stream wherever they are cut
        source.Fill(actual.AsSpan(35));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void WithFreshKey_DifferentKeys_DifferentStreams_AndDisposeEndsIt()
    {
        using var keysA = new DeterministicRandomSource(1);
        using var keysB = new DeterministicRandomSource(2);
        var a = KeystreamRandomSource.WithFreshKey(keysA);
        using var b = KeystreamRandomSource.WithFreshKey(keysB);
        byte[] x = new byte[64], y = new byte[64];
        a.Fill(x);
        b.Fill(y);
        Assert.NotEqual(x, y);

        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.Fill(x));
    }
}
