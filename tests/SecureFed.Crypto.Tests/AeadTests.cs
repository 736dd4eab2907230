using System.Text;
using SecureFed.Crypto.Internal;
using static SecureFed.Crypto.Tests.TestUtil;

namespace SecureFed.Crypto.Tests;

public class AeadTests
{
    private const string Rfc8439Plaintext =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    private const string Rfc8439Ciphertext =
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b" +
        "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
        "3ff4def08e4b7a9de576d26586cec64b6116";

    private const string Rfc8439Tag = "1ae10b594f09e26a7e902ecbd0600691";

    private static readonly byte[] Rfc8439Nonce = Hex("070000004041424344454647");
    private static readonly byte[] Rfc8439Aad = Hex("50515253c0c1c2c3c4c5c6c7");

    // Both engines: the platform one (BCL/OpenSSL) and the BouncyCastle fallback.
    public static TheoryData<bool> Engines => new() { true, false };

    private static IAead Engine(bool platform) => new ChaCha20Poly1305Aead(preferPlatform: platform);

    [Theory]
    [MemberData(nameof(Engines))]
    public void Seal_Rfc8439Section282Vector_MatchesCiphertextAndTag(bool platform)
    {
        using var key = new SecretBytes(Range(0x80, 0xa0));
        byte[] sealedBytes = Engine(platform).Seal(key, Rfc8439Nonce, Encoding.ASCII.GetBytes(Rfc8439Plaintext), Rfc8439Aad);
        Assert.Equal(Rfc8439Ciphertext + Rfc8439Tag, ToHex(sealedBytes));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Open_Rfc8439Section282Vector_ReturnsPlaintext(bool platform)
    {
        using var key = new SecretBytes(Range(0x80, 0xa0));
        byte[] plaintext = Engine(platform).Open(key, Rfc8439Nonce, Hex(Rfc8439Ciphertext + Rfc8439Tag), Rfc8439Aad);
        Assert.Equal(Rfc8439Plaintext, Encoding.ASCII.GetString(plaintext));
    }

    [Fact]
    public void Open_SealedByOtherEngine_RoundTrips()
    {
        using var key = SecretBytes.Generate(32, SystemRandomSource.Instance);
        byte[] nonce = new byte[12];
        byte[] message = Encoding.UTF8.GetBytes("share of s_u_sk");
        Assert.Equal(message, Engine(false).Open(key, nonce, Engine(true).Seal(key, nonce, message, "ad"u8), "ad"u8));
        Assert.Equal(message, Engine(true).Open(key, nonce, Engine(false).Seal(key, nonce, message, "ad"u8), "ad"u8));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Open_EmptyPlaintext_RoundTrips(bool platform)
    {
        using var key = SecretBytes.Generate(32, SystemRandomSource.Instance);
        byte[] sealedBytes = Engine(platform).Seal(key, new byte[12], default, default);
        Assert.Equal(16, sealedBytes.Length);
        Assert.Empty(Engine(platform).Open(key, new byte[12], sealedBytes, default));
    }

    public static TheoryData<bool, string, int> Tampering()
    {
        var data = new TheoryData<bool, string, int>();
        foreach (bool platform in new[] { true, false })
        {
            // Bit positions: first and last ciphertext bits, first and last tag bits.
            data.Add(platform, "ciphertext", 0);
            data.Add(platform, "ciphertext", (114 * 8) - 1);
            data.Add(platform, "tag", 114 * 8);
            data.Add(platform, "tag", (130 * 8) - 1);
            data.Add(platform, "aad", 0);
            data.Add(platform, "aad", (12 * 8) - 1);
            data.Add(platform, "nonce", 0);
            data.Add(platform, "key", 255);
            data.Add(platform, "truncate", 1);
            data.Add(platform, "truncate", 20);
            data.Add(platform, "extend", 1);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Tampering))]
    public void Open_AnyTampering_ThrowsAeadAuthenticationException(bool platform, string what, int position)
    {
        byte[] keyBytes = Range(0x80, 0xa0);
        byte[] nonce = (byte[])Rfc8439Nonce.Clone();
        byte[] aad = (byte[])Rfc8439Aad.Clone();
        byte[] sealedBytes = Hex(Rfc8439Ciphertext + Rfc8439Tag);
        switch (what)
        {
            case "ciphertext":
            case "tag":
                sealedBytes[position / 8] ^= (byte)(1 << (position % 8));
                break;
            case "aad":
                aad[position / 8] ^= (byte)(1 << (position % 8));
                break;
            case "nonce":
                nonce[position / 8] ^= (byte)(1 << (position % 8));
                break;
            case "key":
                keyBytes[position / 8] ^= (byte)(1 << (position % 8));
                break;
            case "truncate":
                sealedBytes = sealedBytes[..^position];
                break;
            case "extend":
                sealedBytes = [.. sealedBytes, .. new byte[position]];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(what));
        }

        using var key = new SecretBytes(keyBytes);
        var ex = Assert.Throws<AeadAuthenticationException>(() => Engine(platform).Open(key, nonce, sealedBytes, aad));
        Assert.IsAssignableFrom<System.Security.Cryptography.CryptographicException>(ex);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Open_ShorterThanTag_ThrowsAeadAuthenticationException(bool platform)
    {
        using var key = SecretBytes.Generate(32, SystemRandomSource.Instance);
        Assert.Throws<AeadAuthenticationException>(() => Engine(platform).Open(key, new byte[12], new byte[15], default));
    }

    [Fact]
    public void SealAndOpen_WrongKeyOrNonceLength_ThrowArgumentException()
    {
        var aead = CryptoProvider.Default.Aead;
        using var shortKey = new SecretBytes(new byte[16]);
        using var key = new SecretBytes(new byte[32]);
        Assert.Throws<ArgumentException>(() => aead.Seal(shortKey, new byte[12], default, default));
        Assert.Throws<ArgumentException>(() => aead.Seal(key, new byte[8], default, default));
        Assert.Throws<ArgumentException>(() => aead.Open(key, new byte[24], new byte[16], default));
        Assert.Equal((32, 12, 16), (aead.KeySize, aead.NonceSize, aead.TagSize));
    }
}
