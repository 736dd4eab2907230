using Google.Protobuf;
using SecureFed.Protocol.SecureAggregation;
using W = SecureFed.Contracts.V1;

namespace SecureFed.Contracts;

/// <summary>
/// One-to-one conversions between the secure-aggregation stage records and their wire messages. The round id comes
/// from the message header; checking it, the stage and the sender is the protocol's and the transport's job.
/// </summary>
public static class SecAggMapping
{
    /// <summary>Wire form of a key advertisement.</summary>
    public static W.KeyAdvertisement ToWire(KeyAdvertisement m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new W.KeyAdvertisement
        {
            Sender = m.Sender,
            CipherPublicKey = ByteString.CopyFrom(m.CipherPublicKey),
            MaskPublicKey = ByteString.CopyFrom(m.MaskPublicKey),
            Signature = ByteString.CopyFrom(m.Signature),
        };
    }

    /// <summary>Record form of a key advertisement.</summary>
    public static KeyAdvertisement FromWire(long round, W.KeyAdvertisement m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, m.Sender, m.CipherPublicKey.ToByteArray(), m.MaskPublicKey.ToByteArray(), m.Signature.ToByteArray());
    }

    /// <summary>Wire form of the advertised key set.</summary>
    public static W.AdvertisedKeys ToWire(AdvertisedKeys m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new W.AdvertisedKeys();
        w.Advertisements.AddRange(m.Advertisements.Select(ToWire));
        return w;
    }

    /// <summary>Record form of the advertised key set.</summary>
    public static AdvertisedKeys FromWire(long round, W.AdvertisedKeys m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, [.. m.Advertisements.Select(a => FromWire(round, a))]);
    }

    /// <summary>Wire form of a silo's encrypted shares.</summary>
    public static W.ShareKeys ToWire(ShareKeysMessage m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new W.ShareKeys { Sender = m.Sender, SelfMaskCommitment = ByteString.CopyFrom(m.SelfMaskCommitment) };
        w.Shares.AddRange(m.Shares.Select(ToWire));
        return w;
    }

    /// <summary>Record form of a silo's encrypted shares.</summary>
    public static ShareKeysMessage FromWire(long round, W.ShareKeys m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, m.Sender, [.. m.Shares.Select(FromWire)], m.SelfMaskCommitment.ToByteArray());
    }

    /// <summary>Wire form of the shares routed to one silo.</summary>
    public static W.ShareKeysDelivery ToWire(ShareKeysDelivery m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new W.ShareKeysDelivery { Recipient = m.Recipient };
        w.Shares.AddRange(m.Shares.Select(ToWire));
        return w;
    }

    /// <summary>Record form of the shares routed to one silo.</summary>
    public static ShareKeysDelivery FromWire(long round, W.ShareKeysDelivery m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, m.Recipient, [.. m.Shares.Select(FromWire)]);
    }

    /// <summary>Wire form of the consistency-check request.</summary>
    public static W.ConsistencyCheckRequest ToWire(ConsistencyCheckRequest m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new W.ConsistencyCheckRequest();
        w.Survivors.AddRange(m.Survivors);
        return w;
    }

    /// <summary>Record form of the consistency-check request.</summary>
    public static ConsistencyCheckRequest FromWire(long round, W.ConsistencyCheckRequest m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, [.. m.Survivors]);
    }

    /// <summary>Wire form of a consistency signature.</summary>
    public static W.ConsistencySignature ToWire(ConsistencySignature m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new W.ConsistencySignature { Sender = m.Sender, Signature = ByteString.CopyFrom(m.Signature) };
    }

    /// <summary>Record form of a consistency signature.</summary>
    public static ConsistencySignature FromWire(long round, W.ConsistencySignature m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, m.Sender, m.Signature.ToByteArray());
    }

    /// <summary>Wire form of the unmask request.</summary>
    public static W.UnmaskRequest ToWire(UnmaskRequest m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new W.UnmaskRequest();
        w.Survivors.AddRange(m.Survivors);
        w.Dropped.AddRange(m.Dropped);
        w.Signatures.AddRange(m.Signatures.Select(ToWire));
        return w;
    }

    /// <summary>Record form of the unmask request.</summary>
    public static UnmaskRequest FromWire(long round, W.UnmaskRequest m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, [.. m.Survivors], [.. m.Dropped], [.. m.Signatures.Select(s => FromWire(round, s))]);
    }

    /// <summary>Wire form of an unmask response.</summary>
    public static W.UnmaskResponse ToWire(UnmaskResponse m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var w = new W.UnmaskResponse { Sender = m.Sender };
        w.MaskKeyShares.AddRange(m.MaskKeyShares.Select(ToWire));
        w.SelfMaskShares.AddRange(m.SelfMaskShares.Select(ToWire));
        return w;
    }

    /// <summary>Record form of an unmask response.</summary>
    public static UnmaskResponse FromWire(long round, W.UnmaskResponse m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(round, m.Sender, [.. m.MaskKeyShares.Select(FromWire)], [.. m.SelfMaskShares.Select(FromWire)]);
    }

    private static W.EncryptedShare ToWire(EncryptedShare s) => new()
    {
        Sender = s.Sender, Recipient = s.Recipient, Ciphertext = ByteString.CopyFrom(s.Ciphertext),
        KeyCommitment = ByteString.CopyFrom(s.KeyCommitment), Signature = ByteString.CopyFrom(s.Signature),
        LeafIndex = checked((uint)s.LeafIndex), LeafCount = checked((uint)s.LeafCount), Proof = ByteString.CopyFrom(s.Proof),
    };

    // A position past int.MaxValue cannot belong to a real tree; it is kept out of range so the tree check refuses it.
    private static EncryptedShare FromWire(W.EncryptedShare s) =>
        new(s.Sender, s.Recipient, s.Ciphertext.ToByteArray())
        {
            KeyCommitment = s.KeyCommitment.ToByteArray(), Signature = s.Signature.ToByteArray(),
            LeafIndex = (int)Math.Min(s.LeafIndex, int.MaxValue), LeafCount = (int)Math.Min(s.LeafCount, int.MaxValue), Proof = s.Proof.ToByteArray(),
        };

    private static W.RevealedShare ToWire(RevealedShare s) => new() { Owner = s.Owner, Value = ByteString.CopyFrom(s.Value) };

    private static RevealedShare FromWire(W.RevealedShare s) => new(s.Owner, s.Value.ToByteArray());
}
