using System.Net;
using Grpc.Core;
using SecureFed.Identity;

namespace SecureFed.Federation.Tests;

/// <summary>Each identity refusal over a real TLS connection to a running coordinator.</summary>
public sealed class IdentityRefusalTests
{
    [Fact]
    public async Task Connect_NoClientCertificate_PermissionDenied()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        var status = await ScriptedPeer.ConnectAsync(fed, null, "silo-1");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("certificate", status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Connect_CertificateFromAnotherCa_PermissionDenied()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        using var foreign = fed.Pki.Foreign.IssueSilo(SiloId.Parse("silo-1"), TimeSpan.FromDays(1));
        var status = await ScriptedPeer.ConnectAsync(fed, foreign, "silo-1");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
    }

    [Fact]
    public async Task Connect_ServerAuthOnlyCertificate_PermissionDenied()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        using var serverOnly = fed.Pki.Ca.IssueCustom(new CertificateIssueOptions
        {
            CommonName = "silo-1",
            ExtendedKeyUsages = [IdentityOids.ServerAuth],
            Uris = [new Uri("securefed://silo/silo-1")],
            DnsNames = ["localhost"],
            IpAddresses = [IPAddress.Loopback],
        });
        var status = await ScriptedPeer.ConnectAsync(fed, serverOnly, "silo-1");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
    }

    [Fact]
    public async Task Hello_ClaimsAnotherSilosId_PermissionDenied()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        var status = await ScriptedPeer.ConnectAsync(fed, fed.Pki.Silos["silo-1"], "silo-2");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("silo-2", status.Detail, StringComparison.Ordinal);
        Assert.Contains("silo-1", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_ConsortiumSiloNotAMember_PermissionDenied()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        using var outsider = fed.Pki.Ca.IssueSilo(SiloId.Parse("silo-99"), TimeSpan.FromDays(1));
        var status = await ScriptedPeer.ConnectAsync(fed, outsider, "silo-99");
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Contains("not a member", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Federation_RefusedPeersDuringRounds_CompletesWithTheOthers()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 3, minSilos: 2));
        using var foreign = fed.Pki.Foreign.IssueSilo(SiloId.Parse("silo-1"), TimeSpan.FromDays(1));
        fed.StartAgent("silo-1", new FakeTrainer(1f, delay: TimeSpan.FromMilliseconds(100)));
        fed.StartAgent("silo-2", new FakeTrainer(3f, delay: TimeSpan.FromMilliseconds(100)));
        var refusals = new List<StatusCode>();
        for (var i = 0; i < 3; i++)
        {
            refusals.Add((await ScriptedPeer.ConnectAsync(fed, foreign, "silo-1")).StatusCode);
            refusals.Add((await ScriptedPeer.ConnectAsync(fed, null, "silo-2")).StatusCode);
        }

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        Assert.All(refusals, s => Assert.Equal(StatusCode.PermissionDenied, s));
        Assert.Equal(3, outcome.RoundsCompleted);
        Assert.All(outcome.Rounds, r => Assert.Equal(2, r.Contributors));
    }

    [Fact]
    public async Task Health_WithoutClientCertificate_ReportsServing()
    {
        await using var fed = new TestFederation(2);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        using var channel = fed.RawChannel(null);

        var reply = await new Grpc.Health.V1.Health.HealthClient(channel)
            .CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Shutdown_DuringRound_RecordsTheRoundAbortedAndNothingRunning()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 3, minSilos: 2));
        var training = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = fed.StartAgent("silo-1", new FakeTrainer(1f, delay: TimeSpan.FromSeconds(30)));
        slow.TrainingStarted += _ => training.TrySetResult();
        fed.StartAgent("silo-2", new FakeTrainer(1f));

        await training.Task.WaitAsync(TestFederation.Timeout);
        await coordinator.DisposeAsync();

        var rows = coordinator.Store.Rounds();
        Assert.DoesNotContain(rows, r => r.Status == "running");
        var last = rows[^1];
        Assert.Equal("aborted", last.Status);
        Assert.Contains("shut down", last.AbortReason, StringComparison.Ordinal);
        var ledger = SecureFed.Audit.AuditLedger.Read(coordinator.LedgerPath);
        Assert.Equal(SecureFed.Audit.RoundStatus.Aborted, ledger[^1].Status);
    }

    [Fact]
    public async Task HealthCommand_RunningCoordinator_ExitsZeroAndForeignCaExitsNonZero()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        var ca = Path.Combine(fed.Directory, "ca.pem");
        var foreign = Path.Combine(fed.Directory, "foreign.pem");
        CertificateStore.WriteCertificate(ca, fed.Pki.Ca.Certificate);
        CertificateStore.WriteCertificate(foreign, fed.Pki.Foreign.Certificate);
        var output = new StringWriter();
        var config = new System.CommandLine.InvocationConfiguration { Output = output, Error = new StringWriter() };

        var serving = await SecureFed.Cli.Program.BuildRoot().Parse(["health", "--address", coordinator.Address.ToString(), "--ca", ca]).InvokeAsync(config);
        var refused = await SecureFed.Cli.Program.BuildRoot().Parse(["health", "--address", coordinator.Address.ToString(), "--ca", foreign]).InvokeAsync(config);

        Assert.Equal(0, serving);
        Assert.Contains("Serving", output.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(0, refused);
    }
}
