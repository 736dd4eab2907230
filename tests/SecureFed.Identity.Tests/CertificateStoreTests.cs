using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureFed.Identity.Tests;

public sealed class CertificateStoreTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly ManualTimeProvider _time = new(Pki.Epoch);
    private readonly ConsortiumCa _ca;
    private readonly TempDirectory _dir = new();

    public CertificateStoreTests()
    {
        _ca = Pki.NewCa(_time);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void WriteThenLoad_CertificateWithKey_RoundTripsAndSigns()
    {
        using X509Certificate2 original = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        CertificateStore.WriteCertificate(_dir.File("silo.pem"), original);
        CertificateStore.WritePrivateKey(_dir.File("silo.key.pem"), original);

        using X509Certificate2 loaded = CertificateStore.LoadCertificateWithKey(_dir.File("silo.pem"), _dir.File("silo.key.pem"));

        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(original.RawData, loaded.RawData);
        byte[] data = Encoding.UTF8.GetBytes("round 7 keys");
        using ECDsa signer = loaded.GetECDsaPrivateKey()!;
        using ECDsa verifier = original.GetECDsaPublicKey()!;
        Assert.True(verifier.VerifyData(data, signer.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
    }

    [Fact]
    public void LoadCertificate_WrittenCertificate_HasNoKeyAndSameBytes()
    {
        using X509Certificate2 original = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        CertificateStore.WriteCertificate(_dir.File("silo.pem"), original);

        using X509Certificate2 loaded = CertificateStore.LoadCertificate(_dir.File("silo.pem"));

        Assert.False(loaded.HasPrivateKey);
        Assert.Equal(original.RawData, loaded.RawData);
        Assert.DoesNotContain("PRIVATE", File.ReadAllText(_dir.File("silo.pem")), StringComparison.Ordinal);
    }

    [Fact]
    public void WritePrivateKey_NewFile_IsPkcs8PemWithMode0600()
    {
        using X509Certificate2 cert = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        CertificateStore.WritePrivateKey(_dir.File("k.pem"), cert);

        Assert.StartsWith("-----BEGIN PRIVATE KEY-----\n", File.ReadAllText(_dir.File("k.pem")), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(_dir.File("k.pem")));
        }
    }

    [Fact]
    public void WritePrivateKey_ExistingWorldReadableFile_BecomesOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.WriteAllText(_dir.File("k.pem"), "old");
        File.SetUnixFileMode(_dir.File("k.pem"), OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using X509Certificate2 cert = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        CertificateStore.WritePrivateKey(_dir.File("k.pem"), cert);

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(_dir.File("k.pem")));
        // Replaced, not appended to: the file starts with the key. (Not "does not contain old": three base64
        // characters of a fresh key spell it now and then.)
        Assert.StartsWith("-----BEGIN ", File.ReadAllText(_dir.File("k.pem")), StringComparison.Ordinal);
    }

    [Fact]
    public void WritePrivateKey_CertificateWithoutKey_ThrowsArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => CertificateStore.WritePrivateKey(_dir.File("k.pem"), _ca.Certificate));

        Assert.Contains("no ECDSA private key", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("k.pem")));
    }

    [Fact]
    public void LoadCertificate_MissingFile_ThrowsFileNotFoundNamingPath()
    {
        string path = _dir.File("absent.pem");

        var ex = Assert.Throws<FileNotFoundException>(() => CertificateStore.LoadCertificate(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificate_MalformedFile_ThrowsInvalidDataNamingPath()
    {
        File.WriteAllText(_dir.File("bad.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");

        var ex = Assert.Throws<InvalidDataException>(() => CertificateStore.LoadCertificate(_dir.File("bad.pem")));

        Assert.Contains(_dir.File("bad.pem"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificateWithKey_MissingKeyFile_ThrowsFileNotFoundNamingKeyPath()
    {
        using X509Certificate2 cert = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        CertificateStore.WriteCertificate(_dir.File("silo.pem"), cert);

        var ex = Assert.Throws<FileNotFoundException>(() => CertificateStore.LoadCertificateWithKey(_dir.File("silo.pem"), _dir.File("silo.key.pem")));

        Assert.Contains(_dir.File("silo.key.pem"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificateWithKey_KeyOfAnotherCertificate_ThrowsNamingBothFiles()
    {
        using X509Certificate2 first = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        using X509Certificate2 second = _ca.IssueSilo(SiloId.Parse("silo-2"), Pki.LeafValidity);
        CertificateStore.WriteCertificate(_dir.File("silo-1.pem"), first);
        CertificateStore.WritePrivateKey(_dir.File("silo-2.key.pem"), second);

        var ex = Assert.Throws<InvalidDataException>(
            () => CertificateStore.LoadCertificateWithKey(_dir.File("silo-1.pem"), _dir.File("silo-2.key.pem")));

        Assert.Contains(_dir.File("silo-1.pem"), ex.Message, StringComparison.Ordinal);
        Assert.Contains(_dir.File("silo-2.key.pem"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificateWithKey_MalformedKey_NamesFileAndQuotesNothingOfIt()
    {
        using X509Certificate2 cert = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        CertificateStore.WriteCertificate(_dir.File("silo.pem"), cert);
        File.WriteAllText(_dir.File("silo.key.pem"), "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n");

        var ex = Assert.Throws<InvalidDataException>(() => CertificateStore.LoadCertificateWithKey(_dir.File("silo.pem"), _dir.File("silo.key.pem")));

        Assert.Contains(_dir.File("silo.key.pem"), ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("U0VDUkVU", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificateWithKey_CertificateFileGivenAsKey_ThrowsInvalidData()
    {
        using X509Certificate2 cert = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        CertificateStore.WriteCertificate(_dir.File("silo.pem"), cert);

        Assert.Throws<InvalidDataException>(() => CertificateStore.LoadCertificateWithKey(_dir.File("silo.pem"), _dir.File("silo.pem")));
    }

    [Fact]
    public void LoadFromFiles_WrittenCaMaterial_IssuesAcceptedCertificates()
    {
        File.WriteAllText(_dir.File("ca.pem"), _ca.ExportCertificatePem());
        File.WriteAllText(_dir.File("ca.key.pem"), _ca.ExportPrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_dir.File("ca.key.pem"), OwnerOnly); // a group-readable CA key is refused
        }

        using ConsortiumCa loaded = ConsortiumCa.LoadFromFiles(_dir.File("ca.pem"), _dir.File("ca.key.pem"), _time);
        using X509Certificate2 silo = loaded.IssueSilo(SiloId.Parse("silo-4"), Pki.LeafValidity);

        Assert.True(new PeerCertificateValidator(_ca.Certificate, _time).ValidateSilo(silo).IsValid);
    }

    [Fact]
    public void LoadFromFiles_MismatchedKey_ThrowsInvalidDataNamingFiles()
    {
        using ConsortiumCa other = Pki.NewCa(_time);
        File.WriteAllText(_dir.File("ca.pem"), _ca.ExportCertificatePem());
        File.WriteAllText(_dir.File("ca.key.pem"), other.ExportPrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_dir.File("ca.key.pem"), OwnerOnly);
        }

        var ex = Assert.Throws<InvalidDataException>(() => ConsortiumCa.LoadFromFiles(_dir.File("ca.pem"), _dir.File("ca.key.pem"), _time));

        Assert.Contains(_dir.File("ca.key.pem"), ex.Message, StringComparison.Ordinal);
    }
}
