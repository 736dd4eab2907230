using System.Buffers.Binary;
using System.Security.Cryptography;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation.Internal;

/// <summary>
/// The byte-level constructions both sides must agree on: signed payloads, the share-encryption key and
/// associated data, the share plaintext layout, and the pairwise mask seed. Every one binds the round context
/// (<see cref="SecAggParameters.Context"/>) and a purpose label. Stateless and thread-safe.
/// </summary>
internal static class SecAggCrypto
{
    /// <summary>Length of X25519 keys, Shamir share values of 32-byte secrets, and mask seeds.</summary>
    public const int KeySize = 32;

    // Each share key is derived per (round, sender, recipient) and used for exactly one message, so a fixed
    // nonce never repeats under a key (RFC 8439 section 4).
    private static readonly byte[] ZeroNonce = new byte[12];

    public static byte[] AdvertisementPayload(SecAggParameters p, string sender, ReadOnlySpan<byte> cipherPublicKey, ReadOnlySpan<byte> maskPublicKey) =>
        SignedPayload.Encode(
            SignedPayload.Utf8("securefed/v1/secagg/advertise-keys"),
            p.Context.ToArray(),
            SignedPayload.UInt64(unchecked((ulong)p.RoundId)),
            SignedPayload.Utf8(sender),
            cipherPublicKey.ToArray(),
            maskPublicKey.ToArray());

    public static byte[] ConsistencyPayload(SecAggParameters p, IReadOnlyList<string> sortedSurvivors)
    {
        var fields = new List<ReadOnlyMemory<byte>>
        {
            SignedPayload.Utf8("securefed/v1/secagg/consistency-check"),
            p.Context.ToArray(),
            SignedPayload.UInt64(unchecked((ulong)p.RoundId)),
            SignedPayload.UInt64((ulong)sortedSurvivors.Count),
        };
        foreach (var id in sortedSurvivors)
        {
            fields.Add(SignedPayload.Utf8(id));
        }

        return SignedPayload.Encode(fields.ToArray());
    }

    /// <summary>SHA-256 over (label, context, owner, b): lets the server check a reconstructed self-mask seed even
    /// from exactly t shares. b is 32 uniform bytes, so the hash reveals nothing about it.</summary>
    public static byte[] SelfMaskCommitment(SecAggParameters p, string owner, SecretBytes selfMaskSeed)
    {
        byte[] encoded = SignedPayload.Encode(
            SignedPayload.Utf8("securefed/v1/secagg/self-mask-commitment"), p.Context.ToArray(), SignedPayload.Utf8(owner), selfMaskSeed.Reveal().ToArray());
        try
        {
            return SHA256.HashData(encoded);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(encoded);
        }
    }

    /// <summary>HKDF(X25519(c_self_sk, c_peer_pk), salt = context, info = (label, sender, recipient)): directional,
    /// so u→v and v→u never share a key.</summary>
    public static SecretBytes ShareKey(
        CryptoProvider crypto, SecAggParameters p, SecretBytes cipherPrivateKey, ReadOnlySpan<byte> peerCipherPublicKey, string sender, string recipient)
    {
        using var shared = crypto.KeyAgreement.Agree(cipherPrivateKey, peerCipherPublicKey);
        return ShareKeyFrom(crypto, p, shared, sender, recipient);
    }

    /// <summary>
    /// Both directional share keys of a pair from one X25519 agreement: <c>Out</c> seals what <paramref name="self"/>
    /// sends <paramref name="peer"/>, <c>In</c> opens what <paramref name="peer"/> sends <paramref name="self"/>. The
    /// same keys as two <see cref="ShareKey"/> calls, at the cost of one agreement (issue 14: the agreement is the
    /// client's largest per-neighbour cost).
    /// </summary>
    public static (SecretBytes Out, SecretBytes In) ShareKeyPair(
        CryptoProvider crypto, SecAggParameters p, SecretBytes cipherPrivateKey, ReadOnlySpan<byte> peerCipherPublicKey, string self, string peer)
    {
        using var shared = crypto.KeyAgreement.Agree(cipherPrivateKey, peerCipherPublicKey);
        var outgoing = ShareKeyFrom(crypto, p, shared, self, peer);
        try
        {
            return (outgoing, ShareKeyFrom(crypto, p, shared, peer, self));
        }
        catch
        {
            outgoing.Dispose();
            throw;
        }
    }

    private static SecretBytes ShareKeyFrom(CryptoProvider crypto, SecAggParameters p, SecretBytes shared, string sender, string recipient)
    {
        var info = SignedPayload.Encode(SignedPayload.Utf8("securefed/v1/secagg/share-key"), SignedPayload.Utf8(sender), SignedPayload.Utf8(recipient));
        return crypto.KeyDerivation.Derive(shared, p.Context, info, crypto.Aead.KeySize);
    }

    /// <summary>SHA-256 over (label, context, round, sender, recipient, key): the sender's commitment to a share key.</summary>
    public static byte[] ShareKeyCommitment(SecAggParameters p, string sender, string recipient, ReadOnlySpan<byte> key)
    {
        byte[] encoded = SignedPayload.Encode(
            SignedPayload.Utf8("securefed/v1/secagg/share-key-commitment"), p.Context.ToArray(), SignedPayload.UInt64(unchecked((ulong)p.RoundId)),
            SignedPayload.Utf8(sender), SignedPayload.Utf8(recipient), key.ToArray());
        try
        {
            return SHA256.HashData(encoded);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(encoded);
        }
    }

    /// <summary>What a sender commits to for one encrypted share, a leaf of its share tree: (label, context, round,
    /// sender, recipient, ciphertext, key commitment).</summary>
    public static byte[] SharePayload(SecAggParameters p, EncryptedShare share) =>
        SignedPayload.Encode(
            SignedPayload.Utf8("securefed/v1/secagg/share-signature"), p.Context.ToArray(), SignedPayload.UInt64(unchecked((ulong)p.RoundId)),
            SignedPayload.Utf8(share.Sender), SignedPayload.Utf8(share.Recipient), share.Ciphertext, share.KeyCommitment);

    /// <summary>What a sender signs once for all its shares: (label, context, round, sender, leaf count, root of
    /// <see cref="ShareTree"/> over the <see cref="SharePayload"/> of each share, in the order sent).</summary>
    public static byte[] ShareRootPayload(SecAggParameters p, string sender, int count, ReadOnlySpan<byte> root) =>
        SignedPayload.Encode(
            SignedPayload.Utf8("securefed/v1/secagg/share-root"), p.Context.ToArray(), SignedPayload.UInt64(unchecked((ulong)p.RoundId)),
            SignedPayload.Utf8(sender), SignedPayload.UInt64((ulong)count), root.ToArray());

    /// <summary>The sender's side: one signature over the tree of <paramref name="shares"/>, carried by each share
    /// with its position (the server adds the paths, <see cref="WithPaths"/>).</summary>
    public static EncryptedShare[] SignShares(SecAggParameters p, ISigner signer, string sender, IReadOnlyList<EncryptedShare> shares)
    {
        if (shares.Count == 0)
        {
            return [];
        }

        var root = ShareTree.Root([.. shares.Select(s => ShareTree.Leaf(SharePayload(p, s)))]);
        var signature = signer.Sign(ShareRootPayload(p, sender, shares.Count, root));
        return [.. shares.Select((s, i) => s with { Signature = signature, LeafIndex = i, LeafCount = shares.Count, Proof = [] })];
    }

    /// <summary>The server's side: checks that <paramref name="shares"/> are one signed tree (each at its position,
    /// one signature, verified once) and returns them with the path each recipient needs to check its own.</summary>
    /// <returns>Null when the positions, the count or the signature do not hold.</returns>
    public static EncryptedShare[]? WithPaths(SecAggParameters p, ISignatureVerifier? verifier, string sender, IReadOnlyList<EncryptedShare> shares)
    {
        if (shares.Count == 0)
        {
            return [];
        }

        var signature = shares[0].Signature;
        for (int i = 0; i < shares.Count; i++)
        {
            if (shares[i].LeafIndex != i || shares[i].LeafCount != shares.Count || !shares[i].Signature.AsSpan().SequenceEqual(signature))
            {
                return null;
            }
        }

        var leaves = shares.Select(s => ShareTree.Leaf(SharePayload(p, s))).ToArray();
        var paths = ShareTree.Paths(leaves);
        var root = ShareTree.RootFromPath(leaves[0], 0, leaves.Length, paths[0])!; // the tree once, not twice
        if (verifier is not null && !verifier.Verify(ShareRootPayload(p, sender, shares.Count, root), signature))
        {
            return null;
        }

        return [.. shares.Select((s, i) => s with { Proof = paths[i] })];
    }

    /// <summary>The recipient's side: whether <paramref name="share"/>'s path leads to a root its sender signed.</summary>
    public static bool VerifyShare(SecAggParameters p, ISignatureVerifier verifier, EncryptedShare share)
    {
        if (share.Signature is not { Length: > 0 } || share.KeyCommitment is null || share.Proof is null)
        {
            return false;
        }

        var root = ShareTree.RootFromPath(ShareTree.Leaf(SharePayload(p, share)), share.LeafIndex, share.LeafCount, share.Proof);
        return root is not null && verifier.Verify(ShareRootPayload(p, share.Sender, share.LeafCount, root), share.Signature);
    }

    public static byte[] ShareAssociatedData(SecAggParameters p, string sender, string recipient) =>
        SignedPayload.Encode(
            SignedPayload.Utf8("securefed/v1/secagg/share"),
            p.Context.ToArray(),
            SignedPayload.UInt64(unchecked((ulong)p.RoundId)),
            SignedPayload.Utf8(sender),
            SignedPayload.Utf8(recipient));

    public static byte[] SealShare(
        CryptoProvider crypto, SecAggParameters p, SecretBytes key, string sender, string recipient, SecretBytes maskKeyShare, SecretBytes selfMaskShare)
    {
        byte[] plaintext = SignedPayload.Encode(
            SignedPayload.Utf8(sender), SignedPayload.Utf8(recipient), maskKeyShare.Reveal().ToArray(), selfMaskShare.Reveal().ToArray());
        try
        {
            return crypto.Aead.Seal(key, ZeroNonce, plaintext, ShareAssociatedData(p, sender, recipient));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Decrypts and parses a share ciphertext; checks that the plaintext names the expected parties.</summary>
    /// <exception cref="ProtocolViolationException">Authentication failed or the plaintext is malformed.</exception>
    public static (SecretBytes MaskKeyShare, SecretBytes SelfMaskShare) OpenShare(
        CryptoProvider crypto, SecAggParameters p, SecretBytes key, string sender, string recipient, byte[] ciphertext)
    {
        byte[] plaintext;
        try
        {
            plaintext = crypto.Aead.Open(key, ZeroNonce, ciphertext, ShareAssociatedData(p, sender, recipient));
        }
        catch (AeadAuthenticationException)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                $"the share ciphertext from {sender} to {recipient} failed authentication (tampered, misrouted or from another round)");
        }

        try
        {
            var fields = ParseFields(plaintext, 4);
            if (fields is null
                || !fields[0].Span.SequenceEqual(SignedPayload.Utf8(sender))
                || !fields[1].Span.SequenceEqual(SignedPayload.Utf8(recipient))
                || fields[2].Length != KeySize
                || fields[3].Length != KeySize)
            {
                throw new ProtocolViolationException(
                    FaultKind.InvalidArgument, $"the share plaintext from {sender} to {recipient} is malformed or names other parties");
            }

            return (new SecretBytes(fields[2].Span), new SecretBytes(fields[3].Span));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Whether <paramref name="publicKey"/> is a point every X25519 agreement refuses (its result is all zeros, RFC 7748
    /// section 6.1: a point of order dividing 8). X25519 clamps every scalar to a multiple of 8, so one agreement with
    /// any key decides it for all; no honest party generates such a key.
    /// </summary>
    public static bool IsLowOrder(CryptoProvider crypto, ReadOnlySpan<byte> publicKey)
    {
        try
        {
            using var shared = crypto.KeyAgreement.Agree(LowOrderProbe.Value.PrivateKey, publicKey);
            return false;
        }
        catch (CryptographicException)
        {
            return true;
        }
    }

    // Any key pair tells low-order points apart (see IsLowOrder); not secret, it only ever agrees with advertised keys.
    private static readonly Lazy<X25519KeyPair> LowOrderProbe = new(() => CryptoProvider.Default.KeyAgreement.Generate(SystemRandomSource.Instance));

    /// <summary>s_uv = HKDF(X25519(s_self_sk, s_peer_pk), salt = context, info = (label, min id, max id)):
    /// symmetric in the two parties.</summary>
    public static SecretBytes PairwiseSeed(
        CryptoProvider crypto, SecAggParameters p, SecretBytes maskPrivateKey, ReadOnlySpan<byte> peerMaskPublicKey, string a, string b)
    {
        var (low, high) = string.CompareOrdinal(a, b) < 0 ? (a, b) : (b, a);
        using var shared = crypto.KeyAgreement.Agree(maskPrivateKey, peerMaskPublicKey);
        var info = SignedPayload.Encode(SignedPayload.Utf8("securefed/v1/secagg/pairwise-mask"), SignedPayload.Utf8(low), SignedPayload.Utf8(high));
        return crypto.KeyDerivation.Derive(shared, p.Context, info, p.MaskGenerator(crypto).SeedSize);
    }

    private static ReadOnlyMemory<byte>[]? ParseFields(byte[] encoded, int count)
    {
        var fields = new ReadOnlyMemory<byte>[count];
        int offset = 0;
        for (int i = 0; i < count; i++)
        {
            if (encoded.Length - offset < sizeof(uint))
            {
                return null;
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(encoded.AsSpan(offset));
            offset += sizeof(uint);
            if (length > (uint)(encoded.Length - offset))
            {
                return null;
            }

            fields[i] = encoded.AsMemory(offset, (int)length);
            offset += (int)length;
        }

        return offset == encoded.Length ? fields : null;
    }
}
