using Grpc.Core;
using SecureFed.Contracts.V1;

namespace SecureFed.Federation.Tests;

/// <summary>
/// A scripted silo with a valid certificate sends a bad update; the coordinator ends that stream with a clear
/// status, never aggregates the update, and completes the round with the honest silos. Honest deltas are 1 and 3
/// with equal weight, so the aggregated model after one round is exactly 2 in every coordinate: anything of the
/// bad update leaking into the sum would change that.
/// </summary>
public sealed class MalformedUpdateTests
{
    public static TheoryData<string, StatusCode> Cases => new()
    {
        { "wrong-length", StatusCode.InvalidArgument },
        { "nan", StatusCode.InvalidArgument },
        { "infinity", StatusCode.InvalidArgument },
        { "future-round", StatusCode.FailedPrecondition },
        { "other-federation", StatusCode.FailedPrecondition },
        { "wrong-stage", StatusCode.FailedPrecondition },
        { "chunk-too-large", StatusCode.ResourceExhausted },
        { "oversized-message", StatusCode.ResourceExhausted },
        { "gap-in-chunks", StatusCode.InvalidArgument },
        { "duplicate-submission", StatusCode.FailedPrecondition },
        { "update-without-accepting", StatusCode.FailedPrecondition },
        { "second-hello", StatusCode.FailedPrecondition },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Update_Malformed_RejectedWithStatusAndRoundCompletesWithOthers(string kind, StatusCode expected)
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        // The honest silos take a moment, so the round is still open when the bad message arrives.
        fed.StartAgent("silo-1", new FakeTrainer(1f, delay: TimeSpan.FromMilliseconds(500)));
        fed.StartAgent("silo-2", new FakeTrainer(3f, delay: TimeSpan.FromMilliseconds(500)));
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-3"]);
        await peer.SendAsync(ScriptedPeer.Hello("silo-3"));
        var plan = await peer.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.RoundPlan);
        var round = (long)plan.Header.Round;
        var n = fed.Parameters;
        float[] Garbage(int count) => Enumerable.Repeat(1000f, count).ToArray();
        if (kind != "update-without-accepting")
        {
            await peer.SendAsync(ScriptedPeer.Accept(round));
        }

        try
        {
            switch (kind)
            {
                case "wrong-length":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n + 1, Garbage(4), last: false));
                    break;
                case "nan":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, [1000f, float.NaN, 1000f, 1000f], last: false));
                    break;
                case "infinity":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, [1000f, 1000f, float.PositiveInfinity, 1000f], last: false));
                    break;
                case "future-round":
                    await peer.SendAsync(ScriptedPeer.Update(round + 1, 0, n, Garbage(4), last: false));
                    break;
                case "other-federation":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(4), last: false, federationId: "someone-else"));
                    break;
                case "wrong-stage":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(4), last: false, stage: Protocol.Stage.Plan));
                    break;
                case "chunk-too-large":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(5), last: false));
                    break;
                case "oversized-message":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(100_000), last: false));
                    break;
                case "gap-in-chunks":
                    await peer.SendAsync(ScriptedPeer.Update(round, 4, n, Garbage(4), last: true));
                    break;
                case "duplicate-submission":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(4), last: false));
                    await peer.SendAsync(ScriptedPeer.Update(round, 4, n, Garbage(4), last: true));
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(4), last: false));
                    break;
                case "update-without-accepting":
                    await peer.SendAsync(ScriptedPeer.Update(round, 0, n, Garbage(4), last: false));
                    break;
                case "second-hello":
                    await peer.SendAsync(ScriptedPeer.Hello("silo-3"));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind));
            }
        }
        catch (RpcException)
        {
            // the server may close the stream while we still write; the status is read below
        }

        var status = await peer.ReadToEndAsync();
        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(expected, status.StatusCode);
        Assert.DoesNotContain("1000", status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, outcome.RoundsCompleted);
        var report = Assert.Single(outcome.Rounds);
        Assert.Equal(2, report.Contributors);
        Assert.Equal(1, report.Rejected + report.Dropouts);

        Assert.Equal(2.0, outcome.FinalLoss, 6); // FakeEvaluator reports parameter 0: the mean of 1 and 3 only
    }
}
