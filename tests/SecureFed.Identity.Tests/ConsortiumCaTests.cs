using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity.Tests;

public class ConsortiumCaTests
{
    private readonly ManualTimeProvider _time = new(Pki.Epoch);

    [Fact]
    public void Create_Always_IsSelfSignedP256CaWithPathLengthZero()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        X509Certificate2 root = ca.Certificate;

        Assert.Equal(root.Subject, root.Issuer);
        Assert.Contains("O=acme-health", root.Subject, StringComparison.Ordinal);
        Assert.Equal("acme-health", ca.ConsortiumName);
        Assert.False(root.HasPrivateKey);
        using (ECDsa? publicKey = root.GetECDsaPublicKey())
        {
            Assert.NotNull(publicKey);
            Assert.Equal(256, publicKey.KeySize);
        }

        var constraints = root.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.HasPathLengthConstraint);
        Assert.Equal(0, constraints.PathLengthConstraint);
        Assert.True(constraints.Critical);

        var usage = root.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.NotNull(root.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier);
        Assert.Empty(root.Extensions.OfType<X509EnhancedKeyUsageExtension>());
    }

    [Fact]
    public void Create_Validity_StartsSkewBeforeClockAndEndsAfterValidity()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        Assert.Equal((Pki.Epoch - ConsortiumCa.ClockSkewAllowance).UtcDateTime, ca.Certificate.NotBefore.ToUniversalTime());
        Assert.Equal((Pki.Epoch + Pki.CaValidity).UtcDateTime, ca.Certificate.NotAfter.ToUniversalTime());
    }

    [Theory]
    [InlineData("")]
    [InlineData(" padded")]
    [InlineData("line\nbreak")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345")]
    public void Create_InvalidConsortiumName_ThrowsArgumentException(string name)
    {
        Assert.Throws<ArgumentException>(() => ConsortiumCa.Create(name, _time, Pki.CaValidity));
    }

    [Fact]
    public void Create_NonPositiveValidity_ThrowsArgumentOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsortiumCa.Create("x", _time, TimeSpan.Zero));
    }

    [Fact]
    public void IssueCoordinator_Always_HasServerAuthOnlyAndLoopbackSans()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        using X509Certificate2 cert = ca.IssueCoordinator(["coordinator.example.org"], [IPAddress.Parse("10.1.2.3")], Pki.LeafValidity);

        Assert.True(cert.HasPrivateKey);
        Assert.Equal(ConsortiumCa.CoordinatorCommonName, cert.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.Equal(ca.Certificate.Subject, cert.Issuer);
        Assert.Equal([IdentityOids.ServerAuth], Pki.EkuOids(cert));
        var san = Pki.San(cert);
        Assert.NotNull(san);
        Assert.Equal(["localhost", "coordinator.example.org"], san.EnumerateDnsNames());
        Assert.Equal(
            [IPAddress.Loopback, IPAddress.IPv6Loopback, IPAddress.Parse("10.1.2.3")],
            san.EnumerateIPAddresses());
        Assert.Empty(SubjectAltNames.ReadUris(cert));
        AssertEndEntity(cert, ca);
    }

    [Fact]
    public void IssueCoordinator_DuplicateAndUppercaseNames_AreNormalizedOnce()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        using X509Certificate2 cert = ca.IssueCoordinator(["LOCALHOST", "Coordinator", "coordinator."], [IPAddress.Loopback], Pki.LeafValidity);

        var san = Pki.San(cert)!;
        Assert.Equal(["localhost", "coordinator"], san.EnumerateDnsNames());
        Assert.Equal(2, san.EnumerateIPAddresses().Count());
    }

    [Theory]
    [InlineData("*.example.org")]
    [InlineData("under_score")]
    [InlineData("")]
    [InlineData("-dash.example")]
    public void IssueCoordinator_InvalidDnsName_ThrowsArgumentException(string name)
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        Assert.Throws<ArgumentException>(() => ca.IssueCoordinator([name], [], Pki.LeafValidity));
    }

    [Fact]
    public void IssueSilo_Always_HasClientAuthOnlyAndSiloUri()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        using X509Certificate2 cert = ca.IssueSilo(SiloId.Parse("silo-7"), Pki.LeafValidity);

        Assert.True(cert.HasPrivateKey);
        Assert.Equal("silo-7", cert.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.Equal([IdentityOids.ClientAuth], Pki.EkuOids(cert));
        Assert.Equal(["securefed://silo/silo-7"], SubjectAltNames.ReadUris(cert));
        Assert.Empty(Pki.San(cert)!.EnumerateDnsNames());
        Assert.Equal((Pki.Epoch - ConsortiumCa.ClockSkewAllowance).UtcDateTime, cert.NotBefore.ToUniversalTime());
        Assert.Equal((Pki.Epoch + Pki.LeafValidity).UtcDateTime, cert.NotAfter.ToUniversalTime());
        AssertEndEntity(cert, ca);
    }

    [Fact]
    public void IssueSilo_ValidityBeyondCa_IsCutAtCaNotAfter()
    {
        using ConsortiumCa ca = ConsortiumCa.Create("short-lived", _time, TimeSpan.FromDays(10));
        _time.Advance(TimeSpan.FromSeconds(3));

        using X509Certificate2 cert = ca.IssueSilo(SiloId.Parse("silo-1"), TimeSpan.FromDays(10));

        Assert.Equal(ca.Certificate.NotAfter, cert.NotAfter);
    }

    [Fact]
    public void IssueCustom_ExplicitNotAfterBeyondCa_ThrowsNamingCaValidity()
    {
        using ConsortiumCa ca = ConsortiumCa.Create("short-lived", _time, TimeSpan.FromDays(10));

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ca.IssueCustom(new CertificateIssueOptions
        {
            CommonName = "too-long",
            NotAfter = Pki.Epoch.AddDays(11),
        }));

        Assert.Contains("consortium CA's validity", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IssueSilo_ClockSetBackAfterCaCreation_StartsAtCaStartNotBefore()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        _time.Advance(TimeSpan.FromMinutes(-1));

        using X509Certificate2 cert = ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        Assert.Equal(ca.Certificate.NotBefore, cert.NotBefore);
    }

    [Fact]
    public void IssueSilo_TwoCertificates_HavePositiveDistinctSerialsAndKeys()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        SiloId id = SiloId.Parse("silo-1");

        using X509Certificate2 first = ca.IssueSilo(id, Pki.LeafValidity);
        using X509Certificate2 second = ca.IssueSilo(id, Pki.LeafValidity);

        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.True(new BigInteger(first.SerialNumberBytes.Span, isUnsigned: false, isBigEndian: true) > 0);
        Assert.NotEqual(Pki.ToHex(first.PublicKey.EncodedKeyValue.RawData), Pki.ToHex(second.PublicKey.EncodedKeyValue.RawData));
    }

    [Fact]
    public void IssueCustom_NoNamesAndNoUsages_OmitsSanAndEkuExtensions()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        using X509Certificate2 cert = ca.IssueCustom(new CertificateIssueOptions { CommonName = "bare" });

        Assert.Null(Pki.San(cert));
        Assert.Empty(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        AssertEndEntity(cert, ca);
    }

    [Fact]
    public void IssueCustom_ExplicitPastWindow_IsHonoured()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        DateTimeOffset start = Pki.Epoch.AddMinutes(1);

        using X509Certificate2 cert = ca.IssueCustom(new CertificateIssueOptions
        {
            CommonName = "window",
            NotBefore = start,
            NotAfter = start.AddHours(1),
        });

        Assert.Equal(start.UtcDateTime, cert.NotBefore.ToUniversalTime());
        Assert.Equal(start.AddHours(1).UtcDateTime, cert.NotAfter.ToUniversalTime());
    }

    [Fact]
    public void IssueCustom_InvertedWindow_ThrowsArgumentOutOfRange()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        Assert.Throws<ArgumentOutOfRangeException>(() => ca.IssueCustom(new CertificateIssueOptions
        {
            CommonName = "inverted",
            NotBefore = Pki.Epoch.AddHours(2),
            NotAfter = Pki.Epoch.AddHours(1),
        }));
    }

    [Fact]
    public void Load_ExportedPem_KeepsNameAndIssuesCertificatesTheOriginalRootAccepts()
    {
        using ConsortiumCa original = Pki.NewCa(_time);
        using ConsortiumCa loaded = ConsortiumCa.Load(original.ExportCertificatePem(), original.ExportPrivateKeyPem(), _time);
        using X509Certificate2 silo = loaded.IssueSilo(SiloId.Parse("silo-9"), Pki.LeafValidity);

        var result = new PeerCertificateValidator(original.Certificate, _time).ValidateSilo(silo);

        Assert.Equal("acme-health", loaded.ConsortiumName);
        Assert.Equal(original.Certificate.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.True(result.IsValid, result.Message);
    }

    [Fact]
    public void Load_KeyOfAnotherCa_ThrowsCryptographicException()
    {
        using ConsortiumCa first = Pki.NewCa(_time);
        using ConsortiumCa second = Pki.NewCa(_time);

        var ex = Assert.Throws<CryptographicException>(() => ConsortiumCa.Load(first.ExportCertificatePem(), second.ExportPrivateKeyPem(), _time));

        Assert.Contains("does not belong", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LeafCertificateAndKey_ThrowsNotACa()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        using X509Certificate2 silo = ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        using ECDsa key = silo.GetECDsaPrivateKey()!;

        var ex = Assert.Throws<CryptographicException>(() => ConsortiumCa.Load(silo.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), _time));

        Assert.Contains("not a CA certificate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_GarbageKey_ThrowsWithoutQuotingIt()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        const string Garbage = "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n";

        var ex = Assert.Throws<CryptographicException>(() => ConsortiumCa.Load(ca.ExportCertificatePem(), Garbage, _time));

        Assert.DoesNotContain("U0VDUkVU", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_Always_ShowsFingerprintAndNoKey()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);
        string keyBody = KeyBody(ca.ExportPrivateKeyPem());

        string text = ca.ToString();

        Assert.Contains(CertificateFingerprint.Sha256Hex(ca.Certificate), text, StringComparison.Ordinal);
        Assert.DoesNotContain(keyBody, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_ThenIssue_ThrowsObjectDisposed()
    {
        ConsortiumCa ca = Pki.NewCa(_time);
        ca.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity));
    }

    [Fact]
    public void Sha256Hex_Certificate_IsLowercaseHexOfDerDigest()
    {
        using ConsortiumCa ca = Pki.NewCa(_time);

        string fingerprint = CertificateFingerprint.Sha256Hex(ca.Certificate);

        Assert.Equal(64, fingerprint.Length);
        Assert.Equal(fingerprint.ToLowerInvariant(), fingerprint);
        Assert.Equal(ca.Certificate.GetCertHashString(HashAlgorithmName.SHA256), fingerprint, ignoreCase: true);
    }

    internal static string KeyBody(string pem) =>
        string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal))).Substring(0, 40);

    private static void AssertEndEntity(X509Certificate2 cert, ConsortiumCa ca)
    {
        var constraints = cert.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.False(constraints.CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, cert.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        var aki = cert.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single();
        var caSki = ca.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single();
        Assert.Equal(caSki.SubjectKeyIdentifierBytes.ToArray(), aki.KeyIdentifier!.Value.ToArray());
        Assert.NotNull(cert.Extensions.OfType<X509SubjectKeyIdentifierExtension>().SingleOrDefault());
        using ECDsa? key = cert.GetECDsaPublicKey();
        Assert.Equal(256, key!.KeySize);
    }
}
