using SecureFed.Privacy;

namespace SecureFed.Audit.Tests;

/// <summary>
/// What the ledger lets an auditor recompute about record-level DP-SGD (each silo's epsilon from the logged steps), and
/// the abort reason an aborted or interrupted attempt carries.
/// </summary>
public sealed class RecordPrivacyLedgerTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();
    private readonly string _path;

    public RecordPrivacyLedgerTests()
    {
        _path = _consortium.PathOf("ledger.jsonl");
    }

    public void Dispose() => _consortium.Dispose();

    private void Append(IEnumerable<Func<AuditLedger, LedgerEntryDraft>> drafts)
    {
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(_path);
        foreach (var draft in drafts)
        {
            ledger.Append(TestConsortium.WithEpsilon(ledger, draft(ledger)), signer);
        }
    }

    [Fact]
    public void Verify_RecordPrivacyOverRounds_RecomputesEachSilosEpsilonFromTheLoggedSteps()
    {
        // silo-1 accounts with rdp, silo-2 with pld; silo-2 sits out round 2 (its steps are not charged there).
        var rounds = new[] { (1, 1.1, 0.01, 100L, true), (2, 1.1, 0.01, 100L, false), (3, 0.9, 0.02, 50L, true) };
        Append(rounds.Select(r => (Func<AuditLedger, LedgerEntryDraft>)(ledger => _consortium.Draft(ledger, r.Item1, 1, RoundStatus.Completed, 1.2) with
        {
            RecordPrivacy = r.Item5
                ? [new LedgerRecordPrivacy("silo-1", r.Item2, r.Item3, r.Item4, 1e-5, "rdp"), new LedgerRecordPrivacy("silo-2", r.Item2, r.Item3, r.Item4, 1e-5, "pld")]
                : [new LedgerRecordPrivacy("silo-1", r.Item2, r.Item3, r.Item4, 1e-5, "rdp")],
        })));

        var result = _consortium.Verify(_path);

        Assert.True(result.Ok, result.Reason);
        Assert.Equal(["silo-1", "silo-2"], result.RecordEpsilon.Keys);
        Assert.Equal(RdpAccountant.ComputeEpsilon([(1.1, 0.01, 100), (1.1, 0.01, 100), (0.9, 0.02, 50)], 1e-5), result.RecordEpsilon["silo-1"], 12);
        Assert.Equal(PrivacyAccountants.ComputeEpsilon(AccountantKind.Pld, [(1.1, 0.01, 100), (0.9, 0.02, 50)], 1e-5), result.RecordEpsilon["silo-2"], 12);
        Assert.True(result.RecordEpsilon["silo-2"] < result.RecordEpsilon["silo-1"]);
    }

    [Fact]
    public void Verify_NoRecordPrivacy_StatesNoRecordEpsilon()
    {
        _consortium.WriteGoodLedger(_path);

        Assert.Empty(_consortium.Verify(_path).RecordEpsilon);
    }

    [Fact]
    public void AbortReason_OnAnAbortedEntry_RoundTripsSignedAndAnEditFailsVerification()
    {
        Append([ledger => _consortium.Draft(ledger, 1, 1, RoundStatus.Aborted, null) with { AbortReason = "interrupted: the coordinator stopped" }]);
        var entries = AuditLedger.Read(_path);
        Assert.Equal("interrupted: the coordinator stopped", Assert.Single(entries).AbortReason);
        Assert.True(_consortium.Verify(_path).Ok);

        TestConsortium.WriteRaw(_path, [entries[0] with { AbortReason = "network glitch" }]);
        var edited = _consortium.Verify(_path);
        Assert.False(edited.Ok);
        Assert.Contains("entry hash does not match", edited.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("completed")]
    [InlineData("newline")]
    [InlineData("too long")]
    public void AbortReason_BreakingItsRule_IsRefusedOnAppend(string how)
    {
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(_path);
        var draft = how == "completed"
            ? _consortium.Draft(ledger, 1, 1, RoundStatus.Completed, 1.2) with { AbortReason = "why" }
            : _consortium.Draft(ledger, 1, 1, RoundStatus.Aborted, null) with { AbortReason = how == "newline" ? "one\ntwo" : new string('x', LedgerEntryDraft.MaxReasonLength + 1) };

        var ex = Assert.ThrowsAny<ArgumentException>(() => ledger.Append(TestConsortium.WithEpsilon(ledger, draft), signer));
        Assert.Contains("abort reason belongs to an aborted entry only", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BoundReason_PeerTextWithControlsAndLength_BecomesOneBoundedLine()
    {
        var bounded = LedgerEntryDraft.BoundReason("silo said:\r\n" + new string('y', 1000))!;

        Assert.Equal(LedgerEntryDraft.MaxReasonLength, bounded.Length);
        Assert.DoesNotContain(bounded, char.IsControl);
        Assert.EndsWith("...", bounded, StringComparison.Ordinal);
        Assert.Null(LedgerEntryDraft.BoundReason(null));
    }
}
