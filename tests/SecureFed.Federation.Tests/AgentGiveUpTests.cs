using System.Net;
using SecureFed.Agent;
using SecureFed.Coordinator;

namespace SecureFed.Federation.Tests;

/// <summary>An agent stops at once, with one line saying why, on errors that retrying cannot fix (issue 13, life cycle).</summary>
public sealed class AgentGiveUpTests
{
    private static SiloAgent Agent(TestFederation fed, Uri coordinator, string federationId, string silo = "silo-1") => new(
        new AgentOptions { Coordinator = coordinator, FederationId = federationId, ReconnectMin = TimeSpan.FromMilliseconds(50), ReconnectMax = TimeSpan.FromMilliseconds(200) },
        fed.Pki.Silos[silo], fed.Pki.Ca.Certificate, new FakeTrainer(0.1f), new LocalPolicy { AllowedDatasets = ["fake"] });

    [Fact]
    public async Task WrongFederationId_GivesUpNamingBothIds()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));

        var error = await Assert.ThrowsAsync<AgentGaveUpException>(() => Agent(fed, coordinator.Address, "another-federation").RunAsync(CancellationToken.None).WaitAsync(TestFederation.Timeout));

        Assert.Contains("wrong federation", error.Message, StringComparison.Ordinal);
        Assert.Contains("test-federation", error.Message, StringComparison.Ordinal);
        Assert.Contains("'another-federation' (Agent:FederationId)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotAMember_GivesUp()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2) with { Members = ["silo-1", "silo-2"] });

        var error = await Assert.ThrowsAsync<AgentGaveUpException>(() => Agent(fed, coordinator.Address, "test-federation", "silo-3").RunAsync(CancellationToken.None).WaitAsync(TestFederation.Timeout));

        Assert.Contains("refuses this silo", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a member", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CoordinatorCertificateFromAnotherCa_GivesUp()
    {
        await using var fed = new TestFederation(2);
        using var impostor = fed.Pki.Foreign.IssueCoordinator(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        await using var coordinator = CoordinatorHost.Create(
            fed.Options(rounds: 1, minSilos: 2), impostor, fed.Pki.Foreign.Certificate, new FakeEvaluator(fed.Parameters));
        await coordinator.StartAsync();

        var error = await Assert.ThrowsAsync<AgentGaveUpException>(() => Agent(fed, coordinator.Address, "test-federation").RunAsync(CancellationToken.None).WaitAsync(TestFederation.Timeout));

        Assert.Contains("does not accept", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingListening_IsRetriedAsConnectionRefused()
    {
        await using var fed = new TestFederation(1);
        var closed = new Uri("https://localhost:1"); // nothing listens on port 1
        using var agent = new SiloAgent(
            new AgentOptions { Coordinator = closed, FederationId = "test-federation", ReconnectMin = TimeSpan.FromMilliseconds(20), ReconnectMax = TimeSpan.FromMilliseconds(40), MaxReconnectAttempts = 3 },
            fed.Pki.Silos["silo-1"], fed.Pki.Ca.Certificate, new FakeTrainer(0.1f), new LocalPolicy { AllowedDatasets = ["fake"] });

        var error = await Assert.ThrowsAsync<TimeoutException>(() => agent.RunAsync(CancellationToken.None).WaitAsync(TestFederation.Timeout));

        Assert.Contains("connection refused at https://localhost:1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisposedAgent_RefusesToRun_AndDisposingTwiceIsHarmless()
    {
        await using var fed = new TestFederation(1);
        var agent = Agent(fed, new Uri("https://localhost:1"), "test-federation");
        agent.Dispose();
        agent.Dispose();

        var error = await Assert.ThrowsAsync<ObjectDisposedException>(() => agent.RunAsync(CancellationToken.None));
        Assert.Contains(nameof(SiloAgent), error.ObjectName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunOnce_DisposesTheAgentWhenItsRunEnds()
    {
        await using var fed = new TestFederation(1);
        var agent = Agent(fed, new Uri("https://localhost:1"), "test-federation");
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)); // nothing listens: it retries until stopped
        // Stopped between attempts the run throws OperationCanceledException; stopped during a connect, the refused
        // connection's RpcException. Either way the run has ended.
        var ended = await Record.ExceptionAsync(() => agent.RunOnceAsync(stop.Token));
        Assert.True(ended is OperationCanceledException or Grpc.Core.RpcException, $"the run ended with {ended?.GetType().Name ?? "no exception"}");

        await Assert.ThrowsAsync<ObjectDisposedException>(() => agent.RunAsync(CancellationToken.None));
    }
}
