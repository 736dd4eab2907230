using static SecureFed.Crypto.Tests.TestUtil;

namespace SecureFed.Crypto.Tests;

public class HkdfTests
{
    private static readonly IKeyDerivation Kdf = CryptoProvider.Default.KeyDerivation;

    public static TheoryData<string, string, string, int, string> Rfc5869Cases => new()
    {
        // Test case 1
        {
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        },

        // Test case 2: 80-byte inputs
        {
            ToHex(Range(0x00, 0x50)), ToHex(Range(0x60, 0xb0)), ToHex(Range(0xb0, 0x100)), 82,
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"
        },

        // Test case 3: empty salt and info
        {
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        },
    };

    [Theory]
    [MemberData(nameof(Rfc5869Cases))]
    public void Derive_Rfc5869TestCases1To3_MatchExpected(string ikm, string salt, string info, int length, string okm)
    {
        using var output = Kdf.Derive(Hex(ikm), Hex(salt), Hex(info), length);
        Assert.Equal(okm, ToHex(output.Reveal()));

        using var secretIkm = new SecretBytes(Hex(ikm));
        using var viaSecret = Kdf.Derive(secretIkm, Hex(salt), Hex(info), length);
        Assert.True(output.Equals(viaSecret));
    }

    [Fact]
    public void Derive_DifferentInfo_GivesDifferentKeys()
    {
        using var a = Kdf.Derive(new byte[32], default, "round 1"u8, 32);
        using var b = Kdf.Derive(new byte[32], default, "round 2"u8, 32);
        Assert.False(a.Equals(b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(8161)]
    public void Derive_LengthOutOfRange_Throws(int length)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Kdf.Derive(new byte[32], default, default, length));
    }

    [Fact]
    public void Derive_MaximumLength_Succeeds()
    {
        using var output = Kdf.Derive(new byte[32], default, default, 8160);
        Assert.Equal(8160, output.Length);
    }
}
