using SecureFed.Crypto;
using SecureFed.Identity;

namespace SecureFed.Audit.Tests;

/// <summary>The verifier against a good ledger and against every kind of tampering the issue names.</summary>
public sealed class LedgerVerifierTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void Verify_GoodLedger_SucceedsWithFinalEpsilon()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var written = _consortium.WriteGoodLedger(path);

        var result = _consortium.Verify(path);

        Assert.True(result.Ok, result.Reason);
        Assert.Null(result.FailedSequence);
        Assert.Equal(6, result.Entries);
        Assert.Equal(5, result.CompletedRounds);
        var expected = LedgerEpsilons.Compute([1.1, 1.05, 1.1, 0.97, 1.2], TestConsortium.Delta);
        Assert.Equal(expected, result.FinalEpsilon);
        Assert.True(expected.Rdp > expected.Exact && expected.Exact > 0, "both accountants computed, exact tighter");
        Assert.Equal(written[^1].EntryHash, result.HeadHash);
        Assert.Equal(File.ReadAllLines(path).Length, result.Entries);
    }

    public static TheoryData<string, int> EditedFields => new()
    {
        { "participant fingerprint", 2 },
        { "rdp epsilon", 4 },
        { "model hash after", 5 },
        { "effective noise", 1 },
        { "dropouts", 3 },
        { "trace id", 6 },
        { "status", 3 },
        { "timestamp", 2 },
    };

    [Theory]
    [MemberData(nameof(EditedFields))]
    public void Verify_FieldEditedWithoutResigning_FailsNamingThatEntry(string field, int sequence)
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        var e = entries[sequence - 1];
        entries[sequence - 1] = field switch
        {
            "participant fingerprint" => e with { Participants = [e.Participants[0] with { CertificateSha256 = TestConsortium.Hex(99) }, .. e.Participants.Skip(1)] },
            "rdp epsilon" => e with { CumulativeEpsilon = e.CumulativeEpsilon! with { Rdp = e.CumulativeEpsilon.Rdp / 2 } },
            "model hash after" => e with { ModelHashAfter = TestConsortium.Hex(12345) },
            "effective noise" => e with { EffectiveNoiseMultiplier = 3.0 },
            "dropouts" => e with { Stages = e.Stages with { Dropouts = 0 } },
            "trace id" => e with { TraceId = "" },
            "status" => e with { Status = RoundStatus.Completed, EffectiveNoiseMultiplier = 1.0 },
            "timestamp" => e with { Timestamp = e.Timestamp.AddSeconds(1) },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(sequence, result.FailedSequence);
        Assert.StartsWith($"entry {sequence}: ", result.Reason, StringComparison.Ordinal);
        Assert.Contains("entry hash does not match its contents", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_EditedLineTextInFile_FailsNamingThatEntry()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path);
        string[] lines = File.ReadAllLines(path);
        string fingerprint = entries[1].Participants[1].CertificateSha256;
        lines[1] = lines[1].Replace(fingerprint, TestConsortium.Hex(7), StringComparison.Ordinal);
        File.WriteAllLines(path, lines);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(2, result.FailedSequence);
    }

    [Theory]
    [InlineData(3, "entry 3 missing: sequence jumps from 2 to 4", 4)]
    [InlineData(6, null, null)]
    [InlineData(1, "entry 1 missing: the ledger starts at entry 2", 2)]
    public void Verify_EntryDeleted_NamesTheEntryAfterTheGap(int deleted, string? reason, int? failed)
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        entries.RemoveAt(deleted - 1);
        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        if (reason is null)
        {
            // Cutting the tail leaves a valid prefix: only the head hash (published out of band) tells.
            Assert.True(result.Ok, result.Reason);
            Assert.NotEqual(_consortium.WriteGoodLedger(_consortium.PathOf("other.jsonl"))[^1].EntryHash, result.HeadHash);
            Assert.Equal(entries[^1].EntryHash, result.HeadHash);
            return;
        }

        Assert.False(result.Ok);
        Assert.Equal(failed, result.FailedSequence);
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public void Verify_TwoEntriesSwapped_FailsNamingTheEntryOutOfPlace()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        (entries[2], entries[3]) = (entries[3], entries[2]);
        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(4, result.FailedSequence);
        Assert.Equal("entry 4: out of order, entry 3 should come next but appears later in the ledger", result.Reason);
    }

    [Fact]
    public void Verify_EntryDuplicated_FailsNamingTheRepeat()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        entries.Insert(3, entries[2]);
        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(3, result.FailedSequence);
        Assert.Equal("entry 3: out of order or repeated, it follows entry 3", result.Reason);
        Assert.Equal(3, result.Entries);
    }

    [Fact]
    public void Verify_TwoFederationsInterleaved_RecomputesEpsilonPerFederation()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using (var ledger = AuditLedger.Open(path))
        {
            // Each federation's own rounds 1 and 2 (a round completed twice would fail the continuity check).
            foreach (var (federation, round, z) in new[] { ("fed-a", 1, 1.1), ("fed-b", 1, 2.0), ("fed-a", 2, 1.3), ("fed-b", 2, 2.5) })
            {
                var draft = _consortium.Draft(ledger, round, 1, RoundStatus.Completed, z) with
                {
                    FederationId = federation,
                    CumulativeEpsilon = ledger.CumulativeEpsilonWith(federation, z, TestConsortium.Delta),
                };
                ledger.Append(draft, signer);
            }
        }

        var result = _consortium.Verify(path);

        Assert.True(result.Ok, result.Reason);
        Assert.Equal(LedgerEpsilons.Compute([2.0, 2.5], TestConsortium.Delta), result.FinalEpsilon);
    }

    [Fact]
    public void Verify_SwappedAndRenumberedWithoutKey_FailsAtFirstMovedEntry()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        (entries[2], entries[3]) = (entries[3], entries[2]);
        // Renumber and re-chain with recomputed hashes, but keep the old signatures: no coordinator key.
        string previous = entries[1].EntryHash;
        for (int i = 2; i < entries.Count; i++)
        {
            var e = entries[i] with { Sequence = i + 1, PreviousHash = previous };
            entries[i] = e with { EntryHash = LedgerCanonicalForm.ComputeEntryHash(e) };
            previous = entries[i].EntryHash;
        }

        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(3, result.FailedSequence);
        Assert.Equal("entry 3: signature does not verify with the coordinator certificate", result.Reason);
    }

    [Fact]
    public void Verify_PreviousHashRewritten_FailsOnChain()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        entries[2] = entries[2] with { PreviousHash = entries[0].EntryHash };
        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(3, result.FailedSequence);
        Assert.Equal("entry 3: previous hash does not match entry 2", result.Reason);
    }

    [Theory]
    [InlineData("foreign coordinator")]
    [InlineData("silo")]
    public void Verify_TamperedEntryResignedWithAnotherKey_FailsAtThatEntry(string keyHolder)
    {
        using var foreign = TestConsortium.Create("foreign");
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        entries[3] = entries[3] with { ModelHashAfter = TestConsortium.Hex(4242) };
        var key = keyHolder == "silo" ? _consortium.Silos[0] : foreign.Coordinator;
        using var signer = CryptoProvider.Default.CreateSigner(key);
        var forged = TestConsortium.Resign(entries, 3, signer);
        TestConsortium.WriteRaw(path, forged);

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(4, result.FailedSequence);
        Assert.Equal("entry 4: signature does not verify with the coordinator certificate", result.Reason);
    }

    [Fact]
    public void Verify_ResignedWithTheRightKey_Succeeds()
    {
        // Control for the test above: the re-signing helper itself produces a valid chain with the real key.
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        using var signer = _consortium.CoordinatorSigner();
        TestConsortium.WriteRaw(path, TestConsortium.Resign(entries, 3, signer));

        Assert.True(_consortium.Verify(path).Ok);
    }

    [Fact]
    public void Verify_CoordinatorCertificateFromForeignCa_FailsBeforeAnyEntry()
    {
        using var foreign = TestConsortium.Create("foreign");
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = foreign.CoordinatorSigner();
        _consortium.WriteGoodLedger(path, signer);

        var result = LedgerVerifier.Verify(AuditLedger.Read(path), foreign.Coordinator, _consortium.Ca.Certificate, TimeProvider.System);

        Assert.False(result.Ok);
        Assert.Null(result.FailedSequence);
        Assert.Contains("coordinator certificate is not accepted", result.Reason, StringComparison.Ordinal);
        Assert.Contains(nameof(PeerValidationFailure.UntrustedIssuer), result.Reason, StringComparison.Ordinal);
        // The same ledger does verify against the CA that issued its signer.
        Assert.True(LedgerVerifier.Verify(AuditLedger.Read(path), foreign.Coordinator, foreign.Ca.Certificate, TimeProvider.System).Ok);
    }

    [Fact]
    public void Verify_SiloCertificateAsCoordinator_FailsOnUsage()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = CryptoProvider.Default.CreateSigner(_consortium.Silos[0]);
        _consortium.WriteGoodLedger(path, signer);

        var result = LedgerVerifier.Verify(AuditLedger.Read(path), _consortium.Silos[0], _consortium.Ca.Certificate, TimeProvider.System);

        Assert.False(result.Ok);
        Assert.Null(result.FailedSequence);
        Assert.Contains(nameof(PeerValidationFailure.WrongUsage), result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rdp")]
    [InlineData("exact")]
    public void Verify_SignedEpsilonThatDoesNotMatchRecomputation_FailsNamingIt(string accountant)
    {
        // A coordinator that under-reports its spend signs a perfectly chained ledger: only recomputation catches it.
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        LedgerEpsilon? logged = null;
        LedgerEpsilon? recomputed = null;
        using (var ledger = AuditLedger.Open(path))
        {
            foreach (var (round, attempt, status, z) in TestConsortium.Plan)
            {
                var draft = _consortium.Draft(ledger, round, attempt, status, z);
                if (ledger.LastSequence == 3)
                {
                    recomputed = draft.CumulativeEpsilon!;
                    logged = accountant == "rdp" ? recomputed with { Rdp = recomputed.Rdp * 0.8 } : recomputed with { Exact = recomputed.Exact * 0.8 };
                    draft = draft with { CumulativeEpsilon = logged };
                }

                ledger.Append(draft, signer);
            }
        }

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(4, result.FailedSequence);
        double l = accountant == "rdp" ? logged!.Rdp : logged!.Exact;
        double r = accountant == "rdp" ? recomputed!.Rdp : recomputed!.Exact;
        Assert.Equal(
            FormattableString.Invariant($"entry 4: cumulative {accountant} epsilon {l:R} does not match the recomputed {r:R}"),
            result.Reason);
    }

    [Fact]
    public void Verify_EpsilonOffByLessThanTolerance_Succeeds()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using (var ledger = AuditLedger.Open(path))
        {
            foreach (var (round, attempt, status, z) in TestConsortium.Plan)
            {
                var draft = _consortium.Draft(ledger, round, attempt, status, z);
                var e = draft.CumulativeEpsilon!;
                ledger.Append(draft with { CumulativeEpsilon = new LedgerEpsilon(e.Rdp * (1 + 1e-11), e.Exact * (1 - 1e-11)) }, signer);
            }
        }

        Assert.True(_consortium.Verify(path).Ok);
    }

    [Fact]
    public void Verify_PrivacyClaimedAfterRoundWithoutNoise_Fails()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using (var ledger = AuditLedger.Open(path))
        {
            var plain = _consortium.Draft(ledger, 1, 1, RoundStatus.Completed, null) with { Privacy = null, CumulativeEpsilon = null };
            ledger.Append(plain, signer);
            ledger.Append(_consortium.Draft(ledger, 2, 1, RoundStatus.Completed, 1.1), signer);
        }

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal(2, result.FailedSequence);
        Assert.Contains("entry 1 of the same federation completed without noise", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_LedgerWithoutPrivacy_SucceedsWithoutEpsilon()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using (var ledger = AuditLedger.Open(path))
        {
            for (int round = 1; round <= 3; round++)
            {
                ledger.Append(_consortium.Draft(ledger, round, 1, RoundStatus.Completed, null) with
                {
                    Privacy = null,
                    CumulativeEpsilon = null,
                    Aggregation = "plain",
                    Stages = new LedgerStageCounts(3, 3, 0, 0, 0),
                }, signer);
            }
        }

        var result = _consortium.Verify(path);

        Assert.True(result.Ok, result.Reason);
        Assert.Null(result.FinalEpsilon);
        Assert.Equal(3, result.CompletedRounds);
    }

    [Fact]
    public void Verify_EmptyLedger_Fails()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        File.WriteAllText(path, "");

        var result = _consortium.Verify(path);

        Assert.False(result.Ok);
        Assert.Equal("the ledger has no entries", result.Reason);
    }

    [Fact]
    public void Verify_SignatureOverRawHashWithoutPurposeLabel_Fails()
    {
        // Domain separation: a signature the coordinator made over the bare 32 hash bytes (as another protocol
        // might) does not count as a ledger signature.
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        using var signer = _consortium.CoordinatorSigner();
        entries[0] = entries[0] with { Signature = Convert.ToHexStringLower(signer.Sign(Convert.FromHexString(entries[0].EntryHash))) };
        TestConsortium.WriteRaw(path, entries);

        var result = _consortium.Verify(path);

        Assert.Equal(1, result.FailedSequence);
        Assert.Contains("signature does not verify", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_CoordinatorCertificateNotYetValidAtClock_Fails()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        _consortium.WriteGoodLedger(path);
        var past = new FixedTime(DateTimeOffset.UtcNow.AddDays(-3));

        var result = LedgerVerifier.Verify(AuditLedger.Read(path), _consortium.Coordinator, _consortium.Ca.Certificate, past);

        Assert.False(result.Ok);
        Assert.Contains("coordinator certificate", result.Reason, StringComparison.Ordinal);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
