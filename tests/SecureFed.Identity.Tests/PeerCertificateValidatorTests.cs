using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Tests;

public sealed class PeerCertificateValidatorTests : IDisposable
{
    private static readonly SiloId Silo1 = SiloId.Parse("silo-1");

    private readonly ManualTimeProvider _time = new(Pki.Epoch);
    private readonly ConsortiumCa _ca;
    private readonly PeerCertificateValidator _validator;

    public PeerCertificateValidatorTests()
    {
        _ca = Pki.NewCa(_time);
        _validator = new PeerCertificateValidator(_ca.Certificate, _time);
    }

    public void Dispose() => _ca.Dispose();

    [Fact]
    public void ValidateSilo_GoodSiloCertificate_SucceedsWithIdAndFingerprint()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);

        PeerValidationResult result = _validator.ValidateSilo(cert);

        Assert.True(result.IsValid, result.Message);
        Assert.Equal(PeerValidationFailure.None, result.Failure);
        Assert.Equal(Silo1, result.SiloId);
        Assert.Equal(CertificateFingerprint.Sha256Hex(cert), result.Sha256Fingerprint);
        Assert.Equal(cert.Subject, result.Subject);
    }

    [Fact]
    public void ValidateSilo_SameCertificateAgain_AnsweredWithoutBuildingTheChainAgain()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);
        using X509Certificate2 other = _ca.IssueSilo(SiloId.Parse("silo-2"), Pki.LeafValidity);

        PeerValidationResult first = _validator.ValidateSilo(cert);
        using (X509Certificate2 copy = X509CertificateLoader.LoadCertificate(cert.RawData))
        {
            PeerValidationResult again = _validator.ValidateSilo(copy); // another instance of the same bytes, as each round's message brings

            Assert.True(again.IsValid, again.Message);
            Assert.Equal(first.Message, again.Message);
            Assert.Equal(Silo1, again.SiloId);
        }

        Assert.Equal(1, _validator.ChainBuilds);
        Assert.True(_validator.ValidateSilo(other).IsValid);
        Assert.Equal(2, _validator.ChainBuilds);
    }

    [Fact]
    public void ValidateSilo_RememberedChain_ImpostorWithTheSameNamesStillBuildsAndFails()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);
        string label = _ca.Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)[(ConsortiumCa.RootCommonName.Length + 1)..];
        using ConsortiumCa impostor = ConsortiumCa.Create(_ca.ConsortiumName, _time, Pki.CaValidity, label);
        using X509Certificate2 forged = impostor.IssueSilo(Silo1, Pki.LeafValidity);
        Assert.True(_validator.ValidateSilo(cert).IsValid);

        AssertRefused(_validator.ValidateSilo(forged), PeerValidationFailure.UntrustedIssuer);
        AssertRefused(_validator.ValidateSilo(forged), PeerValidationFailure.UntrustedIssuer); // a refusal is never remembered
        Assert.Equal(3, _validator.ChainBuilds);
    }

    [Fact]
    public void ValidateSilo_RememberedChain_RefusedOnceTheLeafOrTheRootExpires()
    {
        using ConsortiumCa shortCa = ConsortiumCa.Create("short", _time, TimeSpan.FromDays(10));
        using X509Certificate2 leaf = shortCa.IssueSilo(Silo1, TimeSpan.FromDays(2));
        using X509Certificate2 longLeaf = shortCa.IssueSilo(SiloId.Parse("silo-2"), TimeSpan.FromDays(30));
        var validator = new PeerCertificateValidator(shortCa.Certificate, _time);
        Assert.True(validator.ValidateSilo(leaf).IsValid);
        Assert.True(validator.ValidateSilo(longLeaf).IsValid);

        _time.Advance(TimeSpan.FromDays(3));
        AssertRefused(validator.ValidateSilo(leaf), PeerValidationFailure.Expired, "expired");
        Assert.True(validator.ValidateSilo(longLeaf).IsValid);

        _time.Advance(TimeSpan.FromDays(8)); // past the root's NotAfter; the leaf may be capped to it, the root's check comes first
        AssertRefused(validator.ValidateSilo(longLeaf), PeerValidationFailure.Expired, "consortium CA that expired");
        Assert.Equal(2, validator.ChainBuilds);
    }

    [Fact]
    public void ValidateSilo_NullCertificate_FailsNoCertificate()
    {
        PeerValidationResult result = _validator.ValidateSilo(null);

        AssertRefused(result, PeerValidationFailure.NoCertificate);
        Assert.Null(result.Sha256Fingerprint);
    }

    [Fact]
    public void ValidateSilo_SameNamesFromAnotherCa_FailsUntrustedIssuer()
    {
        // An impostor copies the subject, label included: the name alone must never make it trusted.
        string label = _ca.Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)[(ConsortiumCa.RootCommonName.Length + 1)..];
        using ConsortiumCa impostor = ConsortiumCa.Create(_ca.ConsortiumName, _time, Pki.CaValidity, label);
        using X509Certificate2 cert = impostor.IssueSilo(Silo1, Pki.LeafValidity);
        Assert.Equal(_ca.Certificate.Subject, impostor.Certificate.Subject);

        PeerValidationResult result = _validator.ValidateSilo(cert);

        AssertRefused(result, PeerValidationFailure.UntrustedIssuer);
        Assert.Equal(CertificateFingerprint.Sha256Hex(cert), result.Sha256Fingerprint);
    }

    [Fact]
    public void ValidateSilo_ForeignCertificateThatIsAlsoExpired_ReportsUntrustedIssuerFirst()
    {
        using ConsortiumCa impostor = Pki.NewCa(_time);
        using X509Certificate2 cert = impostor.IssueSilo(Silo1, TimeSpan.FromDays(1));
        _time.Advance(TimeSpan.FromDays(2));

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.UntrustedIssuer);
    }

    [Fact]
    public void ValidateSilo_ServerAuthOnlyCertificateWithSiloUri_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { ExtendedKeyUsages = [IdentityOids.ServerAuth] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.WrongUsage, "clientAuth");
    }

    [Fact]
    public void ValidateSilo_ClientAndServerAuth_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { ExtendedKeyUsages = [IdentityOids.ClientAuth, IdentityOids.ServerAuth] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.WrongUsage, "serverAuth");
    }

    [Fact]
    public void ValidateSilo_AnyExtendedKeyUsage_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { ExtendedKeyUsages = [IdentityOids.ClientAuth, IdentityOids.AnyExtendedKeyUsage] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.WrongUsage, "anyExtendedKeyUsage");
    }

    [Fact]
    public void ValidateSilo_CodeSigningUsage_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { ExtendedKeyUsages = [IdentityOids.CodeSigning] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.WrongUsage);
    }

    [Fact]
    public void ValidateSilo_NoEkuExtension_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { ExtendedKeyUsages = [] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.WrongUsage, "no extended key usage");
    }

    [Fact]
    public void ValidateSilo_CoordinatorCertificate_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueCoordinator([], [], Pki.LeafValidity);

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.WrongUsage);
    }

    [Fact]
    public void ValidateSilo_ConsortiumRootItself_FailsWrongUsage()
    {
        AssertRefused(_validator.ValidateSilo(_ca.Certificate), PeerValidationFailure.WrongUsage, "consortium root");
    }

    [Fact]
    public void ValidateSilo_ClockMovedPastNotAfter_FailsExpired()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, TimeSpan.FromDays(1));
        Assert.True(_validator.ValidateSilo(cert).IsValid);

        _time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.Expired, "expired");
    }

    [Fact]
    public void ValidateSilo_ClockBeforeNotBefore_FailsNotYetValid()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);

        _time.Set(Pki.Epoch - ConsortiumCa.ClockSkewAllowance - TimeSpan.FromSeconds(1));

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.NotYetValid);
    }

    [Fact]
    public void ValidateSilo_ClockWithinSkewAllowance_Succeeds()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);

        _time.Set(Pki.Epoch - ConsortiumCa.ClockSkewAllowance + TimeSpan.FromSeconds(1));

        Assert.True(_validator.ValidateSilo(cert).IsValid);
    }

    [Fact]
    public void ValidateSilo_IdOnlyInCommonName_FailsMissingSiloId()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { Uris = [] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.MissingSiloId);
    }

    [Fact]
    public void ValidateSilo_OtherUriAndDnsOnly_FailsMissingSiloId()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with
        {
            Uris = [new Uri("https://silo/silo-1")],
            DnsNames = ["silo-1"],
        });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.MissingSiloId);
    }

    [Fact]
    public void ValidateSilo_TwoSiloUris_FailsMissingSiloId()
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with
        {
            Uris = [Silo1.ToSanUri(), SiloId.Parse("silo-2").ToSanUri()],
        });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.MissingSiloId, "exactly one");
    }

    [Theory]
    [InlineData("securefed://silo/Bad_Id")]
    [InlineData("securefed://silo/silo-1/extra")]
    [InlineData("securefed://silo/")]
    public void ValidateSilo_MalformedSiloIdInUri_FailsMissingSiloId(string uri)
    {
        using X509Certificate2 cert = _ca.IssueCustom(SiloShape() with { Uris = [new Uri(uri)] });

        AssertRefused(_validator.ValidateSilo(cert), PeerValidationFailure.MissingSiloId);
    }

    [Fact]
    public void ValidateSilo_Refusal_MessageCarriesNoKeyMaterial()
    {
        using ConsortiumCa impostor = Pki.NewCa(_time);
        using X509Certificate2 cert = impostor.IssueSilo(Silo1, Pki.LeafValidity);
        using ECDsa key = cert.GetECDsaPrivateKey()!;
        string keyBody = ConsortiumCaTests.KeyBody(key.ExportPkcs8PrivateKeyPem());

        PeerValidationResult result = _validator.ValidateSilo(cert);

        Assert.False(result.IsValid);
        Assert.DoesNotContain(keyBody, result.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateCoordinator_CoordinatorCertificate_SucceedsWithoutSiloId()
    {
        using X509Certificate2 cert = _ca.IssueCoordinator(["coordinator"], [], Pki.LeafValidity);

        PeerValidationResult result = _validator.ValidateCoordinator(cert);

        Assert.True(result.IsValid, result.Message);
        Assert.Null(result.SiloId);
        Assert.Equal(CertificateFingerprint.Sha256Hex(cert), result.Sha256Fingerprint);
    }

    [Fact]
    public void ValidateCoordinator_SiloCertificate_FailsWrongUsage()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);

        AssertRefused(_validator.ValidateCoordinator(cert), PeerValidationFailure.WrongUsage, "serverAuth");
    }

    [Fact]
    public void ValidateCoordinator_CoordinatorFromAnotherCa_FailsUntrustedIssuer()
    {
        using ConsortiumCa impostor = Pki.NewCa(_time);
        using X509Certificate2 cert = impostor.IssueCoordinator([], [], Pki.LeafValidity);

        AssertRefused(_validator.ValidateCoordinator(cert), PeerValidationFailure.UntrustedIssuer);
    }

    [Fact]
    public void ValidateCoordinator_ClockPastCaNotAfter_FailsExpired()
    {
        using ConsortiumCa shortCa = ConsortiumCa.Create("short", _time, TimeSpan.FromDays(2));
        using X509Certificate2 cert = shortCa.IssueCoordinator([], [], TimeSpan.FromDays(2));
        var validator = new PeerCertificateValidator(shortCa.Certificate, _time);

        _time.Advance(TimeSpan.FromDays(3));

        AssertRefused(validator.ValidateCoordinator(cert), PeerValidationFailure.Expired);
    }

    [Fact]
    public void Constructor_LeafCertificateAsRoot_ThrowsArgumentException()
    {
        using X509Certificate2 leaf = _ca.IssueSilo(Silo1, Pki.LeafValidity);

        Assert.Throws<ArgumentException>(() => new PeerCertificateValidator(leaf, _time));
    }

    [Fact]
    public void Constructor_RootDisposedAfterwards_ValidatorStillWorks()
    {
        var rootCopy = X509CertificateLoader.LoadCertificate(_ca.Certificate.RawData);
        var validator = new PeerCertificateValidator(rootCopy, _time);
        rootCopy.Dispose();
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);

        Assert.True(validator.ValidateSilo(cert).IsValid);
    }

    [Fact]
    public void CoordinatorCallback_OnlySystemChainErrors_AcceptsBecauseSystemTrustIsIgnored()
    {
        using X509Certificate2 cert = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        var results = new List<PeerValidationResult>();
        RemoteCertificateValidationCallback callback = PeerCertificateValidator.CreateCoordinatorCallback(_ca.Certificate, _time, results.Add);

        bool accepted = callback(this, cert, null, SslPolicyErrors.RemoteCertificateChainErrors);

        Assert.True(accepted);
        Assert.True(Assert.Single(results).IsValid);
    }

    [Fact]
    public void CoordinatorCallback_NameMismatch_RefusesWithNameMismatch()
    {
        using X509Certificate2 cert = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        var results = new List<PeerValidationResult>();
        RemoteCertificateValidationCallback callback = _validator.CreateCoordinatorCallback(results.Add);

        bool accepted = callback(this, cert, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors);

        Assert.False(accepted);
        AssertRefused(Assert.Single(results), PeerValidationFailure.NameMismatch);
    }

    [Fact]
    public void CoordinatorCallback_ForeignCoordinatorWithNoPlatformErrors_Refuses()
    {
        using ConsortiumCa impostor = Pki.NewCa(_time);
        using X509Certificate2 cert = impostor.IssueCoordinator([], [], Pki.LeafValidity);

        Assert.False(_validator.CreateCoordinatorCallback()(this, cert, null, SslPolicyErrors.None));
    }

    [Fact]
    public void HttpClientHandlerCallback_GoodAndMismatchedHost_AcceptsOnlyMatchingHost()
    {
        using X509Certificate2 cert = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://localhost/");
        var callback = _validator.CreateHttpClientHandlerCallback();

        Assert.True(callback(request, cert, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(callback(request, cert, null, SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.False(callback(request, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    [Fact]
    public void SiloCallback_PlainX509Certificate_IsConvertedAndValidated()
    {
        using X509Certificate2 cert = _ca.IssueSilo(Silo1, Pki.LeafValidity);
#pragma warning disable SYSLIB0026, SYSLIB0057 // deliberately the base type, as some TLS stacks hand it over
        using var plain = new X509Certificate(cert.RawData);
#pragma warning restore SYSLIB0026, SYSLIB0057
        PeerValidationResult? seen = null;

        bool accepted = _validator.CreateSiloCallback(r => seen = r)(this, plain, null, SslPolicyErrors.RemoteCertificateChainErrors);

        Assert.True(accepted);
        Assert.Equal(Silo1, seen!.SiloId);
    }

    private static CertificateIssueOptions SiloShape() => new()
    {
        CommonName = Silo1.Value,
        ExtendedKeyUsages = [IdentityOids.ClientAuth],
        Uris = [Silo1.ToSanUri()],
        Validity = Pki.LeafValidity,
    };

    private static void AssertRefused(PeerValidationResult result, PeerValidationFailure expected, string? messagePart = null)
    {
        Assert.False(result.IsValid, result.Message);
        Assert.Equal(expected, result.Failure);
        Assert.Null(result.SiloId);
        Assert.False(string.IsNullOrWhiteSpace(result.Message));
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, result.Message, StringComparison.Ordinal);
        }
    }
}
