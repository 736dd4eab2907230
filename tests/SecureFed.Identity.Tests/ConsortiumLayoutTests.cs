using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace SecureFed.Identity.Tests;

public sealed class ConsortiumLayoutTests : IDisposable
{
    private readonly ManualTimeProvider _time = new(Pki.Epoch);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Init_ThreeSilos_WritesEveryFileWithOwnerOnlyKeys()
    {
        ConsortiumLayout.Init(_dir.Path, 3, [], _time, overwrite: false);

        string[] expected =
        [
            "ca.key.pem", "ca.pem", "coordinator.key.pem", "coordinator.pem", "manifest.json",
            "silo-1.key.pem", "silo-1.pem", "silo-2.key.pem", "silo-2.pem", "silo-3.key.pem", "silo-3.pem",
        ];
        Assert.Equal(expected, Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            foreach (string key in expected.Where(f => f.EndsWith(".key.pem", StringComparison.Ordinal)))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File(key)));
            }
        }
    }

    [Fact]
    public void Init_WrittenFiles_LoadAndPassValidation()
    {
        ConsortiumLayout.Init(_dir.Path, 2, ["coordinator", "10.0.0.5"], _time, overwrite: false);
        using X509Certificate2 root = CertificateStore.LoadCertificate(_dir.File("ca.pem"));
        using X509Certificate2 silo = CertificateStore.LoadCertificateWithKey(_dir.File("silo-2.pem"), _dir.File("silo-2.key.pem"));
        using X509Certificate2 coordinator = CertificateStore.LoadCertificateWithKey(_dir.File("coordinator.pem"), _dir.File("coordinator.key.pem"));
        var validator = new PeerCertificateValidator(root, _time);

        PeerValidationResult siloResult = validator.ValidateSilo(silo);
        PeerValidationResult coordinatorResult = validator.ValidateCoordinator(coordinator);

        Assert.Equal(SiloId.Parse("silo-2"), siloResult.SiloId);
        Assert.True(coordinatorResult.IsValid, coordinatorResult.Message);
        var san = Pki.San(coordinator)!;
        Assert.Equal(["localhost", "coordinator"], san.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Parse("10.0.0.5"), san.EnumerateIPAddresses());
    }

    [Fact]
    public void Init_ExistingMaterial_RefusesWithoutOverwriteAndLeavesFilesAlone()
    {
        ConsortiumLayout.Init(_dir.Path, 1, [], _time, overwrite: false);
        byte[] before = File.ReadAllBytes(_dir.File("ca.pem"));

        var ex = Assert.Throws<IOException>(() => ConsortiumLayout.Init(_dir.Path, 1, [], _time, overwrite: false));

        Assert.Contains("Refusing to overwrite", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ca.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("overwrite", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_dir.File("ca.pem")));
    }

    [Fact]
    public void Init_OnlyAStraySiloFileExists_RefusesWithoutOverwrite()
    {
        File.WriteAllText(_dir.File("silo-9.pem"), "x");

        Assert.Throws<IOException>(() => ConsortiumLayout.Init(_dir.Path, 1, [], _time, overwrite: false));
        Assert.False(File.Exists(_dir.File("ca.pem")));
    }

    [Fact]
    public void Init_Overwrite_ReplacesCaAndRemovesStaleSilos()
    {
        ConsortiumManifest first = ConsortiumLayout.Init(_dir.Path, 3, [], _time, overwrite: false);

        ConsortiumManifest second = ConsortiumLayout.Init(_dir.Path, 1, [], _time, overwrite: true);

        Assert.NotEqual(first.Ca.Sha256Fingerprint, second.Ca.Sha256Fingerprint);
        Assert.True(File.Exists(_dir.File("silo-1.pem")));
        Assert.False(File.Exists(_dir.File("silo-2.pem")));
        Assert.False(File.Exists(_dir.File("silo-3.key.pem")));
        using X509Certificate2 root = CertificateStore.LoadCertificate(_dir.File("ca.pem"));
        Assert.Equal(second.Ca.Sha256Fingerprint, CertificateFingerprint.Sha256Hex(root));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1001)]
    public void Init_SiloCountOutOfRange_ThrowsAndWritesNothing(int silos)
    {
        string outDir = _dir.File("out");

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ConsortiumLayout.Init(outDir, silos, [], _time, overwrite: false));

        Assert.Contains("between 1 and 1000", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Init_InvalidDnsName_ThrowsAndWritesNothing()
    {
        string outDir = _dir.File("out");

        Assert.Throws<ArgumentException>(() => ConsortiumLayout.Init(outDir, 1, ["*.wild"], _time, overwrite: false));

        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Init_Manifest_ListsNamesFingerprintsAndDatesButNoKeys()
    {
        ConsortiumLayout.Init(_dir.Path, 2, ["coordinator"], _time, overwrite: false, consortiumName: "north-sea-banks");
        string json = File.ReadAllText(_dir.File("manifest.json"));
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement rootElement = doc.RootElement;
        using X509Certificate2 silo2 = CertificateStore.LoadCertificate(_dir.File("silo-2.pem"));
        using X509Certificate2 coordinator = CertificateStore.LoadCertificate(_dir.File("coordinator.pem"));

        Assert.Equal("north-sea-banks", rootElement.GetProperty("consortiumName").GetString());
        Assert.Equal(Pki.Epoch, rootElement.GetProperty("createdAt").GetDateTimeOffset());
        JsonElement[] silos = [.. rootElement.GetProperty("silos").EnumerateArray()];
        Assert.Equal(["silo-1", "silo-2"], silos.Select(s => s.GetProperty("siloId").GetString()));
        Assert.Equal(CertificateFingerprint.Sha256Hex(silo2), silos[1].GetProperty("sha256Fingerprint").GetString());
        Assert.Equal("silo-2.pem", silos[1].GetProperty("file").GetString());
        Assert.Equal(new DateTimeOffset(silo2.NotAfter.ToUniversalTime()), silos[1].GetProperty("notAfter").GetDateTimeOffset());
        Assert.Equal(Pki.Epoch + ConsortiumLayout.LeafValidity, silos[1].GetProperty("notAfter").GetDateTimeOffset());
        JsonElement coordinatorElement = rootElement.GetProperty("coordinator");
        Assert.Equal(CertificateFingerprint.Sha256Hex(coordinator), coordinatorElement.GetProperty("sha256Fingerprint").GetString());
        Assert.Equal(["localhost", "coordinator"], coordinatorElement.GetProperty("dnsNames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(Pki.Epoch + ConsortiumLayout.CaValidity, rootElement.GetProperty("ca").GetProperty("notAfter").GetDateTimeOffset());

        Assert.DoesNotContain("PRIVATE", json, StringComparison.OrdinalIgnoreCase);
        foreach (string keyFile in Directory.GetFiles(_dir.Path, "*.key.pem"))
        {
            Assert.DoesNotContain(ConsortiumCaTests.KeyBody(File.ReadAllText(keyFile)), json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ManifestLoad_WrittenManifest_MatchesReturnedOne()
    {
        ConsortiumManifest written = ConsortiumLayout.Init(_dir.Path, 2, [], _time, overwrite: false);

        ConsortiumManifest loaded = ConsortiumManifest.Load(_dir.File("manifest.json"));

        Assert.Equal(written.ConsortiumName, loaded.ConsortiumName);
        Assert.Equal(written.Ca, loaded.Ca);
        Assert.Equal(written.Silos.Select(s => (s.SiloId, s.Sha256Fingerprint)), loaded.Silos.Select(s => (s.SiloId, s.Sha256Fingerprint)));
        Assert.Equal(written.Coordinator.DnsNames, loaded.Coordinator.DnsNames);
    }

    [Fact]
    public void ManifestLoad_NotJson_ThrowsInvalidDataNamingFile()
    {
        File.WriteAllText(_dir.File("manifest.json"), "{ not json");

        var ex = Assert.Throws<InvalidDataException>(() => ConsortiumManifest.Load(_dir.File("manifest.json")));

        Assert.Contains(_dir.File("manifest.json"), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SiloFileNames_PrefixedAndUnprefixedIds_NeverCollideWithCaFiles()
    {
        Assert.Equal("silo-1.pem", ConsortiumLayout.SiloCertificateFile(SiloId.Parse("silo-1")));
        Assert.Equal("silo-1.key.pem", ConsortiumLayout.SiloKeyFile(SiloId.Parse("silo-1")));
        Assert.Equal("silo-ca.pem", ConsortiumLayout.SiloCertificateFile(SiloId.Parse("ca")));
        Assert.Equal("silo-coordinator.key.pem", ConsortiumLayout.SiloKeyFile(SiloId.Parse("coordinator")));
    }
}
