using static SecureFed.Crypto.Tests.TestUtil;

namespace SecureFed.Crypto.Tests;

public class SignedPayloadTests
{
    [Fact]
    public void Encode_ShiftedFieldBoundary_GivesDifferentBytes()
    {
        byte[] a = SignedPayload.Encode("a"u8.ToArray(), "bc"u8.ToArray());
        byte[] b = SignedPayload.Encode("ab"u8.ToArray(), "c"u8.ToArray());
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Encode_EmptyFieldsCount_GivesDifferentBytes()
    {
        Assert.NotEqual(SignedPayload.Encode(), SignedPayload.Encode(Array.Empty<byte>()));
        Assert.NotEqual(SignedPayload.Encode(Array.Empty<byte>()), SignedPayload.Encode(Array.Empty<byte>(), Array.Empty<byte>()));
    }

    [Fact]
    public void Encode_Fields_UsesBigEndianLengthPrefixes()
    {
        byte[] encoded = SignedPayload.Encode(new byte[] { 0xAA }, SignedPayload.UInt64(0x0102030405060708), SignedPayload.Utf8("é"));
        Assert.Equal("00000001aa" + "00000008" + "0102030405060708" + "00000002c3a9", ToHex(encoded));
    }
}
