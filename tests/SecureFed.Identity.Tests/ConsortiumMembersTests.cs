using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Tests;

/// <summary>Adding, rotating, revoking and signing members of an existing consortium folder, with real files.</summary>
public sealed class ConsortiumMembersTests : IDisposable
{
    private readonly ManualTimeProvider _time = new(Pki.Epoch);
    private readonly TempDirectory _dir = new();

    public ConsortiumMembersTests()
    {
        ConsortiumLayout.Init(_dir.Path, 2, [], _time, overwrite: false);
    }

    public void Dispose() => _dir.Dispose();

    private X509Certificate2 Root() => CertificateStore.LoadCertificate(_dir.File("ca.pem"));

    private PeerCertificateValidator Validator(X509Certificate2 root, IDenyListSource? denyList = null) =>
        new(root, _time, new PeerRestrictions { DenyList = denyList });

    private X509Certificate2 LoadSilo(string stem) => CertificateStore.LoadCertificateWithKey(_dir.File(stem + ".pem"), _dir.File(stem + ".key.pem"));

    [Fact]
    public void IssueSilo_NewMember_WritesValidPairAndManifestEntryLeavingOthersAlone()
    {
        byte[] silo1Before = File.ReadAllBytes(_dir.File("silo-1.pem"));

        MemberIssued issued = ConsortiumMembers.IssueSilo(_dir.Path, SiloId.Parse("silo-4"), null, _time);

        using X509Certificate2 root = Root();
        using X509Certificate2 silo4 = LoadSilo("silo-4");
        PeerValidationResult result = Validator(root).ValidateSilo(silo4);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal("silo-4", result.SiloId!.Value);
        Assert.Equal(CertificateFingerprint.Sha256Hex(silo4), issued.Certificate.Sha256Fingerprint);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File("silo-4.key.pem")));
        }

        Assert.Equal(silo1Before, File.ReadAllBytes(_dir.File("silo-1.pem")));
        ConsortiumManifest manifest = ConsortiumManifest.Load(_dir.File("manifest.json"));
        Assert.Equal(["silo-1", "silo-2", "silo-4"], manifest.Silos.Select(s => s.SiloId));
        Assert.Null(issued.Revoked);
    }

    [Fact]
    public void IssueSilo_ExistingMemberWithoutRotate_RefusesAndKeepsTheFile()
    {
        byte[] before = File.ReadAllBytes(_dir.File("silo-2.pem"));

        var ex = Assert.Throws<IOException>(() => ConsortiumMembers.IssueSilo(_dir.Path, SiloId.Parse("silo-2"), null, _time));

        Assert.Contains("silo-2.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--rotate", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_dir.File("silo-2.pem")));
    }

    [Fact]
    public void IssueSilo_Rotate_NewCertificateAcceptedOldRevokedOtherMemberUntouched()
    {
        using X509Certificate2 old = LoadSilo("silo-2");
        using X509Certificate2 other = LoadSilo("silo-1");

        MemberIssued issued = ConsortiumMembers.IssueSilo(_dir.Path, SiloId.Parse("silo-2"), null, _time, rotate: true);

        using X509Certificate2 root = Root();
        using X509Certificate2 fresh = LoadSilo("silo-2");
        var validator = Validator(root, new DenyListFile(_dir.File(DenyList.DefaultFileName), root));
        Assert.True(validator.ValidateSilo(fresh).IsValid);
        Assert.True(validator.ValidateSilo(other).IsValid);
        PeerValidationResult refused = validator.ValidateSilo(old);
        Assert.Equal(PeerValidationFailure.Revoked, refused.Failure);
        Assert.Contains("deny-list", refused.Message, StringComparison.Ordinal);
        Assert.Equal(CertificateFingerprint.Sha256Hex(old), issued.Revoked!.Value);
        Assert.False(old.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(fresh.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    [Fact]
    public void IssueCoordinator_Rotate_OldCoordinatorRevokedForSilos()
    {
        using X509Certificate2 old = CertificateStore.LoadCertificate(_dir.File("coordinator.pem"));

        ConsortiumMembers.IssueCoordinator(_dir.Path, ["coordinator.example"], null, _time, rotate: true);

        using X509Certificate2 root = Root();
        using X509Certificate2 fresh = CertificateStore.LoadCertificate(_dir.File("coordinator.pem"));
        var validator = Validator(root, DenyList.Load(_dir.File(DenyList.DefaultFileName), root));
        Assert.Equal(PeerValidationFailure.Revoked, validator.ValidateCoordinator(old).Failure);
        Assert.True(validator.ValidateCoordinator(fresh).IsValid);
        Assert.Contains("coordinator.example", ConsortiumManifest.Load(_dir.File("manifest.json")).Coordinator.DnsNames!);
    }

    [Fact]
    public void RequestThenSign_KeyStaysAtSilo_CertificateMatchesItAndValidates()
    {
        using var silo = new TempDirectory();

        var (requestPath, keyPath) = ConsortiumMembers.Request(SiloId.Parse("clinic-7"), silo.Path, overwrite: false);
        MemberIssued issued = ConsortiumMembers.Sign(_dir.Path, requestPath, SiloId.Parse("clinic-7"), null, _time);

        Assert.Null(issued.KeyPath);
        Assert.False(File.Exists(_dir.File("silo-clinic-7.key.pem")));
        using X509Certificate2 withKey = CertificateStore.LoadCertificateWithKey(issued.CertificatePath, keyPath);
        using X509Certificate2 root = Root();
        PeerValidationResult result = Validator(root).ValidateSilo(withKey);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal("clinic-7", result.SiloId!.Value);
        Assert.Equal(PeerValidationFailure.None, result.Failure);
    }

    [Fact]
    public void Sign_RequestForAnotherSiloId_RefusedNamingBothIds()
    {
        using var silo = new TempDirectory();
        var (requestPath, _) = ConsortiumMembers.Request(SiloId.Parse("silo-1"), silo.Path, overwrite: false);

        var ex = Assert.Throws<InvalidDataException>(() => ConsortiumMembers.Sign(_dir.Path, requestPath, SiloId.Parse("silo-9"), null, _time));

        Assert.Contains("asks for silo 'silo-1', not 'silo-9'", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("silo-9.pem")));
    }

    [Fact]
    public void Sign_RotationReusingTheOldKey_Refused()
    {
        using var silo = new TempDirectory();
        var (requestPath, _) = ConsortiumMembers.Request(SiloId.Parse("silo-5"), silo.Path, overwrite: false);
        ConsortiumMembers.Sign(_dir.Path, requestPath, SiloId.Parse("silo-5"), null, _time);

        var ex = Assert.Throws<InvalidDataException>(() => ConsortiumMembers.Sign(_dir.Path, requestPath, SiloId.Parse("silo-5"), null, _time, rotate: true));

        Assert.Contains("same key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_RequestWithP384Key_RefusedAsUnacceptableKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=silo-6", key, HashAlgorithmName.SHA384);
        string path = _dir.File("p384.csr.pem");
        File.WriteAllText(path, request.CreateSigningRequestPem());

        var ex = Assert.Throws<InvalidDataException>(() => ConsortiumMembers.Sign(_dir.Path, path, SiloId.Parse("silo-6"), null, _time));

        Assert.Contains("P-256", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Revoke_SiloId_RefusesEveryCertificateOfThatSilo()
    {
        ConsortiumMembers.Revoke(_dir.Path, DenyListEntryKind.Silo, "silo-1", "left the consortium", null, _time);
        using X509Certificate2 root = Root();
        using var ca = ConsortiumCa.LoadFromFiles(_dir.File("ca.pem"), _dir.File("ca.key.pem"), _time);
        using X509Certificate2 another = ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        using X509Certificate2 silo2 = LoadSilo("silo-2");
        var validator = Validator(root, DenyList.Load(_dir.File(DenyList.DefaultFileName), root));

        PeerValidationResult result = validator.ValidateSilo(another);

        Assert.Equal(PeerValidationFailure.Revoked, result.Failure);
        Assert.Contains("left the consortium", result.Message, StringComparison.Ordinal);
        Assert.True(validator.ValidateSilo(silo2).IsValid);
    }

    [Fact]
    public void IssueSilo_CaKeyReadableByOthers_RefusedNamingFileAndFix()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // file modes are a Unix notion; the check does nothing on Windows
        }

        File.SetUnixFileMode(_dir.File("ca.key.pem"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var ex = Assert.Throws<InvalidDataException>(() => ConsortiumMembers.IssueSilo(_dir.Path, SiloId.Parse("silo-4"), null, _time));
        ConsortiumMembers.IssueSilo(_dir.Path, SiloId.Parse("silo-4"), null, _time, allowInsecureKey: true);

        Assert.Contains("ca.key.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("mode 0644", ex.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(_dir.File("silo-4.pem")));
    }

    [Fact]
    public void LoadCertificateWithKey_GroupReadableSiloKey_RefusedUnlessAllowed()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // file modes are a Unix notion; the check does nothing on Windows
        }

        File.SetUnixFileMode(_dir.File("silo-1.key.pem"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var ex = Assert.Throws<InvalidDataException>(() => CertificateStore.LoadCertificateWithKey(_dir.File("silo-1.pem"), _dir.File("silo-1.key.pem")));
        using X509Certificate2 allowed = CertificateStore.LoadCertificateWithKey(_dir.File("silo-1.pem"), _dir.File("silo-1.key.pem"), allowInsecurePermissions: true);

        Assert.Contains("silo-1.key.pem", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowInsecureKeyPermissions", ex.Message, StringComparison.Ordinal);
        Assert.True(allowed.HasPrivateKey);
    }

    [Fact]
    public void IssueSilo_NoCaFolder_FileNotFoundNamingFolder()
    {
        string missing = _dir.File("nowhere");

        var ex = Assert.Throws<FileNotFoundException>(() => ConsortiumMembers.IssueSilo(missing, SiloId.Parse("silo-4"), null, _time));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.Contains("--ca-dir", ex.Message, StringComparison.Ordinal);
    }
}
