using System.Security.Cryptography;
using SecureFed.Crypto.Internal;
using static SecureFed.Crypto.Tests.TestUtil;

namespace SecureFed.Crypto.Tests;

public class X25519Tests
{
    private static readonly IKeyAgreement Managed = new BouncyCastleX25519KeyAgreement();
    private static readonly IKeyAgreement? OpenSsl = OpenSslX25519KeyAgreement.TryCreate();

    /// <summary>Every engine this machine has: the managed one always, OpenSSL's where libcrypto is found.</summary>
    public static TheoryData<string> Engines => new(EngineNames);

    private static string[] EngineNames => OpenSsl is null ? ["managed"] : ["managed", "openssl"];

    private static IKeyAgreement Engine(string name) => name == "openssl" ? OpenSsl! : Managed;

    public static TheoryData<string, string, string, string> Section52Vectors()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var engine in EngineNames)
        {
            data.Add(
                engine,
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
            data.Add(
                engine,
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Section52Vectors))]
    public void Agree_Rfc7748Section52Vectors_MatchExpected(string engine, string scalar, string u, string expected)
    {
        using var k = new SecretBytes(Hex(scalar));
        using var result = Engine(engine).Agree(k, Hex(u));
        Assert.Equal(expected, ToHex(result.Reveal()));
    }

    [Fact]
    public void OpenSsl_OnLinux_IsFoundAndIsTheDefault()
    {
        // CI and the containers run on Linux, where .NET itself needs libcrypto: the fast engine must be in use there.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Assert.NotNull(OpenSsl);
        Assert.IsType<OpenSslX25519KeyAgreement>(CryptoProvider.Default.KeyAgreement);
    }

    [Fact]
    public void Engines_RandomKeys_GiveIdenticalPublicKeysAndSecrets()
    {
        if (OpenSsl is null)
        {
            return;
        }

        var rng = new Random(20261203);
        for (int i = 0; i < 200; i++)
        {
            var a = new byte[32];
            var b = new byte[32];
            rng.NextBytes(a);
            rng.NextBytes(b);
            using var ka = new SecretBytes(a);
            using var kb = new SecretBytes(b);
            byte[] pa = Managed.DerivePublicKey(ka);
            Assert.Equal(ToHex(pa), ToHex(OpenSsl.DerivePublicKey(ka)));
            using var managed = Managed.Agree(kb, pa);
            using var native = OpenSsl.Agree(kb, pa);
            Assert.Equal(ToHex(managed.Reveal()), ToHex(native.Reveal()));

            // An arbitrary 32-byte string is a valid peer key too (RFC 7748 masks the top bit): both engines agree.
            var u = new byte[32];
            rng.NextBytes(u);
            using var managedU = Managed.Agree(ka, u);
            using var nativeU = OpenSsl.Agree(ka, u);
            Assert.Equal(ToHex(managedU.Reveal()), ToHex(nativeU.Reveal()));
        }
    }

    [Fact]
    public void OpenSsl_RefusedLowOrderPoint_LeavesNoErrorForLaterCrypto()
    {
        if (OpenSsl is null)
        {
            return;
        }

        using var pair = OpenSsl.Generate(SystemRandomSource.Instance);
        Assert.Throws<CryptographicException>(() => OpenSsl.Agree(pair.PrivateKey, new byte[32]));

        // .NET's own OpenSSL calls on this thread still work: ECDSA and TLS-style key loading read the same error queue.
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] data = [1, 2, 3];
        byte[] signature = ecdsa.SignData(data, HashAlgorithmName.SHA256);
        Assert.True(ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256));
        using var again = OpenSsl.Agree(pair.PrivateKey, OpenSsl.Generate(SystemRandomSource.Instance).PublicKey);
        Assert.Equal(32, again.Length);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Agree_Rfc7748Section52Iterated_After1And1000Iterations_MatchExpected(string engine)
    {
        var agreement = Engine(engine);
        byte[] k = new byte[32];
        byte[] u = new byte[32];
        k[0] = 9;
        u[0] = 9;
        for (int i = 1; i <= 1000; i++)
        {
            using var scalar = new SecretBytes(k);
            using var r = agreement.Agree(scalar, u);
            u = k;
            k = r.Reveal().ToArray();
            if (i == 1)
            {
                Assert.Equal("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", ToHex(k));
            }
        }

        Assert.Equal("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", ToHex(k));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void DerivePublicKeyAndAgree_Rfc7748Section61_MatchExpected(string engine)
    {
        var agreement = Engine(engine);
        using var alice = new SecretBytes(Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        using var bob = new SecretBytes(Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        byte[] alicePublic = agreement.DerivePublicKey(alice);
        byte[] bobPublic = agreement.DerivePublicKey(bob);
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", ToHex(alicePublic));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", ToHex(bobPublic));
        using var shared1 = agreement.Agree(alice, bobPublic);
        using var shared2 = agreement.Agree(bob, alicePublic);
        const string Expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        Assert.Equal(Expected, ToHex(shared1.Reveal()));
        Assert.Equal(Expected, ToHex(shared2.Reveal()));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Generate_TwoParties_AgreeOnSameSecret(string engine)
    {
        var agreement = Engine(engine);
        using var a = agreement.Generate(SystemRandomSource.Instance);
        using var b = agreement.Generate(SystemRandomSource.Instance);
        Assert.Equal(32, a.PublicKey.Length);
        Assert.Equal(agreement.DerivePublicKey(a.PrivateKey), a.PublicKey.ToArray());
        using var ab = agreement.Agree(a.PrivateKey, b.PublicKey);
        using var ba = agreement.Agree(b.PrivateKey, a.PublicKey);
        Assert.True(ab.Equals(ba));
        Assert.DoesNotContain(ToHex(a.PrivateKey.Reveal()), a.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> LowOrderPoints()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in EngineNames)
        {
            foreach (var point in new[]
            {
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0100000000000000000000000000000000000000000000000000000000000000",
                "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            })
            {
                data.Add(engine, point);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(LowOrderPoints))]
    public void Agree_LowOrderPeerPoint_ThrowsCryptographicException(string engine, string lowOrderPoint)
    {
        var agreement = Engine(engine);
        using var pair = agreement.Generate(SystemRandomSource.Instance);
        Assert.Throws<CryptographicException>(() => agreement.Agree(pair.PrivateKey, Hex(lowOrderPoint)));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Agree_WrongKeyLengths_ThrowArgumentException(string engine)
    {
        var agreement = Engine(engine);
        using var pair = agreement.Generate(SystemRandomSource.Instance);
        using var shortKey = new SecretBytes(new byte[31]);
        Assert.Throws<ArgumentException>(() => agreement.Agree(pair.PrivateKey, new byte[31]));
        Assert.Throws<ArgumentException>(() => agreement.Agree(shortKey, pair.PublicKey));
        Assert.Throws<ArgumentException>(() => agreement.DerivePublicKey(shortKey));
    }
}
