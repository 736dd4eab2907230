using System.Security.Cryptography;
using CsCheck;
using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation;
using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Protocol.Tests;

public class SecureAggregationTests
{
    private static readonly SecAggStage[] WorkingStages =
        [SecAggStage.AdvertiseKeys, SecAggStage.ShareKeys, SecAggStage.MaskedInput, SecAggStage.ConsistencyCheck, SecAggStage.Unmask];

    public static TheoryData<SecAggStage> DropStages() => new(WorkingStages);

    [Theory]
    [InlineData(3, 32)]
    [InlineData(5, 64)]
    [InlineData(10, 32)]
    [InlineData(10, 64)]
    public void Unmask_NoDropouts_SecureSumEqualsPlainSumExactly(int n, int ringBits)
    {
        using var h = new Harness(n, length: 64, ringBits: ringBits);
        var sum = h.Unmask(h.ThroughConsistencyCheck());
        Assert.Equal(h.PlainSum(h.Ids), sum);
        Assert.Equal(SecAggStage.Completed, h.Server.Stage);
        Assert.All(h.Clients.Values, c => Assert.Equal(SecAggStage.Completed, c.Stage));
        Assert.Equal(new SecAggSurvivorCounts(n, n, n, n, n), h.Server.Survivors);
    }

    /// <summary>Two of seven clients (t = 5) drop at the given stage; the sum covers exactly U3.</summary>
    [Theory]
    [MemberData(nameof(DropStages))]
    public void Run_TwoClientsDropAtStage_RecoversExactSumOfU3(SecAggStage stage)
    {
        using var h = new Harness(7, length: 32);
        var drop = new Dictionary<string, SecAggStage> { ["silo-01"] = stage, ["silo-05"] = stage };
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(5));
        Assert.True(result.Completed, result.AbortReason);
        var expectedU3 = stage <= SecAggStage.MaskedInput ? h.Except("silo-01", "silo-05").ToArray() : h.Ids.ToArray();
        Assert.Equal(expectedU3, result.IncludedClients);
        Assert.Equal(h.PlainSum(expectedU3), result.Sum);
    }

    [Fact]
    public void Run_DropoutsAtEveryStageInOneRound_RecoversExactSum()
    {
        using var h = new Harness(10, length: 16, ringBits: 32, threshold: 6);
        var drop = new Dictionary<string, SecAggStage>
        {
            ["silo-00"] = SecAggStage.AdvertiseKeys,
            ["silo-03"] = SecAggStage.ShareKeys,
            ["silo-06"] = SecAggStage.MaskedInput,
            ["silo-08"] = SecAggStage.ConsistencyCheck,
        };
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(11));
        Assert.True(result.Completed, result.AbortReason);
        Assert.Equal(new SecAggSurvivorCounts(9, 8, 7, 6, 6), result.Survivors);
        Assert.Equal(h.PlainSum(h.Except("silo-00", "silo-03", "silo-06")), result.Sum);
    }

    /// <summary>Property: for any dropout pattern, the round either releases exactly the plain sum over U3 (when
    /// every stage kept at least t) or aborts with nothing released (when one did not).</summary>
    [Fact]
    public void Run_AnyDropoutPattern_ExactSumOrAbortAtFirstStageBelowThreshold()
    {
        int completed = 0;
        int aborted = 0;
        var gen =
            // Each client drops at one of the five stages with probability 1/15 each, else stays to the end.
            from n in Gen.Int[3, 8]
            from extra in Gen.Int[0, 1]
            from drops in Gen.Int[0, 14].Array[n]
            from ringBits in Gen.OneOfConst(32, 64)
            from seed in Gen.ULong
            select (n, extra, drops, ringBits, seed);
        gen.Sample(c =>
        {
            int t = Math.Min(c.n, SecAggParameters.DefaultThreshold(c.n) - 1 + c.extra);
            t = Math.Max(t, (c.n / 2) + 1);
            using var h = new Harness(c.n, length: 8, ringBits: c.ringBits, threshold: t, seed: c.seed);
            var drop = new Dictionary<string, SecAggStage>(StringComparer.Ordinal);
            for (int i = 0; i < c.n; i++)
            {
                if (c.drops[i] < WorkingStages.Length)
                {
                    drop[h.Ids[i]] = WorkingStages[c.drops[i]];
                }
            }

            int Alive(SecAggStage s) => h.Ids.Count(id => !drop.TryGetValue(id, out var d) || d > s);
            var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(c.seed));
            var firstShort = WorkingStages.Cast<SecAggStage?>().FirstOrDefault(s => Alive(s!.Value) < t);
            if (firstShort is null)
            {
                completed++;
                Assert.True(result.Completed, result.AbortReason);
                var u3 = h.Ids.Where(id => !drop.TryGetValue(id, out var d) || d > SecAggStage.MaskedInput);
                Assert.Equal(h.PlainSum(u3), result.Sum);
            }
            else
            {
                aborted++;
                Assert.False(result.Completed);
                Assert.Null(result.Sum);
                Assert.Equal(firstShort, result.AbortedAt);
            }
        }, iter: 60, threads: 1);
        Assert.True(completed > 0 && aborted > 0, $"{completed} completed, {aborted} aborted: the generator must exercise both outcomes");
    }

    [Theory]
    [MemberData(nameof(DropStages))]
    public void Run_FewerThanThresholdSurviveStage_AbortsAndReleasesNothing(SecAggStage stage)
    {
        using var h = new Harness(5, length: 8);
        Assert.Equal(4, h.Parameters.Threshold);
        var drop = new Dictionary<string, SecAggStage> { ["silo-02"] = stage, ["silo-04"] = stage };
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(2));
        Assert.False(result.Completed);
        Assert.Null(result.Sum);
        Assert.Equal(stage, result.AbortedAt);
        Assert.Contains("fewer than the threshold 4", result.AbortReason, StringComparison.Ordinal);
    }

    [Fact]
    public void CloseUnmask_FewerThanThresholdResponders_AbortsAndLaterCallsReleaseNothing()
    {
        using var h = new Harness(5, length: 8);
        var request = h.ThroughConsistencyCheck();
        var ex = Assert.Throws<SecAggAbortedException>(() => h.Unmask(request, ["silo-00", "silo-01", "silo-02"]));
        Assert.Equal(SecAggStage.Unmask, ex.Stage);
        Assert.Equal(SecAggStage.Aborted, h.Server.Stage);
        Assert.Throws<ProtocolViolationException>(() => h.Server.CloseUnmask());
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveUnmaskResponse(h.Clients["silo-03"].Unmask(request)));
    }

    [Fact]
    public void ShareKeys_ServerForwardsFewerThanThresholdKeys_ClientAbortsWithoutSharing()
    {
        using var h = new Harness(5, length: 8);
        var advertised = h.Advertise();
        var cut = advertised with { Advertisements = advertised.Advertisements.Take(3).ToArray() };
        var ex = Assert.Throws<SecAggAbortedException>(() => h.Clients["silo-00"].ShareKeys(cut));
        Assert.Contains("U1 (advertised keys) has 3 members, fewer than the threshold 4", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-00"].Stage);
    }

    [Fact]
    public void Unmask_ServerAsksForBothSharesOfOnePeer_EveryHonestClientRefuses()
    {
        using var h = new Harness(5, length: 8);
        var request = h.ThroughConsistencyCheck();

        // silo-03 sent its masked input (it is in U3); asking for its s_sk share as well would let the server
        // remove all of silo-03's masks and read x_03.
        var malicious = request with { Dropped = ["silo-03"] };
        foreach (var client in h.Clients.Values)
        {
            var ex = Assert.Throws<ProtocolViolationException>(() => client.Unmask(malicious));
            Assert.Contains("both the mask-key share and the self-mask share of silo-03", ex.Message, StringComparison.Ordinal);
            Assert.Equal(SecAggStage.Aborted, client.Stage);
        }

        Assert.Throws<SecAggAbortedException>(() => h.Server.CloseUnmask());
    }

    [Fact]
    public void Unmask_DroppedPeerTheClientNeverHeardOf_Refused()
    {
        using var h = new Harness(5, length: 8);
        var deliveries = h.Share(h.Advertise(), h.Except("silo-04"));
        var request = h.Sign(h.Mask(deliveries));
        var malicious = request with { Dropped = ["silo-04"] };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].Unmask(malicious));
        Assert.Contains("silo-04 is not in U2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unmask_DifferentU3SentToDifferentClients_ConsistencyCheckFailsAndNothingIsRevealed()
    {
        using var h = new Harness(5, length: 8);
        var deliveries = h.Share(h.Advertise());
        foreach (var m in h.MaskOnly(deliveries).Values)
        {
            h.Server.ReceiveMaskedInput(m);
        }

        var honest = h.Server.CloseMaskedInput();

        // The server tells silo-02 and silo-03 that silo-04 dropped, and the others that it survived.
        var full = honest.Survivors.ToArray();
        var withoutFour = full.Where(id => id != "silo-04").ToArray();
        var signatures = new List<ConsistencySignature>();
        foreach (var id in h.Ids)
        {
            var shown = id is "silo-02" or "silo-03" ? withoutFour : full;
            signatures.Add(h.Clients[id].SignConsistency(new ConsistencyCheckRequest(1, shown)));
        }

        // silo-00 is shown every signature over its U3: two of them are over another set.
        var toZero = new UnmaskRequest(1, full, [], signatures);
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].Unmask(toZero));
        Assert.Equal(FaultKind.PermissionDenied, ex.Kind);
        Assert.Contains("inconsistent survivor sets", ex.Message, StringComparison.Ordinal);

        // silo-01 is shown only the signatures that verify: three, fewer than t = 4.
        var onlyValid = new UnmaskRequest(1, full, [], signatures.Where(s => s.Sender is "silo-00" or "silo-01" or "silo-04").ToArray());
        Assert.Throws<SecAggAbortedException>(() => h.Clients["silo-01"].Unmask(onlyValid));

        // silo-02 believes silo-04 dropped; the server would get silo-04's s_sk share from it and b share from
        // others. Only two signatures back silo-02's U3, so it refuses too.
        var toTwo = new UnmaskRequest(1, withoutFour, ["silo-04"], signatures.Where(s => s.Sender is "silo-02" or "silo-03").ToArray());
        Assert.Throws<SecAggAbortedException>(() => h.Clients["silo-02"].Unmask(toTwo));

        // And a client shown a U3 other than the one it signed refuses outright.
        var switched = new UnmaskRequest(1, withoutFour, ["silo-04"], signatures);
        var ex4 = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-04"].Unmask(switched));
        Assert.Contains("differs from the U3", ex4.Message, StringComparison.Ordinal);
        Assert.All(new[] { "silo-00", "silo-01", "silo-02", "silo-04" }, id => Assert.Equal(SecAggStage.Aborted, h.Clients[id].Stage));
    }

    [Fact]
    public void SignConsistency_U3NotSubsetOfU2_Refused()
    {
        using var h = new Harness(5, length: 8);
        var deliveries = h.Share(h.Advertise(), h.Except("silo-04"));
        var masked = h.MaskOnly(deliveries);
        var forged = new ConsistencyCheckRequest(1, h.Ids.ToArray());
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].SignConsistency(forged));
        Assert.Contains("U3 is not a subset of U2", ex.Message, StringComparison.Ordinal);
        Assert.NotEmpty(masked);
    }

    [Fact]
    public void ShareKeys_ForgedKeyAdvertisement_RefusedByClientsAndServer()
    {
        using var h = new Harness(4, length: 8);
        var start = h.Server.Start();
        var ads = h.Ids.Select(id => h.Clients[id].AdvertiseKeys(start)).ToList();

        // The server (or a man in the middle) swaps silo-02's mask key for one it controls, keeping the signature.
        using var attacker = CryptoProvider.Default.KeyAgreement.Generate(SystemRandomSource.Instance);
        var swapped = ads[2] with { MaskPublicKey = attacker.PublicKey.ToArray() };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].ShareKeys(
            new AdvertisedKeys(1, [ads[0], ads[1], swapped, ads[3]])));
        Assert.Equal(FaultKind.PermissionDenied, ex.Kind);
        Assert.Contains("key advertisement of silo-02 has an invalid signature", ex.Message, StringComparison.Ordinal);

        // A whole advertisement signed with a key that is not silo-02's certificate key.
        using var impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var impostorSigner = CryptoProvider.Default.CreateSigner(impostor);
        var payloadAd = ads[2] with { Signature = impostorSigner.Sign(new byte[] { 1, 2, 3 }) };
        Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-01"].ShareKeys(new AdvertisedKeys(1, [ads[0], ads[1], payloadAd, ads[3]])));

        // The server, holding the verifiers, refuses it on arrival and the round goes on.
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveAdvertisement(swapped));
        Assert.Equal(SecAggStage.AdvertiseKeys, h.Server.Stage);
    }

    [Fact]
    public void ShareKeys_ServerDropsTheClientsOwnAdvertisement_Refused()
    {
        using var h = new Harness(5, length: 8);
        var advertised = h.Advertise();
        var withoutSelf = advertised with { Advertisements = advertised.Advertisements.Where(a => a.Sender != "silo-00").ToArray() };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].ShareKeys(withoutSelf));
        Assert.Contains("own keys", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Messages_ReplayedFromAnotherRound_Refused()
    {
        using var round1 = new Harness(4, length: 8, round: 1, seed: 1);
        using var round2 = new Harness(4, length: 8, round: 2, seed: 2, sameKeysAs: round1);
        var advertised1 = round1.Advertise();
        round2.Server.Start();
        var start2 = round2.Server.Start();
        foreach (var id in round2.Ids)
        {
            round2.Server.ReceiveAdvertisement(round2.Clients[id].AdvertiseKeys(start2));
        }

        // As sent: the round id says 1.
        var ex = Assert.Throws<ProtocolViolationException>(() => round2.Clients["silo-00"].ShareKeys(advertised1));
        Assert.Contains("for round 1 arrived in round 2", ex.Message, StringComparison.Ordinal);

        // Relabelled as round 2: the signatures bind the round context, so they no longer verify.
        var relabelled = new AdvertisedKeys(2, advertised1.Advertisements.Select(a => a with { RoundId = 2 }).ToArray());
        var ex2 = Assert.Throws<ProtocolViolationException>(() => round2.Clients["silo-01"].ShareKeys(relabelled));
        Assert.Equal(FaultKind.PermissionDenied, ex2.Kind);

        // A round-1 advertisement replayed to the round-2 server is refused too.
        Assert.Throws<ProtocolViolationException>(() => round2.Server.ReceiveAdvertisement(advertised1.Advertisements[0]));
        Assert.Throws<ProtocolViolationException>(() => round2.Server.ReceiveAdvertisement(advertised1.Advertisements[0] with { RoundId = 2, Sender = "silo-00" }));
    }

    [Fact]
    public void MaskInput_TamperedShareCiphertext_ClearErrorAndClientAborts()
    {
        using var h = new Harness(4, length: 8);
        var deliveries = h.Share(h.Advertise());
        var delivery = deliveries["silo-00"];
        var tamperedBytes = (byte[])delivery.Shares[1].Ciphertext.Clone();
        tamperedBytes[5] ^= 0x01;
        var shares = delivery.Shares.ToArray();
        shares[1] = shares[1] with { Ciphertext = tamperedBytes };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].MaskInput(delivery with { Shares = shares }, h.Inputs["silo-00"]));
        Assert.Equal($"the share from {shares[1].Sender} to silo-00 does not carry {shares[1].Sender}'s signature (altered in transit)", ex.Message);
        Assert.Equal(FaultKind.PermissionDenied, ex.Kind);
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-00"].Stage);
    }

    [Fact]
    public void Unmask_VerifiesConsistencySignaturesOnlyUntilTHaveVerified()
    {
        using var h = new Harness(5, length: 4); // t = 4
        var request = h.ThroughConsistencyCheck();
        ConsistencySignature Garbled(ConsistencySignature s) => s with { Signature = s.Signature.Select(b => (byte)(b ^ 0xFF)).ToArray() };

        // The fifth signature is past the four that suffice: counted, not verified, so the silo reveals its shares.
        var lastGarbled = request with { Signatures = [.. request.Signatures.Take(4), Garbled(request.Signatures[4])] };
        var response = h.Clients["silo-00"].Unmask(lastGarbled);
        Assert.Equal("silo-00", response.Sender);

        // Among the first four it is verified, and the silo refuses.
        var firstGarbled = request with { Signatures = [Garbled(request.Signatures[0]), .. request.Signatures.Skip(1)] };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-01"].Unmask(firstGarbled));
        Assert.Contains("inconsistent survivor sets", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaskInput_IntactShareWithoutItsSignature_OpensAnyway()
    {
        // The signature is checked only for a share that fails: one that opens under the pair's directional key can
        // only come from its sender, so the recipient spends no verification on it.
        using var h = new Harness(4, length: 8);
        var deliveries = h.Share(h.Advertise());
        var delivery = deliveries["silo-00"];
        var shares = delivery.Shares.Select(s => s with { Signature = [], Proof = [] }).ToArray();

        var masked = h.Clients["silo-00"].MaskInput(delivery with { Shares = shares }, h.Inputs["silo-00"]);

        Assert.Equal("silo-00", masked.Sender);
        Assert.Equal(SecAggStage.ConsistencyCheck, h.Clients["silo-00"].Stage);
    }

    [Fact]
    public void MaskInput_FailingShareWithAnAlteredPath_IsBlamedOnTransitNotOnItsSender()
    {
        using var h = new Harness(5, length: 8);
        var deliveries = h.Share(h.Advertise());
        var delivery = deliveries["silo-00"];
        var victim = delivery.Shares[2];
        var path = (byte[])victim.Proof.Clone();
        Assert.NotEmpty(path); // four shares per sender: two levels of siblings
        path[0] ^= 1;
        var garbled = (byte[])victim.Ciphertext.Clone();
        garbled[0] ^= 1;
        var shares = delivery.Shares.Select(s => ReferenceEquals(s, victim) ? s with { Proof = path, Ciphertext = garbled } : s).ToArray();

        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].MaskInput(delivery with { Shares = shares }, h.Inputs["silo-00"]));

        Assert.Equal(FaultKind.PermissionDenied, ex.Kind);
        Assert.Contains("(altered in transit)", ex.Message, StringComparison.Ordinal);

        // The leaf count is signed with the root: a path read against another tree size does not verify either.
        using var h2 = new Harness(5, length: 8);
        var delivery2 = h2.Share(h2.Advertise())["silo-00"];
        var resized = delivery2.Shares.Select((s, i) => i == 2 ? s with { LeafCount = s.LeafCount + 1, Ciphertext = new byte[s.Ciphertext.Length] } : s).ToArray();
        var ex2 = Assert.Throws<ProtocolViolationException>(() => h2.Clients["silo-00"].MaskInput(delivery2 with { Shares = resized }, h2.Inputs["silo-00"]));
        Assert.Contains("(altered in transit)", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReceiveShareKeys_OneShareAlteredAfterSigning_RefusesTheSendersWholeTree()
    {
        using var h = new Harness(4, length: 8);
        var advertised = h.Advertise();
        var messages = h.Ids.ToDictionary(id => id, id => h.Clients[id].ShareKeys(advertised));
        var shares = messages["silo-01"].Shares.ToArray();
        Assert.All(shares, s => Assert.Equal(shares[0].Signature, s.Signature)); // one signature for all of them
        var altered = (byte[])shares[1].Ciphertext.Clone();
        altered[3] ^= 0x80;
        shares[1] = shares[1] with { Ciphertext = altered };

        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(messages["silo-01"] with { Shares = shares }));
        Assert.Equal(FaultKind.PermissionDenied, ex.Kind);
        Assert.Contains("silo-01", ex.Message, StringComparison.Ordinal);

        // Shares swapped between positions break the tree as well.
        var swapped = messages["silo-02"].Shares.ToArray();
        (swapped[0], swapped[1]) = (swapped[1] with { LeafIndex = 0 }, swapped[0] with { LeafIndex = 1 });
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(messages["silo-02"] with { Shares = swapped }));
    }

    [Fact]
    public void ReceiveShareKeys_SharesSignedOneByOne_RefusedWithTheUpgradeHint()
    {
        using var h = new Harness(3, length: 4);
        var advertised = h.Advertise();
        var message = h.Clients["silo-00"].ShareKeys(advertised);
        var legacy = message.Shares.Select(s => s with
        {
            LeafCount = 0, LeafIndex = 0, Signature = h.Signer("silo-00").Sign(SecAggCrypto.SharePayload(h.Parameters, s)),
        }).ToArray();

        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(message with { Shares = legacy }));

        Assert.Contains("signed its shares one by one", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaskInput_GarbageShareItsSenderSigned_ComplainsWithTheKeyAndTheServerConvictsTheSender()
    {
        using var h = new Harness(4, length: 8);
        var deliveries = h.Share(h.Advertise());
        var honest = deliveries["silo-00"].Shares.Single(s => s.Sender == "silo-02");
        var garbage = h.Routed(SecAggCrypto.SignShares(h.Parameters, h.Signer("silo-02"), "silo-02", [honest with { Ciphertext = new byte[honest.Ciphertext.Length] }]))[0];
        var shares = deliveries["silo-00"].Shares.Select(s => s.Sender == "silo-02" ? garbage : s).ToArray();

        var complaint = Assert.Throws<ShareComplaintException>(() => h.Clients["silo-00"].MaskInput(deliveries["silo-00"] with { Shares = shares }, h.Inputs["silo-00"]));

        Assert.Equal("silo-02", complaint.Accused);
        Assert.Contains("failed authentication", complaint.Reason, StringComparison.Ordinal);
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-00"].Stage);
        // The server judges by the share it routed: here it routed the honest one, so the same key convicts the complainer ...
        Assert.Equal(ComplaintVerdict.ComplainerAtFault, h.Server.JudgeComplaint("silo-00", "silo-02", complaint.ShareKey));
        // ... a key that is not the committed one proves nothing either way ...
        Assert.Equal(ComplaintVerdict.Unresolved, h.Server.JudgeComplaint("silo-00", "silo-02", new byte[complaint.ShareKey.Length]));
        // ... and a complaint about a share never delivered is false.
        Assert.Equal(ComplaintVerdict.ComplainerAtFault, h.Server.JudgeComplaint("silo-00", "silo-09", complaint.ShareKey));
    }

    [Fact]
    public void CloseUnmask_OneResponderRevealsACorruptShare_NamesThatResponderAsTheSuspect()
    {
        using var h = new Harness(5, length: 4);
        var request = h.ThroughConsistencyCheck();
        foreach (var id in h.Ids)
        {
            var response = h.Clients[id].Unmask(request);
            if (id == "silo-02")
            {
                var corrupt = response.SelfMaskShares.Select(r => r.Owner == "silo-00" ? r with { Value = r.Value.Select(b => (byte)(b ^ 0x5A)).ToArray() } : r).ToArray();
                response = response with { SelfMaskShares = corrupt };
            }

            h.Server.ReceiveUnmaskResponse(response);
        }

        var ex = Assert.Throws<SecAggAbortedException>(() => h.Server.CloseUnmask());

        Assert.Equal("silo-02", ex.Suspect); // the others' shares agree without it
    }

    [Fact]
    public void JudgeComplaint_GarbageTheSenderSignedAndRouted_ConvictsTheSender()
    {
        using var h = new Harness(3, length: 4);
        var advertised = h.Advertise();
        var messages = h.Ids.ToDictionary(id => id, id => h.Clients[id].ShareKeys(advertised));
        var bad = messages["silo-01"];
        var forged = SecAggCrypto.SignShares(h.Parameters, h.Signer("silo-01"), "silo-01", [.. bad.Shares.Select(s => s with { Ciphertext = new byte[s.Ciphertext.Length] })]);
        foreach (var (id, m) in messages)
        {
            h.Server.ReceiveShareKeys(id == "silo-01" ? m with { Shares = forged } : m);
        }

        var deliveries = h.Server.CloseShareKeys();
        var complaint = Assert.Throws<ShareComplaintException>(() => h.Clients["silo-00"].MaskInput(deliveries["silo-00"], h.Inputs["silo-00"]));

        Assert.Equal(ComplaintVerdict.AccusedAtFault, h.Server.JudgeComplaint("silo-00", complaint.Accused, complaint.ShareKey));
    }

    [Fact]
    public void MaskInput_CiphertextMisroutedToAnotherRecipient_FailsAuthentication()
    {
        using var h = new Harness(4, length: 8);
        var deliveries = h.Share(h.Advertise());

        // silo-02's ciphertext for silo-01, relabelled as for silo-00 and delivered there.
        var stolen = deliveries["silo-01"].Shares.Single(s => s.Sender == "silo-02") with { Recipient = "silo-00" };
        var shares = deliveries["silo-00"].Shares.Select(s => s.Sender == "silo-02" ? stolen : s).ToArray();
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].MaskInput(deliveries["silo-00"] with { Shares = shares }, h.Inputs["silo-00"]));
        Assert.Contains("does not carry silo-02's signature", ex.Message, StringComparison.Ordinal); // it signed it for silo-01
    }

    [Fact]
    public void ReceiveMaskedInput_WrongLengthOrOutOfRing_RefusedAndRoundContinues()
    {
        using var h = new Harness(4, length: 8, ringBits: 32);
        var masked = h.MaskOnly(h.Share(h.Advertise()));
        var shortVector = masked["silo-00"] with { MaskedValues = masked["silo-00"].MaskedValues[..7] };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveMaskedInput(shortVector));
        Assert.Equal(FaultKind.InvalidArgument, ex.Kind);
        Assert.Equal("the masked input of silo-00 has 7 elements; the round needs 8", ex.Message);
        var wide = (ulong[])masked["silo-00"].MaskedValues.Clone();
        wide[3] |= 1UL << 40;
        var ex2 = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveMaskedInput(masked["silo-00"] with { MaskedValues = wide }));
        Assert.Contains("not below 2^32", ex2.Message, StringComparison.Ordinal);

        foreach (var m in masked.Values)
        {
            h.Server.ReceiveMaskedInput(m);
        }

        Assert.Equal(h.PlainSum(h.Ids), h.Unmask(h.Sign(h.Server.CloseMaskedInput())));
    }

    [Fact]
    public void MaskInput_InputOfWrongLength_ThrowsAndClientStaysInStage()
    {
        using var h = new Harness(4, length: 8);
        var deliveries = h.Share(h.Advertise());
        Assert.Throws<ArgumentException>(() => h.Clients["silo-00"].MaskInput(deliveries["silo-00"], RingVector.Zero(64, 9)));
        Assert.Equal(SecAggStage.MaskedInput, h.Clients["silo-00"].Stage);
    }

    [Fact]
    public void ReceiveMaskedInput_DuplicateSubmission_RefusedFirstStands()
    {
        using var h = new Harness(4, length: 8);
        var masked = h.MaskOnly(h.Share(h.Advertise()));
        foreach (var m in masked.Values)
        {
            h.Server.ReceiveMaskedInput(m);
        }

        var altered = masked["silo-01"] with { MaskedValues = new ulong[8] };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveMaskedInput(altered));
        Assert.Equal("duplicate MaskedInput submission from silo-01; the first one stands", ex.Message);
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveMaskedInput(masked["silo-01"]));
        Assert.Equal(h.PlainSum(h.Ids), h.Unmask(h.Sign(h.Server.CloseMaskedInput())));
    }

    [Fact]
    public void ReceiveMaskedInput_LateAfterDropDecision_DiscardedWithoutHarm()
    {
        using var h = new Harness(6, length: 8);
        var masked = h.MaskOnly(h.Share(h.Advertise()));
        foreach (var id in h.Except("silo-05"))
        {
            h.Server.ReceiveMaskedInput(masked[id]);
        }

        var check = h.Server.CloseMaskedInput();
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveMaskedInput(masked["silo-05"]));
        Assert.Equal("expected stage ConsistencyCheck, received MaskedInput", ex.Message);
        Assert.DoesNotContain("silo-05", check.Survivors);
        var request = h.Sign(check);
        Assert.Equal(["silo-05"], request.Dropped);
        Assert.Equal(h.PlainSum(h.Except("silo-05")), h.Unmask(request));
    }

    [Fact]
    public void ReceiveMaskedInput_FromClientThatDidNotShareKeys_Refused()
    {
        using var h = new Harness(5, length: 8);
        var deliveries = h.Share(h.Advertise(), h.Except("silo-04"));
        var ex = Assert.Throws<ProtocolViolationException>(() =>
            h.Server.ReceiveMaskedInput(new MaskedInputMessage(1, "silo-04", new ulong[8])));
        Assert.Contains("silo-04 was dropped before MaskedInput", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, deliveries.Count);
    }

    [Fact]
    public void CloseUnmask_CorruptRevealedShare_AbortsWithoutReleasingASum()
    {
        using var h = new Harness(5, length: 8);
        var request = h.ThroughConsistencyCheck();
        foreach (var id in h.Ids)
        {
            var response = h.Clients[id].Unmask(request);
            if (id == "silo-02")
            {
                var value = (byte[])response.SelfMaskShares[0].Value.Clone();
                value[0] ^= 0x80;
                response = response with { SelfMaskShares = [response.SelfMaskShares[0] with { Value = value }, .. response.SelfMaskShares.Skip(1)] };
            }

            h.Server.ReceiveUnmaskResponse(response);
        }

        var ex = Assert.Throws<SecAggAbortedException>(() => h.Server.CloseUnmask());
        Assert.Contains("inconsistent", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SecAggStage.Aborted, h.Server.Stage);
    }

    [Fact]
    public void CloseUnmask_CorruptShareAmongExactlyThresholdResponders_DetectedByCommitment()
    {
        using var h = new Harness(5, length: 8);
        var request = h.ThroughConsistencyCheck();
        foreach (var id in h.Except("silo-04"))
        {
            var response = h.Clients[id].Unmask(request);
            if (id == "silo-01")
            {
                var value = (byte[])response.SelfMaskShares[3].Value.Clone();
                value[7] ^= 0x10;
                var shares = response.SelfMaskShares.ToArray();
                shares[3] = shares[3] with { Value = value };
                response = response with { SelfMaskShares = shares };
            }

            h.Server.ReceiveUnmaskResponse(response);
        }

        var ex = Assert.Throws<SecAggAbortedException>(() => h.Server.CloseUnmask());
        Assert.Contains("self-mask seed of silo-03 does not match its commitment", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReceiveShareKeys_MissingCommitmentOrWrongRecipients_Refused()
    {
        using var h = new Harness(4, length: 8);
        var advertised = h.Advertise();
        var message = h.Clients["silo-00"].ShareKeys(advertised);
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(message with { SelfMaskCommitment = new byte[3] }));
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(message with { Shares = message.Shares.Skip(1).ToArray() }));
        var misaddressed = message.Shares.Select(s => s with { Recipient = "silo-01" }).ToArray();
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(message with { Shares = misaddressed }));
        h.Server.ReceiveShareKeys(message);
    }

    [Fact]
    public void ReceiveUnmaskResponse_MissingOrExtraShares_Refused()
    {
        using var h = new Harness(5, length: 8);
        var deliveries = h.Share(h.Advertise());
        var request = h.Sign(h.Mask(deliveries, h.Except("silo-04")));
        var response = h.Clients["silo-00"].Unmask(request);
        Assert.Single(response.MaskKeyShares);
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveUnmaskResponse(response with { MaskKeyShares = [] }));
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveUnmaskResponse(
            response with { SelfMaskShares = [.. response.SelfMaskShares, new RevealedShare("silo-04", new byte[32])] }));
        h.Server.ReceiveUnmaskResponse(response);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void MaskedInput_OfAllZeroInput_BytesPassChiSquareUniformity(int ringBits)
    {
        const int length = 4096;
        using var h = new Harness(3, length: length, ringBits: ringBits, seed: 21);
        foreach (var id in h.Ids)
        {
            h.Inputs[id] = RingVector.Zero(ringBits, length);
        }

        foreach (var (id, m) in h.MaskOnly(h.Share(h.Advertise())))
        {
            var bytes = RingVector.ToBytes(m.MaskedValues, ringBits);
            var counts = new long[256];
            foreach (byte b in bytes)
            {
                counts[b]++;
            }

            double expected = bytes.Length / 256.0;
            double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);

            // 255 degrees of freedom; the 0.999 quantile is 330.52.
            Assert.True(chiSquare < 330.52, $"{id}: chi-square {chiSquare:F1} over {bytes.Length} bytes");
        }
    }

    [Fact]
    public void MaskedInput_SameInputInTwoRounds_Differs()
    {
        using var round1 = new Harness(3, length: 256, round: 1, seed: 1);
        using var round2 = new Harness(3, length: 256, round: 2, seed: 1, sameKeysAs: round1);
        foreach (var id in round1.Ids)
        {
            round2.Inputs[id] = round1.Inputs[id];
        }

        var m1 = round1.MaskOnly(round1.Share(round1.Advertise()));
        var m2 = round2.MaskOnly(round2.Share(round2.Advertise()));
        foreach (var id in round1.Ids)
        {
            int equal = m1[id].MaskedValues.Zip(m2[id].MaskedValues).Count(p => p.First == p.Second);
            Assert.Equal(0, equal);
        }
    }

    [Fact]
    public void Run_EverythingTheServerReceives_ContainsNoClientInput()
    {
        using var h = new Harness(6, length: 64, seed: 8);
        var seen = new List<SecAggClientMessage>();
        var result = SecAggSimulation.Run(
            h.Parameters, h.Inputs, new Dictionary<string, SecAggStage> { ["silo-03"] = SecAggStage.ConsistencyCheck }, new DeterministicRandomSource(8), seen.Add);
        Assert.True(result.Completed);
        Assert.Equal(h.PlainSum(h.Ids), result.Sum);

        var maskedVectors = seen.OfType<MaskedInputMessage>().ToList();
        Assert.Equal(6, maskedVectors.Count);
        foreach (var masked in maskedVectors)
        {
            foreach (var input in h.Inputs.Values)
            {
                Assert.NotEqual(input.Values.ToArray(), masked.MaskedValues);
            }
        }

        // Every byte the server received, in any message, in one buffer; no input coordinate occurs in it.
        var view = new List<byte>();
        foreach (var message in seen)
        {
            switch (message)
            {
                case KeyAdvertisement m:
                    view.AddRange(m.CipherPublicKey.Concat(m.MaskPublicKey).Concat(m.Signature));
                    break;
                case ShareKeysMessage m:
                    view.AddRange(m.Shares.SelectMany(s => s.Ciphertext));
                    break;
                case MaskedInputMessage m:
                    view.AddRange(RingVector.ToBytes(m.MaskedValues, 64));
                    break;
                case ConsistencySignature m:
                    view.AddRange(m.Signature);
                    break;
                case UnmaskResponse m:
                    view.AddRange(m.MaskKeyShares.Concat(m.SelfMaskShares).SelectMany(s => s.Value));
                    break;
                default:
                    throw new InvalidOperationException(message.GetType().Name);
            }
        }

        var buffer = view.ToArray();
        foreach (var input in h.Inputs.Values)
        {
            foreach (ulong coordinate in input.Values)
            {
                Assert.Equal(-1, buffer.AsSpan().IndexOf(BitConverter.GetBytes(coordinate)));
            }
        }
    }

    [Fact]
    public void Run_FixedPointUpdates_DecodedSecureSumMatchesFloatSum()
    {
        const int n = 5;
        const int length = 100;
        var ids = Enumerable.Range(0, n).Select(i => $"silo-{i}").ToArray();
        var parameters = SecAggParameters.Create("fed", 7, ids, length, ringBits: 32, scaleBits: 20);
        OverflowGuard.Check(n, 1.0, parameters.ScaleBits, parameters.RingBits);
        var encoder = new FixedPointEncoder(parameters.ScaleBits, parameters.RingBits, 1.0);
        using var rng = new DeterministicRandomSource(4);
        var updates = ids.ToDictionary(id => id, id => Enumerable.Range(0, length).Select(i => (float)Math.Sin(i + id.GetHashCode(StringComparison.Ordinal))).ToArray());
        var inputs = updates.ToDictionary(kv => kv.Key, kv => encoder.Encode(kv.Value, rng));
        var result = SecAggSimulation.Run(parameters, inputs, rng: rng);
        var decoded = encoder.Decode(result.Sum!);
        for (int i = 0; i < length; i++)
        {
            double plain = updates.Values.Sum(u => (double)u[i]);
            Assert.InRange(decoded[i] - plain, -n * Math.ScaleB(1, -20), n * Math.ScaleB(1, -20));
        }
    }

    [Fact]
    public void Run_VectorLongerThanOneParallelChunk_RecoversExactSumWithDropout()
    {
        using var h = new Harness(4, length: 150_000, ringBits: 32, threshold: 3);
        var drop = new Dictionary<string, SecAggStage> { ["silo-02"] = SecAggStage.MaskedInput };
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(6));
        Assert.True(result.Completed, result.AbortReason);
        Assert.Equal(h.PlainSum(h.Except("silo-02")), result.Sum);
    }

    [Fact]
    public void Server_MessagesFromManyThreadsAtOnce_SumIsExact()
    {
        using var h = new Harness(12, length: 64);
        var start = h.Server.Start();
        var ads = h.Ids.ToDictionary(id => id, id => h.Clients[id].AdvertiseKeys(start));
        Parallel.ForEach(ads.Values, h.Server.ReceiveAdvertisement);
        var advertised = h.Server.CloseAdvertiseKeys();
        var shares = h.Ids.Select(id => h.Clients[id].ShareKeys(advertised)).ToList();
        Parallel.ForEach(shares, h.Server.ReceiveShareKeys);
        var masked = h.MaskOnly(h.Server.CloseShareKeys());
        Parallel.ForEach(masked.Values, h.Server.ReceiveMaskedInput);
        var check = h.Server.CloseMaskedInput();
        var signatures = h.Ids.Select(id => h.Clients[id].SignConsistency(check)).ToList();
        Parallel.ForEach(signatures, h.Server.ReceiveConsistencySignature);
        var request = h.Server.CloseConsistencyCheck();
        var responses = h.Ids.Select(id => h.Clients[id].Unmask(request)).ToList();
        Parallel.ForEach(responses, h.Server.ReceiveUnmaskResponse);
        Assert.Equal(h.PlainSum(h.Ids), h.Server.CloseUnmask());
    }

    [Fact]
    public void Messages_ToString_PrintNoVectorOrShareContents()
    {
        using var h = new Harness(3, length: 4);
        var request = h.ThroughConsistencyCheck();
        var response = h.Clients["silo-00"].Unmask(request);
        var masked = new MaskedInputMessage(1, "silo-00", [123456789012345UL]);
        Assert.DoesNotContain("123456789012345", masked.ToString(), StringComparison.Ordinal);
        var shareHex = Convert.ToHexString(response.SelfMaskShares[0].Value);
        Assert.DoesNotContain(shareHex, response.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("RingVector(Z/2^64, length=4)", h.Inputs["silo-00"].ToString());
    }

    [Fact]
    public void Run_Completed_ReportsCosts()
    {
        using var h = new Harness(4, length: 1000, ringBits: 32, threshold: 3);
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, new Dictionary<string, SecAggStage> { ["silo-03"] = SecAggStage.ConsistencyCheck });
        Assert.True(result.Completed);
        Assert.True(result.Costs.ClientMaskTotal >= result.Costs.ClientMaskMax);
        Assert.True(result.Costs.ClientMaskMax > TimeSpan.Zero);
        Assert.True(result.Costs.ServerUnmask > TimeSpan.Zero);

        // At least the masked vector (1000 x 4 bytes) and the two 32-byte keys per client.
        Assert.InRange(result.Costs.BytesUpPerClient, 4000 + 64, 4000 + 2000);
    }
}
