using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Crypto.Tests;

public class SignatureTests
{
    private static readonly CryptoProvider Provider = CryptoProvider.Default;

    private static X509Certificate2 SelfSigned(ECDsa key)
    {
        var request = new CertificateRequest("CN=silo-1", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    [Fact]
    public void Verify_SignedByMatchingKey_ReturnsTrue()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = Provider.CreateSigner(key);
        using var verifier = Provider.CreateVerifier(key);
        byte[] payload = SignedPayload.Encode(SignedPayload.Utf8("test"), SignedPayload.UInt64(7));
        byte[] signature = signer.Sign(payload);
        Assert.Equal(64, signature.Length);
        Assert.True(verifier.Verify(payload, signature));
        Assert.Equal("ECDSA-P256-SHA256", signer.Algorithm);
    }

    [Fact]
    public void Verify_ModifiedPayloadOrSignature_ReturnsFalse()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = Provider.CreateSigner(key);
        using var verifier = Provider.CreateVerifier(key);
        byte[] payload = [1, 2, 3, 4];
        byte[] signature = signer.Sign(payload);
        Assert.False(verifier.Verify([1, 2, 3, 5], signature));
        Assert.False(verifier.Verify([1, 2, 3], signature));
        byte[] badSignature = (byte[])signature.Clone();
        badSignature[10] ^= 0x01;
        Assert.False(verifier.Verify(payload, badSignature));
        Assert.False(verifier.Verify(payload, signature[..63]));
        Assert.False(verifier.Verify(payload, []));
        Assert.False(verifier.Verify(payload, new byte[64]));
    }

    [Fact]
    public void Verify_OtherKey_ReturnsFalse()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = Provider.CreateSigner(key);
        using var verifier = Provider.CreateVerifier(other);
        Assert.False(verifier.Verify([1], signer.Sign([1])));
    }

    [Fact]
    public void CreateFromCertificate_RoundTrip_VerifiesWithPublicCertificateOnly()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = SelfSigned(key);
        using var publicOnly = X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));
        using var signer = Provider.CreateSigner(certificate);
        using var verifier = Provider.CreateVerifier(publicOnly);
        byte[] signature = signer.Sign([9, 9, 9]);
        Assert.True(verifier.Verify([9, 9, 9], signature));
        Assert.False(verifier.Verify([9, 9, 8], signature));
    }

    [Fact]
    public void CreateSigner_CertificateWithoutPrivateKey_ThrowsArgumentException()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = SelfSigned(key);
        using var publicOnly = X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));
        Assert.Throws<ArgumentException>(() => Provider.CreateSigner(publicOnly));
    }

    [Fact]
    public void CreateSignerAndVerifier_P384Key_ThrowArgumentException()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => Provider.CreateSigner(key));
        Assert.Throws<ArgumentException>(() => Provider.CreateVerifier(key));
        using var certificate = SelfSigned(key);
        Assert.Throws<ArgumentException>(() => Provider.CreateVerifier(certificate));
    }

    [Fact]
    public void CreateVerifier_FromSubjectPublicKeyInfo_Verifies()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = Provider.CreateSigner(key);
        using var verifier = Provider.CreateVerifier(signer.ExportSubjectPublicKeyInfo());
        Assert.True(verifier.Verify([5], signer.Sign([5])));
        Assert.Throws<ArgumentException>(() => Provider.CreateVerifier(new byte[] { 1, 2, 3 }.AsSpan()));
    }
}
