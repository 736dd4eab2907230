using Grpc.Core;
using SecureFed.Audit;
using SecureFed.Contracts.V1;

namespace SecureFed.Federation.Tests;

/// <summary>
/// One seat per silo (issue 13, items 1 and 2), through the real gRPC service on loopback: a second session presenting a
/// silo's certificate while its session is live is refused, noted in the signed ledger and costs the member nothing; a
/// silo whose session ended gets in again; the join timeout is the only wait for silos.
/// </summary>
public sealed class SessionSeatTests
{
    /// <summary>Waits (bounded) until the coordinator's log holds a line containing <paramref name="text"/>.</summary>
    private static async Task WaitForLogAsync(TestFederation fed, string text)
    {
        using var deadline = new CancellationTokenSource(TestFederation.Timeout);
        while (!fed.Logs.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            await Task.Delay(20, deadline.Token);
        }
    }

    private static IReadOnlyList<LedgerEntry> VerifiedLedger(TestFederation fed)
    {
        var entries = AuditLedger.Read(fed.Coordinator!.LedgerPath);
        var verdict = LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System);
        Assert.True(verdict.Ok, verdict.Reason);
        return entries;
    }

    [Fact]
    public async Task Connect_SameCertificateWhileFirstSessionIsLive_RefusedAlreadyExistsFirstKeepsItsSeatAndTheLedgerNotesIt()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        var genuine = new FakeTrainer(1f);
        fed.StartAgent("silo-1", genuine);
        await WaitForLogAsync(fed, "Silo silo-1 connected");

        // A copy of silo-1's key, while no attempt runs (silo-2 has not come yet).
        var status = await ScriptedPeer.ConnectAsync(fed, fed.Pki.Silos["silo-1"], "silo-1");
        fed.StartAgent("silo-2", new FakeTrainer(3f));
        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(StatusCode.AlreadyExists, status.StatusCode);
        Assert.Contains("already has a live session", status.Detail, StringComparison.Ordinal);
        Assert.Contains("restarted after a crash gets in once its old connection is closed", status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, outcome.RoundsCompleted);
        Assert.Equal(1, genuine.Calls); // the first session kept its seat and trained
        var agents = await Task.WhenAll(fed.AgentRuns).WaitAsync(TestFederation.Timeout);
        Assert.All(agents, a => Assert.Equal(1, a.RoundsParticipated));
        Assert.Contains(fed.Logs, l => l.Contains("Refused a second session of silo silo-1", StringComparison.Ordinal));

        // No attempt ran when it happened: the next attempt's entry carries it, as an unproven event that cost nothing.
        var entry = Assert.Single(VerifiedLedger(fed));
        Assert.Equal(RoundStatus.Completed, entry.Status);
        var note = Assert.Single(entry.Faults!);
        Assert.Equal("silo-1", note.SiloId);
        Assert.False(note.Proven);
        Assert.Contains("a second session presented the same certificate", note.Fault, StringComparison.Ordinal);
        Assert.Contains(entry.Outcomes!, o => o.SiloId == "silo-1" && o.Outcome == "contributed");
    }

    [Fact]
    public async Task Connect_SecondAgentWithTheSameCertificate_RetriesSayingWhyWhileTheFirstKeepsItsSeatAndTheFederationCompletes()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 2));
        var genuine = new FakeTrainer(1f);
        fed.StartAgent("silo-1", genuine);
        await WaitForLogAsync(fed, "Silo silo-1 connected");

        var copyLogs = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var copyLogging = new ListLoggerProvider(copyLogs);
        var copyTrainer = new FakeTrainer(100f);
        using var copy = new Agent.SiloAgent(
            new Agent.AgentOptions { Coordinator = coordinator.Address, FederationId = "test-federation", ReconnectMin = TimeSpan.FromMilliseconds(50), ReconnectMax = TimeSpan.FromMilliseconds(200) },
            fed.Pki.Silos["silo-1"], fed.Pki.Ca.Certificate, copyTrainer, new Agent.LocalPolicy { AllowedDatasets = ["fake"] }, copyLogging.CreateLogger("copy"));
        using var stopCopy = new CancellationTokenSource();
        var copyRun = Task.Run(() => copy.RunAsync(stopCopy.Token));
        using (var deadline = new CancellationTokenSource(TestFederation.Timeout))
        {
            while (copyLogs.Count(l => l.Contains("refused a second session of silo silo-1", StringComparison.Ordinal)) < 2)
            {
                await Task.Delay(20, deadline.Token); // refused, and refused again on its retry
            }
        }

        fed.StartAgent("silo-2", new FakeTrainer(3f));
        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        await stopCopy.CancelAsync();
        var ended = await Record.ExceptionAsync(() => copyRun.WaitAsync(TestFederation.Timeout));
        Assert.True(ended is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }, ended?.ToString()); // it never gave up

        Assert.Equal(2, outcome.RoundsCompleted);
        Assert.Equal(2, genuine.Calls);
        Assert.Equal(0, copyTrainer.Calls);
        Assert.Contains(copyLogs, l => l.Contains("transient after a restart", StringComparison.Ordinal) && l.Contains("another machine is using this silo's key", StringComparison.Ordinal));
        Assert.All(VerifiedLedger(fed), e => Assert.Contains(e.Outcomes!, o => o.SiloId == "silo-1" && o.Outcome == "contributed"));
        Assert.Contains(VerifiedLedger(fed).SelectMany(e => e.Faults ?? []), f => f.SiloId == "silo-1" && f.Fault.Contains("second session", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_SecondSessionDuringAnAttempt_RefusedAndNotedInThatAttemptsEntryWithoutCostingTheSeat()
    {
        await using var fed = new TestFederation(2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        var training = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new FakeTrainer(1f, delay: TimeSpan.FromSeconds(2));
        var agent = fed.StartAgent("silo-1", slow);
        agent.TrainingStarted += _ => training.TrySetResult();
        fed.StartAgent("silo-2", new FakeTrainer(3f));
        await training.Task.WaitAsync(TestFederation.Timeout);

        var status = await ScriptedPeer.ConnectAsync(fed, fed.Pki.Silos["silo-1"], "silo-1");
        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(StatusCode.AlreadyExists, status.StatusCode);
        Assert.Equal(1, outcome.RoundsCompleted);
        var entry = Assert.Single(VerifiedLedger(fed));
        Assert.Equal(RoundStatus.Completed, entry.Status);
        Assert.Contains(entry.Faults!, f => f.SiloId == "silo-1" && !f.Proven && f.Fault.Contains("second session", StringComparison.Ordinal));
        Assert.Contains(entry.Outcomes!, o => o.SiloId == "silo-1" && o.Outcome == "contributed");
    }

    [Fact]
    public async Task Connect_AfterTheFirstSessionClosed_TheNewSessionIsAccepted()
    {
        await using var fed = new TestFederation(3);
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { JoinTimeout = TimeSpan.FromMinutes(5) });
        await using (var crashed = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]))
        {
            await crashed.SendAsync(ScriptedPeer.Hello("silo-1"));
            await crashed.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.Welcome);
        }

        await WaitForLogAsync(fed, "Silo silo-1 disconnected");
        await using var restarted = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);
        await restarted.SendAsync(ScriptedPeer.Hello("silo-1"));
        var welcome = await restarted.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.Welcome);

        Assert.Equal("silo-1", welcome.Welcome.SiloId);
        Assert.DoesNotContain(fed.Logs, l => l.Contains("Refused a second session", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_FirstPeerVanishedWithoutClosing_RefusedWhileLiveThenAdmittedOnceTheKeepAlivePingsCloseIt()
    {
        await using var fed = new TestFederation(3);
        var limits = new Coordinator.ConnectionLimits { KeepAlivePingDelay = TimeSpan.FromSeconds(1), KeepAlivePingTimeout = TimeSpan.FromSeconds(1) };
        await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { JoinTimeout = TimeSpan.FromMinutes(5), Limits = limits });
        await using var proxy = new FreezingProxy(fed.Coordinator!.Address.Port);
        await using var vanished = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"], proxy.Address);
        await vanished.SendAsync(ScriptedPeer.Hello("silo-1"));
        await vanished.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.Welcome);

        // The machine is gone but its connection is half-open: nothing closes it but the coordinator's pings.
        proxy.Freeze();
        var whileLive = await ScriptedPeer.ConnectAsync(fed, fed.Pki.Silos["silo-1"], "silo-1");
        await WaitForLogAsync(fed, "Silo silo-1 disconnected");
        await using var restarted = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);
        await restarted.SendAsync(ScriptedPeer.Hello("silo-1"));
        var welcome = await restarted.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.Welcome);

        Assert.Equal(StatusCode.AlreadyExists, whileLive.StatusCode);
        Assert.Contains("within 2 s of it going silent", whileLive.Detail, StringComparison.Ordinal);
        Assert.Equal("silo-1", welcome.Welcome.SiloId);
    }

    [Fact]
    public async Task Wait_FewerThanMinSilosAtTheJoinTimeout_StopsThenWithAnErrorNamingJoinTimeoutSeconds()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2) with { JoinTimeout = TimeSpan.FromSeconds(2) });
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(30)));

        // Nothing waits past the join timeout (no hidden idle timeout of ten minutes, nor of twice the join timeout).
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        Assert.Contains("only 1 of the 2 silos a round needs (MinSilos) connected within the join timeout of 2 s (JoinTimeoutSeconds)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wait_TargetNotReachedButMinSilosPresentAtTheJoinTimeout_TheRoundStartsWithThosePresent()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2) with { JoinTimeout = TimeSpan.FromSeconds(2) });
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(1f));

        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, outcome.RoundsCompleted);
        Assert.Equal(["silo-1", "silo-2"], outcome.Rounds.Single().Participants);
    }
}
