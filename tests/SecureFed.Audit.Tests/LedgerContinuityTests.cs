using SecureFed.Cli;

namespace SecureFed.Audit.Tests;

/// <summary>
/// The verifier checks what a validly signed ledger can still get wrong: rounds skipped or completed twice, attempts
/// out of order, a broken model-hash chain; and <c>audit verify --expect-head</c> catches a cut tail, which no check of
/// the file alone can see.
/// </summary>
public sealed class LedgerContinuityTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();

    public void Dispose() => _consortium.Dispose();

    /// <summary>Writes a correctly chained, signed ledger (epsilons consistent) of the given attempts.</summary>
    private (string Path, IReadOnlyList<LedgerEntry> Entries) Write(params (int Round, int Attempt, RoundStatus Status, Func<LedgerEntryDraft, LedgerEntryDraft>? Edit)[] plan)
    {
        var path = _consortium.PathOf($"ledger-{Guid.NewGuid():N}.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(path);
        var written = new List<LedgerEntry>();
        foreach (var (round, attempt, status, edit) in plan)
        {
            var draft = _consortium.Draft(ledger, round, attempt, status, status == RoundStatus.Completed ? 1.1 : null);
            written.Add(ledger.Append(edit is null ? draft : edit(draft), signer));
        }

        return (path, written);
    }

    private LedgerVerificationResult Verify(string path) => _consortium.Verify(path);

    [Fact]
    public void Verify_RoundsOneToThreeWithARetry_Holds()
    {
        var (path, _) = Write((1, 1, RoundStatus.Completed, null), (2, 1, RoundStatus.Aborted, null), (2, 2, RoundStatus.Completed, null), (3, 1, RoundStatus.Completed, null));
        var verdict = Verify(path);
        Assert.True(verdict.Ok, verdict.Reason);
        Assert.Equal(3, verdict.CompletedRounds);
    }

    [Fact]
    public void Verify_ARoundSkipped_FailsAtTheEntryAfterTheGap()
    {
        var (path, _) = Write((1, 1, RoundStatus.Completed, null), (3, 1, RoundStatus.Completed, null));
        var verdict = Verify(path);
        Assert.False(verdict.Ok);
        Assert.Equal(2, verdict.FailedSequence);
        Assert.Contains("training round 3 follows completed round 1 (entry 1): round 2 is missing", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ANewChainStartingAfterRoundOne_FailsNamingTheMissingRounds()
    {
        // What a coordinator that restarted the chain after a lost ledger used to write.
        var (path, _) = Write((4, 1, RoundStatus.Completed, null), (5, 1, RoundStatus.Completed, null));
        var verdict = Verify(path);
        Assert.Equal(1, verdict.FailedSequence);
        Assert.Contains("rounds 1 to 3 are missing", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ARoundCompletedTwice_Fails()
    {
        var (path, _) = Write((1, 1, RoundStatus.Completed, null), (1, 2, RoundStatus.Completed, null));
        var verdict = Verify(path);
        Assert.Equal(2, verdict.FailedSequence);
        Assert.Contains("round 1 was already completed", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_AttemptsOutOfOrder_Fails()
    {
        var (path, _) = Write((1, 2, RoundStatus.Aborted, null), (1, 1, RoundStatus.Completed, null));
        var verdict = Verify(path);
        Assert.Equal(2, verdict.FailedSequence);
        Assert.Contains("round 1 attempt 1 comes after attempt 2", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ModelHashChainBroken_FailsAtTheRoundThatDidNotStartFromThePreviousModel()
    {
        var (path, _) = Write(
            (1, 1, RoundStatus.Completed, null),
            (2, 1, RoundStatus.Completed, d => d with { ModelHashBefore = TestConsortium.Hex(1000) })); // planned from the initial model
        var verdict = Verify(path);
        Assert.Equal(2, verdict.FailedSequence);
        Assert.Contains("the model-hash chain is broken", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyCli_ExpectHead_PassesOnlyForTheLedgerThatEndsThere()
    {
        var ledger = _consortium.PathOf("ledger.jsonl");
        var coordinatorPem = _consortium.PathOf("coordinator.pem");
        var caPem = _consortium.PathOf("ca.pem");
        Identity.CertificateStore.WriteCertificate(coordinatorPem, _consortium.Coordinator);
        Identity.CertificateStore.WriteCertificate(caPem, _consortium.Ca.Certificate);
        var entries = _consortium.WriteGoodLedger(ledger);
        var head = entries[^1].EntryHash;
        string[] Args(string file, string? expected) =>
            [.. new[] { "audit", "verify", file, "--coordinator-cert", coordinatorPem, "--ca", caPem }, .. expected is null ? Array.Empty<string>() : ["--expect-head", expected]];

        var whole = await RunAsync(Args(ledger, head.ToUpperInvariant()));
        Assert.Equal(0, whole.Code);
        Assert.EndsWith($"head {head}", whole.Output.TrimEnd(), StringComparison.Ordinal);

        // The last two entries cut off: still a valid chain, so only the published head shows the loss.
        var cut = _consortium.PathOf("cut.jsonl");
        TestConsortium.WriteRaw(cut, entries.Take(4));
        Assert.Equal(0, (await RunAsync(Args(cut, null))).Code);
        var refused = await RunAsync(Args(cut, head));
        Assert.Equal(1, refused.Code);
        Assert.Contains("no entry has the expected head", refused.Output, StringComparison.Ordinal);

        var grown = await RunAsync(Args(ledger, entries[3].EntryHash));
        Assert.Equal(1, grown.Code);
        Assert.Contains("the expected head is entry 4, but the ledger goes on to entry 6", grown.Output, StringComparison.Ordinal);

        var malformed = await RunAsync(Args(ledger, "abc"));
        Assert.Equal(2, malformed.Code);
        Assert.Contains("--expect-head", malformed.Error, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.BuildRoot().Parse(args)
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return (code, output.ToString(), error.ToString());
    }
}
