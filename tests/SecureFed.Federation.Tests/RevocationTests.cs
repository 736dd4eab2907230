using Grpc.Core;
using SecureFed.Agent;
using SecureFed.Identity;

namespace SecureFed.Federation.Tests;

/// <summary>Deny-list and pinned fingerprints, enforced by a running coordinator and by the agent's channel over real loopback mTLS.</summary>
public sealed class RevocationTests
{
    private static DenyList Revoking(TestFederation fed, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        DenyList.Empty(fed.Pki.Ca.Certificate, DateTimeOffset.UtcNow)
            .With(DenyListEntryKind.Certificate, CertificateFingerprint.Sha256Hex(certificate), DateTimeOffset.UtcNow, "key stolen");

    [Fact]
    public async Task Connect_RevokedSiloCertificate_PermissionDeniedNamingTheDenyList()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2) with { DenyList = Revoking(fed, fed.Pki.Silos["silo-1"]) });

        var status = await ScriptedPeer.ConnectAsync(fed, fed.Pki.Silos["silo-1"], "silo-1");

        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("revoked", status.Detail, StringComparison.Ordinal);
        Assert.Contains("key stolen", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_CertificateNotThePinnedOne_PermissionDenied()
    {
        await using var fed = new TestFederation(2);
        using var pinned = fed.Pki.Ca.IssueSilo(SiloId.Parse("silo-1"), TimeSpan.FromDays(1));
        var members = new[] { $"silo-1=sha256:{CertificateFingerprint.Sha256Hex(pinned)}", "silo-2" };
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2) with { Members = members });

        var status = await ScriptedPeer.ConnectAsync(fed, fed.Pki.Silos["silo-1"], "silo-1");

        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("pinned", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AgentChannel_RevokedCoordinatorCertificate_RefusedWhileTheSameChannelWithoutListConnects()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        var request = new Grpc.Health.V1.HealthCheckRequest();

        using var plain = AgentChannel.Create(fed.Coordinator!.Address, fed.Pki.Silos["silo-1"], fed.Pki.Ca.Certificate, 64 * 1024);
        var serving = await new Grpc.Health.V1.Health.HealthClient(plain).CheckAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
        using var guarded = AgentChannel.Create(
            fed.Coordinator!.Address, fed.Pki.Silos["silo-1"], fed.Pki.Ca.Certificate, 64 * 1024, denyList: Revoking(fed, fed.Pki.Coordinator));
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Grpc.Health.V1.Health.HealthClient(guarded).CheckAsync(request, deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, serving.Status);
        // The TLS handshake fails in the client's own certificate callback; grpc-dotnet reports that as Unavailable or Internal.
        Assert.Contains(refused.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.Contains("SSL", refused.Status.DebugException?.ToString() ?? refused.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void SiloAgent_OwnCertificateRevoked_FailsAtStartSayingSo()
    {
        using var pki = new TestPki(1);
        var options = new AgentOptions
        {
            Coordinator = new Uri("https://127.0.0.1:1"),
            FederationId = "test-federation",
            DenyList = DenyList.Empty(pki.Ca.Certificate, DateTimeOffset.UtcNow).With(DenyListEntryKind.Silo, "silo-1", DateTimeOffset.UtcNow, "left"),
        };

        var ex = Assert.Throws<ArgumentException>(() => new SiloAgent(options, pki.Silos["silo-1"], pki.Ca.Certificate, new FakeTrainer(1f)));

        Assert.Contains("revoked", ex.Message, StringComparison.Ordinal);
    }
}
