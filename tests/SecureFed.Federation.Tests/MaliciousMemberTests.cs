using Google.Protobuf;
using SecureFed.Agent;
using SecureFed.Audit;
using SecureFed.Coordinator;
using SecureFed.Contracts.V1;
using SecureFed.Crypto;
using SecureFed.Protocol;
using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Federation.Tests;

/// <summary>
/// One member with a valid certificate that misbehaves in secure aggregation, scripted through the real agent and the
/// real gRPC service (issue 12, item 1): each way it can break a round costs it its seat, never the consortium its
/// federation, and the ledger says who did what.
/// </summary>
public sealed class MaliciousMemberTests
{
    private const string Attacker = "silo-4";

    private static CoordinatorOptions Options(TestFederation fed, int rounds) => fed.Options(rounds, minSilos: 2) with
    {
        SecureAggregation = new SecureAggregationPlan(),
        TrainTimeout = TimeSpan.FromSeconds(8),
        PlanTimeout = TimeSpan.FromSeconds(8),
    };

    /// <summary>Starts silo-1..3 honest and silo-4 with <paramref name="tamper"/> on everything it sends.</summary>
    private static async Task<CoordinatorHost> RunAsync(TestFederation fed, int rounds, Func<SiloAgent, AgentMessage, AgentMessage?> tamper, TimeSpan? joinTimeout = null)
    {
        var options = Options(fed, rounds);
        var coordinator = await fed.StartCoordinatorAsync(joinTimeout is { } join ? options with { JoinTimeout = join } : options);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.5f));
        }

        var attacker = fed.CreateAgent(Attacker, new FakeTrainer(0.5f));
        attacker.Tamper = m => tamper(attacker, m);
        fed.StartAgent(attacker);
        await coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(120));
        return coordinator;
    }

    private static IReadOnlyList<LedgerEntry> VerifiedLedger(TestFederation fed, CoordinatorHost coordinator)
    {
        var entries = AuditLedger.Read(coordinator.LedgerPath);
        var verdict = LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System);
        Assert.True(verdict.Ok, verdict.Reason);
        return entries;
    }

    [Fact]
    public async Task GarbageShares_SignedByTheAttacker_ItIsConvictedExcludedFromTheRetryAndQuarantinedOnItsSecondOffence()
    {
        await using var fed = new TestFederation(4);
        using var signer = CryptoProvider.Default.CreateSigner(fed.Pki.Silos[Attacker]);
        var coordinator = await RunAsync(fed, rounds: 2, (agent, m) =>
        {
            if (m.BodyCase != AgentMessage.BodyOneofCase.ShareKeys)
            {
                return m;
            }

            // Random ciphertexts under its own valid signature and the honest key commitments: shares nobody can open.
            var parameters = agent.RunningSecureSum!;
            var forged = m.Clone();
            var domain = forged.ShareKeys.Shares.Select(share => new Protocol.SecureAggregation.EncryptedShare(
                share.Sender, share.Recipient, System.Security.Cryptography.RandomNumberGenerator.GetBytes(share.Ciphertext.Length))
            { KeyCommitment = share.KeyCommitment.ToByteArray() }).ToArray();
            var signed = SecAggCrypto.SignShares(parameters, signer, forged.ShareKeys.Sender, domain);
            for (int i = 0; i < signed.Length; i++)
            {
                forged.ShareKeys.Shares[i].Ciphertext = ByteString.CopyFrom(signed[i].Ciphertext);
                forged.ShareKeys.Shares[i].Signature = ByteString.CopyFrom(signed[i].Signature);
            }

            return forged;
        });

        var outcome = await coordinator.Completion;
        Assert.Equal(2, outcome.RoundsCompleted);
        var entries = VerifiedLedger(fed, coordinator);
        var training = entries.Where(e => e.Round >= 1).ToList();
        Assert.All(training.Where(e => e.Status == RoundStatus.Completed), e => Assert.DoesNotContain(e.Participants, p => p.SiloId == Attacker));
        var faults = training.SelectMany(e => e.Faults ?? []).Where(f => f.SiloId == Attacker).ToList();
        Assert.Equal(2, faults.Count); // round 1 and round 2: one attempt each, then the retry without it
        Assert.All(faults, f => Assert.True(f.Proven));
        Assert.All(faults, f => Assert.Contains("does not open under the key it committed to", f.Fault, StringComparison.Ordinal));
        Assert.Contains("quarantined", faults[1].Fault, StringComparison.Ordinal);
        Assert.DoesNotContain(training.SelectMany(e => e.Faults ?? []), f => f.SiloId != Attacker); // no honest silo is blamed

        // The regulator's report says the same: who contributed where, and who was at fault in which attempt.
        var report = Audit.Reports.AuditReport.Build(entries, null);
        Assert.False(report.StoppedEarly);
        var attacker = Assert.Single(report.Participants, p => p.SiloId == Attacker);
        Assert.Equal(0, attacker.CompletedRoundsJoined); // listed in every attempt it was invited to, it contributed to none
        Assert.Equal(0, attacker.Attempts.Contributed);
        Assert.All(report.Participants.Where(p => p.SiloId != Attacker), p => Assert.Equal(2, p.CompletedRoundsJoined));
        var html = Audit.Reports.ReportWriter.ToHtml(report);
        Assert.Contains("silo-4 (proven): sent silo-", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FalseComplaint_WithAKeyTheAccusedNeverCommittedTo_IsDisputedAndTheRoundCompletesWithoutTheAccuser()
    {
        await using var fed = new TestFederation(4);
        var complained = 0;
        var coordinator = await RunAsync(fed, rounds: 1, (agent, m) =>
        {
            if (m.BodyCase != AgentMessage.BodyOneofCase.MaskedInputChunk)
            {
                return m;
            }

            // Instead of its masked input: "silo-1's share does not open", with a made-up key.
            return Interlocked.Exchange(ref complained, 1) == 0
                ? new AgentMessage
                {
                    Header = m.Header,
                    ShareComplaint = new ShareComplaint { Accused = "silo-1", ShareKey = ByteString.CopyFrom(new byte[32]), Reason = "made up" },
                }
                : null;
        });

        var outcome = await coordinator.Completion;
        Assert.Equal(1, outcome.RoundsCompleted);
        var entries = VerifiedLedger(fed, coordinator);
        var completed = Assert.Single(entries, e => e.Round == 1 && e.Status == RoundStatus.Completed);
        Assert.Equal(3, completed.Stages.Contributors);
        var faults = completed.Faults!;
        Assert.Equal([("silo-1", false), (Attacker, false)], faults.Select(f => (f.SiloId, f.Proven)).OrderBy(f => f.SiloId, StringComparer.Ordinal));
        Assert.All(faults, f => Assert.Contains("disputed share", f.Fault, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RefusingToUnmask_CostsTheAttackerItsPlaceNotTheRound()
    {
        await using var fed = new TestFederation(4);
        var coordinator = await RunAsync(fed, rounds: 2, (_, m) => m.BodyCase == AgentMessage.BodyOneofCase.UnmaskResponse ? null : m);

        var outcome = await coordinator.Completion;
        Assert.Equal(2, outcome.RoundsCompleted);
        var entries = VerifiedLedger(fed, coordinator);
        var completed = entries.Where(e => e.Round >= 1 && e.Status == RoundStatus.Completed).ToList();
        Assert.Equal(2, completed.Count);
        Assert.All(completed, e => Assert.Equal(3, e.Stages.SecureAggregation!.U5));
        Assert.All(completed, e => Assert.Contains(e.Faults!, f => f.SiloId == Attacker && !f.Proven && f.Fault.Contains("did not answer", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task BadConsistencySignature_IsRejectedAsAProvenFaultAndTheRoundCompletesWithoutIt()
    {
        await using var fed = new TestFederation(4);
        var coordinator = await RunAsync(fed, rounds: 2, (_, m) =>
        {
            if (m.BodyCase != AgentMessage.BodyOneofCase.ConsistencySignature)
            {
                return m;
            }

            var bad = m.Clone();
            var bytes = bad.ConsistencySignature.Signature.ToByteArray();
            bytes[0] ^= 0xFF;
            bad.ConsistencySignature.Signature = ByteString.CopyFrom(bytes);
            return bad;
        }, joinTimeout: TimeSpan.FromSeconds(2));

        var outcome = await coordinator.Completion;
        Assert.Equal(2, outcome.RoundsCompleted);
        var entries = VerifiedLedger(fed, coordinator);
        var first = Assert.Single(entries, e => e.Round == 1);
        Assert.Equal(RoundStatus.Completed, first.Status);
        var fault = Assert.Single(first.Faults!);
        Assert.Equal((Attacker, true), (fault.SiloId, fault.Proven));
        Assert.Contains("consistency signature", fault.Fault, StringComparison.Ordinal);
        Assert.Equal(0, first.Stages.Dropouts); // its masked input is in U3, so in the sum; it is counted rejected, not dropped
        Assert.Equal(1, first.Stages.Rejected);
        // The stream it broke the protocol on was ended; the round after runs without it.
        Assert.DoesNotContain(Assert.Single(entries, e => e.Round == 2).Participants, p => p.SiloId == Attacker);
    }

    [Fact]
    public async Task WrongSelfMaskCommitment_TheOwnerIsSuspectedAndTheRetryCompletesWithoutIt()
    {
        await using var fed = new TestFederation(4);
        var coordinator = await RunAsync(fed, rounds: 1, (_, m) =>
        {
            if (m.BodyCase != AgentMessage.BodyOneofCase.ShareKeys)
            {
                return m;
            }

            // Its shares are honest, but it commits to another self-mask seed: the unmasking cannot check out.
            var bad = m.Clone();
            var commitment = bad.ShareKeys.SelfMaskCommitment.ToByteArray();
            commitment[0] ^= 0xFF;
            bad.ShareKeys.SelfMaskCommitment = ByteString.CopyFrom(commitment);
            return bad;
        });

        var outcome = await coordinator.Completion;
        Assert.Equal(1, outcome.RoundsCompleted);
        var entries = VerifiedLedger(fed, coordinator);
        var aborted = Assert.Single(entries, e => e.Round == 1 && e.Status == RoundStatus.Aborted);
        var fault = Assert.Single(aborted.Faults!);
        Assert.Equal((Attacker, false), (fault.SiloId, fault.Proven));
        Assert.Contains("does not match its commitment", fault.Fault, StringComparison.Ordinal);
        var completed = Assert.Single(entries, e => e.Round == 1 && e.Status == RoundStatus.Completed);
        Assert.DoesNotContain(completed.Participants, p => p.SiloId == Attacker);
    }

    [Fact]
    public async Task BiasAddedToTheMaskedInput_TheImpossibleAggregateIsRefusedChargedAndLogged()
    {
        // Under DP every honest update is clipped to C = 1; silo-4 adds 10 to every value of its masked input (mod 2^k).
        await using var fed = new TestFederation(4);
        var dp = new PrivacyPlan(ClipNorm: 1.0, NoiseMultiplier: 0.5, Threshold: 3, Colluding: 0, Mechanism: "gaussian", Accountant: "rdp", Delta: 1e-5, EpsilonBudget: 0);
        var coordinator = await fed.StartCoordinatorAsync(Options(fed, 1) with { Privacy = dp, MaxConsecutiveAborts = 1 });
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        var attacker = fed.CreateAgent(Attacker, new FakeTrainer(0.1f));
        attacker.Tamper = m =>
        {
            if (m.BodyCase != AgentMessage.BodyOneofCase.MaskedInputChunk)
            {
                return m;
            }

            var p = attacker.RunningSecureSum!;
            var shift = 10UL << p.ScaleBits; // inside the clamped range (4 x 16), far outside the clipped norm
            var biased = m.Clone();
            var values = MaskedWords.Decode(biased.MaskedInputChunk, p.RingBits);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Protocol.SecureAggregation.ModularArithmetic.Add(values[i], shift, p.RingBits);
            }

            biased.MaskedInputChunk.Words = ByteString.CopyFrom(Protocol.SecureAggregation.RingWords.Encode(values, p.RingBits));

            return biased;
        };
        fed.StartAgent(attacker);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => coordinator.Completion.WaitAsync(TimeSpan.FromSeconds(120)));

        Assert.Contains("cannot have come from honest inputs", error.Message, StringComparison.Ordinal);
        var entry = Assert.Single(VerifiedLedger(fed, coordinator));
        Assert.Equal(RoundStatus.Aborted, entry.Status);
        Assert.Contains("L2 norm", entry.AbortReason, StringComparison.Ordinal);
        Assert.Equal(entry.ModelHashBefore, entry.ModelHashAfter); // nothing released ...
        Assert.Equal("training", Assert.Single(entry.Releases!).Task); // ... but unmasked, so charged
        Assert.Equal(["contributed", "contributed", "contributed", "contributed"], entry.Outcomes!.Select(o => o.Outcome));

        // The report shows the federation as stopped early, with the reason, not only as "verified".
        var report = Audit.Reports.AuditReport.Build([entry], null);
        Assert.True(report.StoppedEarly);
        Assert.Equal(1, report.PlannedRounds);
        Assert.Contains("This federation stopped early: 0 of 1 planned rounds completed. The last attempt aborted: the training aggregate cannot have come from honest inputs",
            Audit.Reports.ReportWriter.ToHtml(report), StringComparison.Ordinal);
    }
}
