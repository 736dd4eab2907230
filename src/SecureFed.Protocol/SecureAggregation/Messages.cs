namespace SecureFed.Protocol.SecureAggregation;

// One message record per stage in each direction. They carry only public values, ciphertexts, signatures and
// (at Unmask) the shares a client decided to reveal, so the transport can map them to protobuf one to one.
// Records holding arrays compare by reference; the protocol never relies on record equality.

/// <summary>A message from the server to a client. <see cref="Stage"/> is the stage in which a client handles it.</summary>
/// <param name="RoundId">The round the message belongs to.</param>
public abstract record SecAggServerMessage(long RoundId)
{
    /// <summary>The stage in which the receiving client handles this message.</summary>
    public abstract SecAggStage Stage { get; }
}

/// <summary>A message from a client to the server. <see cref="Stage"/> is the stage in which the server accepts it.</summary>
/// <param name="RoundId">The round the message belongs to.</param>
/// <param name="Sender">The sending participant (the transport must check it against the peer's certificate).</param>
public abstract record SecAggClientMessage(long RoundId, string Sender)
{
    /// <summary>The stage in which the server accepts this message.</summary>
    public abstract SecAggStage Stage { get; }
}

/// <summary>Stage 0, server to client: start the round; answer with a <see cref="KeyAdvertisement"/>.</summary>
public sealed record AdvertiseKeysRequest(long RoundId) : SecAggServerMessage(RoundId)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.AdvertiseKeys;
}

/// <summary>Stage 0, client to server: the client's two X25519 public keys, signed over (context, sender, c_pk, s_pk).</summary>
/// <param name="RoundId">The round id.</param>
/// <param name="Sender">The advertising participant.</param>
/// <param name="CipherPublicKey">c_pk: the key peers use to encrypt shares to the sender (32 bytes).</param>
/// <param name="MaskPublicKey">s_pk: the key peers use to agree pairwise mask seeds (32 bytes).</param>
/// <param name="Signature">ECDSA P-256 signature with the sender's certificate key (64 bytes, r || s).</param>
public sealed record KeyAdvertisement(long RoundId, string Sender, byte[] CipherPublicKey, byte[] MaskPublicKey, byte[] Signature)
    : SecAggClientMessage(RoundId, Sender)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.AdvertiseKeys;
}

/// <summary>Stage 1, server to client: every advertisement the server received (U1).</summary>
public sealed record AdvertisedKeys(long RoundId, IReadOnlyList<KeyAdvertisement> Advertisements) : SecAggServerMessage(RoundId)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.ShareKeys;
}

/// <summary>One AEAD ciphertext of (sender, recipient, share of s_sk, share of b) from sender to recipient.</summary>
public sealed record EncryptedShare(string Sender, string Recipient, byte[] Ciphertext)
{
    /// <summary>
    /// SHA-256 commitment to the directional key the ciphertext is sealed under (<c>SecAggCrypto.ShareKeyCommitment</c>):
    /// lets the server judge a recipient's complaint from the key it reveals, without learning any other share.
    /// </summary>
    public byte[] KeyCommitment { get; init; } = [];

    /// <summary>
    /// The sender's signature (its certificate key) over the root of the hash tree of all its shares of the round, whose
    /// leaves are (context, sender, recipient, ciphertext, commitment): the same on every share of one sender.
    /// </summary>
    public byte[] Signature { get; init; } = [];

    /// <summary>This share's position among its sender's shares, the leaves of the signed tree.</summary>
    public int LeafIndex { get; init; }

    /// <summary>How many shares its sender signed in one tree (signed with the root).</summary>
    public int LeafCount { get; init; }

    /// <summary>The sibling hashes from this share's leaf to the signed root (32 bytes each, lowest first), added by
    /// the server when it routes the share; empty from the sender.</summary>
    public byte[] Proof { get; init; } = [];
}

/// <summary>Stage 1, client to server: one <see cref="EncryptedShare"/> for every other member of U1, and a
/// commitment to the self-mask seed b (SHA-256 over the round context, the sender and b; 32 bytes) that lets the
/// server detect a corrupt share of b at Unmask.</summary>
/// <param name="RoundId">The round id.</param>
/// <param name="Sender">The sharing participant.</param>
/// <param name="Shares">The encrypted shares.</param>
/// <param name="SelfMaskCommitment">The commitment to b.</param>
public sealed record ShareKeysMessage(long RoundId, string Sender, IReadOnlyList<EncryptedShare> Shares, byte[] SelfMaskCommitment)
    : SecAggClientMessage(RoundId, Sender)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.ShareKeys;
}

/// <summary>Stage 2, server to client: the ciphertexts addressed to <paramref name="Recipient"/>; their senders
/// (with the recipient) form the recipient's view of U2.</summary>
/// <param name="RoundId">The round id.</param>
/// <param name="Recipient">The client this delivery is for.</param>
/// <param name="Shares">One ciphertext from each other member of U2.</param>
public sealed record ShareKeysDelivery(long RoundId, string Recipient, IReadOnlyList<EncryptedShare> Shares) : SecAggServerMessage(RoundId)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.MaskedInput;
}

/// <summary>Stage 2, client to server: y_u = x_u + PRG(b_u) + Σ_{v&gt;u} PRG(s_uv) - Σ_{v&lt;u} PRG(s_uv) mod 2^k,
/// each element in [0, 2^k).</summary>
public sealed record MaskedInputMessage(long RoundId, string Sender, ulong[] MaskedValues) : SecAggClientMessage(RoundId, Sender)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.MaskedInput;
}

/// <summary>Stage 2, client to server: the same y_u as <see cref="MaskedInputMessage"/>, as it arrived on the wire: in
/// chunks of <see cref="RingWords"/> (k/8 little-endian bytes per element), in order. The server folds the words into its
/// running sum without decoding them into a vector first; the chunks are only read, never kept.</summary>
public sealed record MaskedInputWordsMessage(long RoundId, string Sender, IReadOnlyList<ReadOnlyMemory<byte>> Chunks) : SecAggClientMessage(RoundId, Sender)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.MaskedInput;
}

/// <summary>Stage 3, server to client: U3, the clients whose masked input the server accepted.</summary>
public sealed record ConsistencyCheckRequest(long RoundId, IReadOnlyList<string> Survivors) : SecAggServerMessage(RoundId)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.ConsistencyCheck;
}

/// <summary>Stage 3, client to server: the sender's signature over (context, U3).</summary>
public sealed record ConsistencySignature(long RoundId, string Sender, byte[] Signature) : SecAggClientMessage(RoundId, Sender)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.ConsistencyCheck;
}

/// <summary>Stage 4, server to client: U3 again, the dropped clients U2\U3 whose s_sk shares are wanted, and
/// at least t signatures (U4) over U3.</summary>
public sealed record UnmaskRequest(
    long RoundId, IReadOnlyList<string> Survivors, IReadOnlyList<string> Dropped, IReadOnlyList<ConsistencySignature> Signatures)
    : SecAggServerMessage(RoundId)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.Unmask;
}

/// <summary>A share the sender reveals at Unmask: the sender's share of <paramref name="Owner"/>'s secret. The
/// share index is the sender's, so it is not carried.</summary>
public sealed record RevealedShare(string Owner, byte[] Value);

/// <summary>Stage 4, client to server: shares of s_sk for dropped peers and shares of b for survivors, never
/// both for one peer.</summary>
public sealed record UnmaskResponse(
    long RoundId, string Sender, IReadOnlyList<RevealedShare> MaskKeyShares, IReadOnlyList<RevealedShare> SelfMaskShares)
    : SecAggClientMessage(RoundId, Sender)
{
    /// <inheritdoc />
    public override SecAggStage Stage => SecAggStage.Unmask;
}
