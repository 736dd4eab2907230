using SecureFed.Agent;
using SecureFed.Audit;

namespace SecureFed.Federation.Tests;

/// <summary>
/// A retried round is not retried blindly (issue 13, item 3): a silo whose policy refused the round's plan is left out
/// of the round's retries, and when without it the round cannot reach MinSilos the federation stops at once, naming the
/// silo and its reason, instead of spending MaxConsecutiveAborts attempts.
/// </summary>
public sealed class RefusedRetryTests
{
    /// <summary>A policy that refuses every plan of the test federation (its dataset is "fake").</summary>
    private static LocalPolicy Refusing => new() { AllowedDatasets = ["cardiology-only"] };

    private static IReadOnlyList<LedgerEntry> VerifiedLedger(TestFederation fed)
    {
        var entries = AuditLedger.Read(fed.Coordinator!.LedgerPath);
        var verdict = LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System);
        Assert.True(verdict.Ok, verdict.Reason);
        return entries;
    }

    [Fact]
    public async Task Retry_ASiloRefusedThePlanByPolicy_TheRetryIsPlannedWithoutItAndCompletes()
    {
        await using var fed = new TestFederation(4);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { TargetSilos = 3 });
        var late = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        coordinator.RoundFinished += r =>
        {
            if (!r.Completed)
            {
                late.TrySetResult();
            }
        };
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(1f));
        fed.StartAgent("silo-4", new FakeTrainer(1f), Refusing);

        // The first attempt ({1, 2, 4}) aborts: silo-4 refuses, two contributions are below MinSilos 3. Only then does
        // silo-3 come, and the retry must wait for it rather than invite silo-4 again.
        await late.Task.WaitAsync(TestFederation.Timeout);
        fed.StartAgent("silo-3", new FakeTrainer(1f));
        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(1, outcome.RoundsCompleted);
        Assert.Null(outcome.StopReason);
        var entries = VerifiedLedger(fed).Where(e => e.Round == 1).OrderBy(e => e.Attempt).ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal(RoundStatus.Aborted, entries[0].Status);
        var refusal = Assert.Single(entries[0].Outcomes!, o => o.SiloId == "silo-4");
        Assert.Equal("refused", refusal.Outcome);
        Assert.Contains("not allowed by this silo's policy", refusal.Reason, StringComparison.Ordinal);
        Assert.Equal(RoundStatus.Completed, entries[1].Status);
        Assert.Equal(["silo-1", "silo-2", "silo-3"], entries[1].Participants.Select(p => p.SiloId).Order(StringComparer.Ordinal));
        Assert.Contains(fed.Logs, l => l.Contains("Silo silo-4 is not invited to round 1: refused the plan of round 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retry_WithoutTheRefusingSiloTheRoundCannotReachMinSilos_StopsAtOnceNamingTheSiloAndItsReason()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 3) with { MaxConsecutiveAborts = 3 });
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(1f));
        fed.StartAgent("silo-3", new FakeTrainer(1f), Refusing);

        var outcome = await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, outcome.RoundsCompleted);
        Assert.NotNull(outcome.StopReason);
        Assert.Contains("round 1 cannot release", outcome.StopReason, StringComparison.Ordinal);
        Assert.Contains("at most 2 of the 3 silos it needs", outcome.StopReason, StringComparison.Ordinal);
        Assert.Contains("silo-3 refused the plan of round 1 (dataset 'fake' is not allowed by this silo's policy", outcome.StopReason, StringComparison.Ordinal);
        var attempt = Assert.Single(VerifiedLedger(fed)); // one attempt, not MaxConsecutiveAborts of them
        Assert.Equal(RoundStatus.Aborted, attempt.Status);
        Assert.Contains(attempt.Outcomes!, o => o.SiloId == "silo-3" && o.Outcome == "refused");

        // Every agent is told why, and ends instead of waiting for rounds that will not come.
        var agents = await Task.WhenAll(fed.AgentRuns).WaitAsync(TestFederation.Timeout);
        Assert.All(agents, a => Assert.Contains("silo-3 refused", a.StopReason, StringComparison.Ordinal));
    }
}
