using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

/// <summary>A scripted fake client sends malformed or unauthorised messages; the server refuses each one and
/// the round goes on with the honest clients.</summary>
public class ServerInputValidationTests
{
    [Theory]
    [InlineData("outsider")]
    [InlineData("short key")]
    [InlineData("null signature")]
    [InlineData("bad signature")]
    [InlineData("duplicate")]
    [InlineData("other round")]
    public void ReceiveAdvertisement_Bad_RefusedRoundContinues(string defect)
    {
        using var h = new Harness(4, length: 4);
        var start = h.Server.Start();
        var ads = h.Ids.Select(id => h.Clients[id].AdvertiseKeys(start)).ToList();
        h.Server.ReceiveAdvertisement(ads[0]);
        var bad = defect switch
        {
            "outsider" => ads[1] with { Sender = "mallory" },
            "short key" => ads[1] with { CipherPublicKey = new byte[16] },
            "null signature" => ads[1] with { Signature = null! },
            "bad signature" => ads[1] with { Signature = new byte[64] },
            "duplicate" => ads[0],
            "other round" => ads[1] with { RoundId = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(defect)),
        };
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveAdvertisement(bad));
        foreach (var ad in ads.Skip(1))
        {
            h.Server.ReceiveAdvertisement(ad);
        }

        Assert.Equal(h.PlainSum(h.Ids), h.Unmask(h.Sign(h.Mask(h.Share(h.Server.CloseAdvertiseKeys())))));
    }

    [Theory]
    [InlineData("cipher", "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("mask", "0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("mask", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    [InlineData("cipher", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    public void ReceiveAdvertisement_LowOrderKeySignedByItsSender_RefusedNamingItRoundContinues(string which, string point)
    {
        // A member signs a low-order key itself (a valid signature): every peer would refuse to agree with it.
        using var h = new Harness(4, length: 4);
        var start = h.Server.Start();
        var ads = h.Ids.Select(id => h.Clients[id].AdvertiseKeys(start)).ToList();
        var lowOrder = Convert.FromHexString(point);
        var bad = which == "cipher" ? ads[1] with { CipherPublicKey = lowOrder } : ads[1] with { MaskPublicKey = lowOrder };
        bad = bad with { Signature = h.Signer(bad.Sender).Sign(SecureAggregation.Internal.SecAggCrypto.AdvertisementPayload(h.Parameters, bad.Sender, bad.CipherPublicKey, bad.MaskPublicKey)) };

        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveAdvertisement(bad));
        Assert.Contains($"the advertisement of {bad.Sender} has a low-order X25519 public key", ex.Message, StringComparison.Ordinal);
        foreach (var ad in ads.Where((_, i) => i != 1))
        {
            h.Server.ReceiveAdvertisement(ad);
        }

        var survivors = h.Except(bad.Sender).ToList();
        Assert.Equal(h.PlainSum(survivors), h.Unmask(h.Sign(h.Mask(h.Share(h.Server.CloseAdvertiseKeys(), survivors), survivors), survivors)));
    }

    [Fact]
    public void ReceiveConsistencySignature_BadSignatureOrNotInU3_Refused()
    {
        using var h = new Harness(5, length: 4);
        var check = h.Mask(h.Share(h.Advertise()), h.Except("silo-04"));
        var signature = h.Clients["silo-00"].SignConsistency(check);
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveConsistencySignature(signature with { Signature = new byte[64] }));
        Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveConsistencySignature(signature with { Sender = "silo-04" }));
        h.Server.ReceiveConsistencySignature(signature);
    }

    [Fact]
    public void ReceiveUnmaskResponse_FromClientThatDidNotSign_Refused()
    {
        using var h = new Harness(5, length: 4);
        var check = h.Mask(h.Share(h.Advertise()));
        h.Clients["silo-04"].SignConsistency(check);
        var request = h.Sign(check, h.Except("silo-04"));
        var response = h.Clients["silo-04"].Unmask(request);
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveUnmaskResponse(response));
        Assert.Contains("silo-04 was dropped before Unmask", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_SecretsZeroedAfterCompletionAndAfterAbort()
    {
        using var h = new Harness(4, length: 4);
        var request = h.ThroughConsistencyCheck();
        Assert.All(h.Clients.Values, c => Assert.True(c.HoldsLiveSecretsForTesting()));
        Assert.Equal(h.PlainSum(h.Ids), h.Unmask(request, h.Except("silo-03")));
        Assert.False(h.Clients["silo-00"].HoldsLiveSecretsForTesting());
        Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-03"].Unmask(request with { Dropped = ["silo-00"] }));
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-03"].Stage);
        Assert.False(h.Clients["silo-03"].HoldsLiveSecretsForTesting());
    }
}
