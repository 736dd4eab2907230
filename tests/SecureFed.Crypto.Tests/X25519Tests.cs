using System.Security.Cryptography;
using static SecureFed.Crypto.Tests.TestUtil;

namespace SecureFed.Crypto.Tests;

public class X25519Tests
{
    private static readonly IKeyAgreement Agreement = CryptoProvider.Default.KeyAgreement;

    [Theory]
    [InlineData(
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData(
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Agree_Rfc7748Section52Vectors_MatchExpected(string scalar, string u, string expected)
    {
        using var k = new SecretBytes(Hex(scalar));
        using var result = Agreement.Agree(k, Hex(u));
        Assert.Equal(expected, ToHex(result.Reveal()));
    }

    [Fact]
    public void Agree_Rfc7748Section52Iterated_After1And1000Iterations_MatchExpected()
    {
        byte[] k = new byte[32];
        byte[] u = new byte[32];
        k[0] = 9;
        u[0] = 9;
        for (int i = 1; i <= 1000; i++)
        {
            using var scalar = new SecretBytes(k);
            using var r = Agreement.Agree(scalar, u);
            u = k;
            k = r.Reveal().ToArray();
            if (i == 1)
            {
                Assert.Equal("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", ToHex(k));
            }
        }

        Assert.Equal("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", ToHex(k));
    }

    [Fact]
    public void DerivePublicKeyAndAgree_Rfc7748Section61_MatchExpected()
    {
        using var alice = new SecretBytes(Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        using var bob = new SecretBytes(Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        byte[] alicePublic = Agreement.DerivePublicKey(alice);
        byte[] bobPublic = Agreement.DerivePublicKey(bob);
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", ToHex(alicePublic));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", ToHex(bobPublic));
        using var shared1 = Agreement.Agree(alice, bobPublic);
        using var shared2 = Agreement.Agree(bob, alicePublic);
        const string Expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        Assert.Equal(Expected, ToHex(shared1.Reveal()));
        Assert.Equal(Expected, ToHex(shared2.Reveal()));
    }

    [Fact]
    public void Generate_TwoParties_AgreeOnSameSecret()
    {
        using var a = Agreement.Generate(SystemRandomSource.Instance);
        using var b = Agreement.Generate(SystemRandomSource.Instance);
        Assert.Equal(32, a.PublicKey.Length);
        Assert.Equal(Agreement.DerivePublicKey(a.PrivateKey), a.PublicKey.ToArray());
        using var ab = Agreement.Agree(a.PrivateKey, b.PublicKey);
        using var ba = Agreement.Agree(b.PrivateKey, a.PublicKey);
        Assert.True(ab.Equals(ba));
        Assert.DoesNotContain(ToHex(a.PrivateKey.Reveal()), a.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    [InlineData("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")]
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    public void Agree_LowOrderPeerPoint_ThrowsCryptographicException(string lowOrderPoint)
    {
        using var pair = Agreement.Generate(SystemRandomSource.Instance);
        Assert.Throws<CryptographicException>(() => Agreement.Agree(pair.PrivateKey, Hex(lowOrderPoint)));
    }

    [Fact]
    public void Agree_WrongKeyLengths_ThrowArgumentException()
    {
        using var pair = Agreement.Generate(SystemRandomSource.Instance);
        using var shortKey = new SecretBytes(new byte[31]);
        Assert.Throws<ArgumentException>(() => Agreement.Agree(pair.PrivateKey, new byte[31]));
        Assert.Throws<ArgumentException>(() => Agreement.Agree(shortKey, pair.PublicKey));
        Assert.Throws<ArgumentException>(() => Agreement.DerivePublicKey(shortKey));
    }
}
