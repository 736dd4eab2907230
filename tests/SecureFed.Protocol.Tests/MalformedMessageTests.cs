using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

/// <summary>A scripted fake server sends malformed messages; the honest client refuses each one and aborts.</summary>
public class MalformedMessageTests
{
    public static TheoryData<string> AdvertisementCases() => new()
    {
        "null list", "null entry", "duplicate", "short key", "same key twice", "unknown sender", "no verifier", "other round inside",
    };

    [Theory]
    [MemberData(nameof(AdvertisementCases))]
    public void ShareKeys_MalformedAdvertisedKeys_RefusedAndClientAborts(string defect)
    {
        using var h = new Harness(4, length: 4);
        var good = h.Advertise();
        var ads = good.Advertisements.ToList();
        var verifiers = h.Verifiers;
        AdvertisedKeys bad = defect switch
        {
            "null list" => good with { Advertisements = null! },
            "null entry" => good with { Advertisements = [.. ads, null!] },
            "duplicate" => good with { Advertisements = [.. ads, ads[1]] },
            "short key" => good with { Advertisements = [ads[0] with { MaskPublicKey = new byte[31] }, .. ads.Skip(1)] },
            "same key twice" => good with { Advertisements = [ads[0] with { MaskPublicKey = ads[0].CipherPublicKey }, .. ads.Skip(1)] },
            "unknown sender" => good with { Advertisements = [.. ads, ads[1] with { Sender = "mallory" }] },
            "no verifier" => RemoveVerifier(good, verifiers, "silo-02"),
            "other round inside" => good with { Advertisements = [ads[0], ads[1] with { RoundId = 9 }, .. ads.Skip(2)] },
            _ => throw new ArgumentOutOfRangeException(nameof(defect)),
        };
        Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].ShareKeys(bad));
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-00"].Stage);
        Assert.NotNull(h.Clients["silo-00"].AbortReason);
    }

    public static TheoryData<string> DeliveryCases() => new()
    {
        "other recipient", "null shares", "share for someone else", "share from self", "share from outsider", "duplicate sender", "empty ciphertext",
    };

    [Theory]
    [MemberData(nameof(DeliveryCases))]
    public void MaskInput_MalformedDelivery_RefusedAndClientAborts(string defect)
    {
        using var h = new Harness(4, length: 4);
        var good = h.Share(h.Advertise())["silo-00"];
        var shares = good.Shares.ToList();
        ShareKeysDelivery bad = defect switch
        {
            "other recipient" => good with { Recipient = "silo-01" },
            "null shares" => good with { Shares = null! },
            "share for someone else" => good with { Shares = [shares[0] with { Recipient = "silo-02" }, .. shares.Skip(1)] },
            "share from self" => good with { Shares = [shares[0] with { Sender = "silo-00" }, .. shares.Skip(1)] },
            "share from outsider" => good with { Shares = [shares[0] with { Sender = "mallory" }, .. shares.Skip(1)] },
            "duplicate sender" => good with { Shares = [.. shares, shares[0]] },
            "empty ciphertext" => good with { Shares = [shares[0] with { Ciphertext = [] }, .. shares.Skip(1)] },
            _ => throw new ArgumentOutOfRangeException(nameof(defect)),
        };
        Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].MaskInput(bad, h.Inputs["silo-00"]));
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-00"].Stage);
    }

    public static TheoryData<string> UnmaskCases() => new()
    {
        "null signatures", "duplicate signature", "signer outside U3", "signature from other round", "repeated survivor", "null dropped",
    };

    [Theory]
    [MemberData(nameof(UnmaskCases))]
    public void Unmask_MalformedRequest_RefusedRevealsNothing(string defect)
    {
        using var h = new Harness(5, length: 4);
        var deliveries = h.Share(h.Advertise());
        var good = h.Sign(h.Mask(deliveries, h.Except("silo-04")));
        var sigs = good.Signatures.ToList();
        UnmaskRequest bad = defect switch
        {
            "null signatures" => good with { Signatures = null! },
            "duplicate signature" => good with { Signatures = [.. sigs, sigs[0]] },
            "signer outside U3" => good with { Signatures = [.. sigs, sigs[0] with { Sender = "silo-04" }] },
            "signature from other round" => good with { Signatures = [sigs[0] with { RoundId = 2 }, .. sigs.Skip(1)] },
            "repeated survivor" => good with { Survivors = [.. good.Survivors, good.Survivors[0]] },
            "null dropped" => good with { Dropped = null! },
            _ => throw new ArgumentOutOfRangeException(nameof(defect)),
        };
        Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].Unmask(bad));
        Assert.Equal(SecAggStage.Aborted, h.Clients["silo-00"].Stage);

        // The aborted client has nothing left to give, even for the honest request.
        Assert.Throws<ProtocolViolationException>(() => h.Clients["silo-00"].Unmask(good));
    }

    private static AdvertisedKeys RemoveVerifier(AdvertisedKeys keys, Dictionary<string, Crypto.ISignatureVerifier> verifiers, string id)
    {
        verifiers[id].Dispose();
        verifiers.Remove(id);
        return keys;
    }
}
