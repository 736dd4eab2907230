using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Tests;

/// <summary>The signed deny-list, pins and the CA's distinct subject, as the validator applies them.</summary>
public sealed class DenyListTests : IDisposable
{
    private readonly ManualTimeProvider _time = new(Pki.Epoch);
    private readonly ConsortiumCa _ca;
    private readonly X509Certificate2 _silo1;
    private readonly X509Certificate2 _silo2;
    private readonly TempDirectory _dir = new();

    public DenyListTests()
    {
        _ca = Pki.NewCa(_time);
        _silo1 = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        _silo2 = _ca.IssueSilo(SiloId.Parse("silo-2"), Pki.LeafValidity);
    }

    public void Dispose()
    {
        _silo1.Dispose();
        _silo2.Dispose();
        _ca.Dispose();
        _dir.Dispose();
    }

    private DenyList Revoking(X509Certificate2 certificate) =>
        DenyList.Empty(_ca.Certificate, _time.GetUtcNow()).With(DenyListEntryKind.Certificate, CertificateFingerprint.Sha256Hex(certificate), _time.GetUtcNow(), "key leaked");

    [Fact]
    public void SaveThenLoad_SignedList_RoundTripsEntries()
    {
        string path = _dir.File("revoked.txt");
        Revoking(_silo1).With(DenyListEntryKind.Silo, "silo-9", _time.GetUtcNow(), "left\nthe consortium").Save(path, _ca);

        DenyList loaded = DenyList.Load(path, _ca.Certificate);

        Assert.Equal(2, loaded.Entries.Count);
        Assert.Equal(CertificateFingerprint.Sha256Hex(_silo1), loaded.Entries[0].Value);
        Assert.Equal("left the consortium", loaded.Entries[1].Reason);
        Assert.NotNull(loaded.Find(CertificateFingerprint.Sha256Hex(_silo1), SiloId.Parse("silo-1")));
        Assert.NotNull(loaded.Find(new string('0', 64), SiloId.Parse("silo-9")));
        Assert.Null(loaded.Find(CertificateFingerprint.Sha256Hex(_silo2), SiloId.Parse("silo-2")));
    }

    [Fact]
    public void Load_EntryRemovedAfterSigning_RefusedAsBadSignature()
    {
        string path = _dir.File("revoked.txt");
        Revoking(_silo1).Save(path, _ca);
        string[] lines = File.ReadAllLines(path);
        File.WriteAllLines(path, lines.Where(l => !l.StartsWith("revoke ", StringComparison.Ordinal)));

        var ex = Assert.Throws<InvalidDataException>(() => DenyList.Load(path, _ca.Certificate));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("valid signature", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ListOfAnotherCa_RefusedNamingBothFingerprints()
    {
        using ConsortiumCa other = Pki.NewCa(_time);
        string path = _dir.File("revoked.txt");
        DenyList.Empty(other.Certificate, _time.GetUtcNow()).Save(path, other);

        var ex = Assert.Throws<InvalidDataException>(() => DenyList.Load(path, _ca.Certificate));

        Assert.Contains(CertificateFingerprint.Sha256Hex(other.Certificate), ex.Message, StringComparison.Ordinal);
        Assert.Contains(CertificateFingerprint.Sha256Hex(_ca.Certificate), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateSilo_DenyListFileChangedAfterStart_RevocationAppliesWithoutRestart()
    {
        string path = _dir.File("revoked.txt");
        DenyList.Empty(_ca.Certificate, _time.GetUtcNow()).Save(path, _ca);
        var validator = new PeerCertificateValidator(_ca.Certificate, _time, new PeerRestrictions { DenyList = new DenyListFile(path, _ca.Certificate) });
        Assert.True(validator.ValidateSilo(_silo1).IsValid);

        Revoking(_silo1).Save(path, _ca);

        Assert.Equal(PeerValidationFailure.Revoked, validator.ValidateSilo(_silo1).Failure);
        Assert.True(validator.ValidateSilo(_silo2).IsValid);
    }

    [Fact]
    public void ValidateSilo_DenyListFileDamaged_EveryPeerRefused()
    {
        string path = _dir.File("revoked.txt");
        DenyList.Empty(_ca.Certificate, _time.GetUtcNow()).Save(path, _ca);
        var validator = new PeerCertificateValidator(_ca.Certificate, _time, new PeerRestrictions { DenyList = new DenyListFile(path, _ca.Certificate) });

        File.AppendAllText(path, "revoke silo:silo-2 2031-03-14T09:26:53Z added by hand\n");

        PeerValidationResult result = validator.ValidateSilo(_silo2);
        Assert.Equal(PeerValidationFailure.Revoked, result.Failure);
        Assert.Contains(path, result.Message, StringComparison.Ordinal);
        Assert.Equal(PeerValidationFailure.Revoked, validator.ValidateSilo(_silo1).Failure);
    }

    [Fact]
    public void ValidateSilo_PinnedFingerprint_OnlyThePinnedCertificateAccepted()
    {
        using X509Certificate2 sameIdOtherKey = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);
        MemberList members = MemberList.Parse([$"silo-1=sha256:{CertificateFingerprint.Sha256Hex(_silo1).ToUpperInvariant()}", "silo-2"]);
        var validator = new PeerCertificateValidator(_ca.Certificate, _time, new PeerRestrictions { PinnedFingerprints = members.Pins });

        PeerValidationResult mismatch = validator.ValidateSilo(sameIdOtherKey);

        Assert.Equal(["silo-1", "silo-2"], members.Ids);
        Assert.True(validator.ValidateSilo(_silo1).IsValid);
        Assert.True(validator.ValidateSilo(_silo2).IsValid);
        Assert.Equal(PeerValidationFailure.PinMismatch, mismatch.Failure);
        Assert.Contains(CertificateFingerprint.Sha256Hex(sameIdOtherKey), mismatch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MemberListParse_MalformedPin_ErrorNamesOptionEntryAndForm()
    {
        var ex = Assert.Throws<ArgumentException>(() => MemberList.Parse(["silo-1", "silo-2=sha256:abcd"]));

        Assert.Contains("Members[1]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("silo-2=sha256:abcd", ex.Message, StringComparison.Ordinal);
        Assert.Contains("64 hex digits", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_TwoCas_DistinctSubjectsAndForeignErrorShowsExpectedFingerprint()
    {
        using ConsortiumCa other = Pki.NewCa(_time);
        using ConsortiumCa named = ConsortiumCa.Create("acme-health", _time, Pki.CaValidity, "prod-2031");
        using X509Certificate2 foreign = other.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        PeerValidationResult result = new PeerCertificateValidator(_ca.Certificate, _time).ValidateSilo(foreign);

        Assert.NotEqual(_ca.Certificate.Subject, other.Certificate.Subject);
        Assert.Contains("CN=SecureFed consortium CA prod-2031", named.Certificate.Subject, StringComparison.Ordinal);
        Assert.Equal(PeerValidationFailure.UntrustedIssuer, result.Failure);
        Assert.Contains($"sha256 {CertificateFingerprint.Sha256Hex(_ca.Certificate)}", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_LabelWithSpace_Refused()
    {
        Assert.Throws<ArgumentException>(() => ConsortiumCa.Create("acme-health", _time, Pki.CaValidity, "two words"));
    }
}
