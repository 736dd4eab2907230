using SecureFed.Coordinator.Internal;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>
/// Who a stall keeps out of a round's retries (issue 14): a few stalled members sit out, as a slow or withholding member
/// must not abort the round again; a stall of most members together is the deadline's doing, and barring them all left
/// the 1000-silo benchmark's retries with 7 silos.
/// </summary>
public sealed class StallStandingTests
{
    private static RoundState State(int members) => new(
        new RoundPlan(
            "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
            [.. Enumerable.Range(1, members).Select(i => $"silo-{i}")], DateTimeOffset.UnixEpoch, null, new SecureAggregationPlan(32, 16, 16.0)),
        1024);

    [Fact]
    public void AFewStalledMembers_SitOutTheRetries()
    {
        var state = State(10);
        state.NoteStalled(["silo-3", "silo-7"], SumTask.Training);
        var standing = new MemberStanding();

        var recorded = standing.After(1, state.Faults(), completed: false);

        Assert.All(recorded, f => Assert.True(f.SitsOut));
        Assert.NotNull(standing.Barred("silo-3", 1));
        Assert.NotNull(standing.Barred("silo-7", 1));
        Assert.Null(standing.Barred("silo-1", 1));
    }

    [Fact]
    public void MostMembersStalledTogether_AreRecordedButInvitedToTheRetry()
    {
        var state = State(10);
        state.NoteStalled([.. Enumerable.Range(1, 6).Select(i => $"silo-{i}"), "not-a-member"], SumTask.Training);
        var standing = new MemberStanding();

        var recorded = standing.After(1, state.Faults(), completed: false);

        Assert.Equal(6, recorded.Count);
        Assert.All(recorded, f => Assert.False(f.SitsOut));
        Assert.All(recorded, f => Assert.Contains("6 of the 10 members", f.What, StringComparison.Ordinal));
        Assert.Null(standing.Barred("silo-1", 1));
    }

    [Fact]
    public void HalfTheMembersStalled_StillSitOut()
    {
        var state = State(10);
        state.NoteStalled([.. Enumerable.Range(1, 5).Select(i => $"silo-{i}")], SumTask.Training);

        Assert.All(state.Faults(), f => Assert.True(f.SitsOut));
    }
}
