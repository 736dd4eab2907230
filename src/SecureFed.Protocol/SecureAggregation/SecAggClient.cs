using System.Security.Cryptography;
using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// One honest client of a secure aggregation round (Bonawitz et al., CCS 2017, figure 4, with the
/// active-adversary additions of section 6: signed key advertisements and the consistency check), as an explicit
/// state machine over <see cref="SecAggStage"/>. Transport-free: each method takes the server's message for the
/// current stage and returns the client's answer.
/// </summary>
/// <remarks>
/// <para>Every method first checks "expected stage X, received Y" and the round id, then validates the message.
/// Any violation (wrong stage, another round's message, a forged advertisement, a tampered share ciphertext, a
/// survivor set that is not a subset of U2 or differs from the one signed, fewer than t valid consistency
/// signatures, a request for both the mask-key share and the self-mask share of one peer) and any survivor count
/// below t aborts the client: it zeroes its secrets, moves to <see cref="SecAggStage.Aborted"/>, reveals nothing
/// more and throws a <see cref="SecureFedException"/> (<see cref="ProtocolViolationException"/> for misbehaviour,
/// <see cref="SecAggAbortedException"/> below threshold).</para>
/// <para>Thread-safe: calls are serialised by a lock. Dispose zeroes every secret (key pairs, self-mask seed,
/// shares held for peers).</para>
/// </remarks>
public sealed class SecAggClient : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SecAggParameters _parameters;
    private readonly ISigner _signer;
    private readonly IReadOnlyDictionary<string, ISignatureVerifier> _verifiers;
    private readonly IRandomSource _rng;
    private readonly CryptoProvider _crypto;
    private readonly Dictionary<string, (SecretBytes MaskKey, SecretBytes SelfMask)> _heldShares = new(StringComparer.Ordinal);

    // The key each neighbour's share to this client is sealed under, derived at ShareKeys from the same agreement as the
    // key this client seals under, and used (then wiped) at MaskInput.
    private readonly Dictionary<string, SecretBytes> _incomingShareKeys = new(StringComparer.Ordinal);
    private X25519KeyPair? _cipherKeys;
    private X25519KeyPair? _maskKeys;
    private SecretBytes? _selfMaskSeed;
    private Dictionary<string, KeyAdvertisement>? _u1;
    private string[]? _u2;
    private string[]? _u3;

    /// <summary>Creates the client for participant <paramref name="id"/>.</summary>
    /// <param name="parameters">The round parameters (agreed with the server out of band, e.g. in the round plan).</param>
    /// <param name="id">This client's participant id.</param>
    /// <param name="signer">Signs with this client's certificate key.</param>
    /// <param name="peerVerifiers">For each participant id, the verifier of its certificate key (the caller has
    /// already validated the certificates against the consortium CA). A peer without a verifier is refused.</param>
    /// <param name="rng">Randomness for keys, the self-mask seed and the Shamir polynomials.</param>
    /// <param name="crypto">The primitives; null means <see cref="CryptoProvider.Default"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a participant.</exception>
    public SecAggClient(
        SecAggParameters parameters,
        string id,
        ISigner signer,
        IReadOnlyDictionary<string, ISignatureVerifier> peerVerifiers,
        IRandomSource rng,
        CryptoProvider? crypto = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(peerVerifiers);
        ArgumentNullException.ThrowIfNull(rng);
        if (!parameters.IsParticipant(id))
        {
            throw new ArgumentException($"'{id}' is not a participant of round {parameters.RoundId}", nameof(id));
        }

        _parameters = parameters;
        Id = id;
        _signer = signer;
        _verifiers = peerVerifiers;
        _rng = rng;
        _crypto = crypto ?? CryptoProvider.Default;
    }

    /// <summary>This client's participant id.</summary>
    public string Id { get; }

    /// <summary>The stage whose server message the client expects next, or a terminal stage.</summary>
    public SecAggStage Stage { get; private set; } = SecAggStage.AdvertiseKeys;

    /// <summary>Why the client aborted (no secrets in it), or null.</summary>
    public string? AbortReason { get; private set; }

    /// <summary>Stage 0: makes the two X25519 key pairs and signs (context, round, id, c_pk, s_pk).</summary>
    public KeyAdvertisement AdvertiseKeys(AdvertiseKeysRequest request) => Step(request, () =>
    {
        _cipherKeys = _crypto.KeyAgreement.Generate(_rng);
        _maskKeys = _crypto.KeyAgreement.Generate(_rng);
        byte[] cpk = _cipherKeys.PublicKey.ToArray();
        byte[] spk = _maskKeys.PublicKey.ToArray();
        byte[] signature = _signer.Sign(SecAggCrypto.AdvertisementPayload(_parameters, Id, cpk, spk));
        return new KeyAdvertisement(_parameters.RoundId, Id, cpk, spk, signature);
    });

    /// <summary>Stage 1: verifies every advertisement of its neighbourhood (all of U with the complete graph; others
    /// are ignored unread), then Shamir-splits s_sk and a fresh self-mask seed b t_N-of-|N[u]| and encrypts each
    /// neighbour's pair of shares to it.</summary>
    public ShareKeysMessage ShareKeys(AdvertisedKeys message) => Step(message, () =>
    {
        var u1 = new Dictionary<string, KeyAdvertisement>(StringComparer.Ordinal);
        foreach (var ad in message.Advertisements ?? throw Malformed("the advertisement list is missing"))
        {
            // SecAgg+: keys of clients outside N[u] play no part here, so they are neither verified nor kept.
            if (ad?.Sender is not null && _parameters.IsParticipant(ad.Sender) && !_parameters.InNeighbourhood(Id, ad.Sender))
            {
                continue;
            }

            VerifyAdvertisement(ad);

            // Keep our own copy of the verified keys, so later changes to the message cannot swap them.
            if (!u1.TryAdd(ad.Sender, ad with { CipherPublicKey = ad.CipherPublicKey.ToArray(), MaskPublicKey = ad.MaskPublicKey.ToArray() }))
            {
                throw Malformed($"two advertisements from {ad.Sender}");
            }
        }

        if (!u1.TryGetValue(Id, out var own)
            || !own.CipherPublicKey.AsSpan().SequenceEqual(_cipherKeys!.PublicKey)
            || !own.MaskPublicKey.AsSpan().SequenceEqual(_maskKeys!.PublicKey))
        {
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition, $"the advertised key set does not contain {Id}'s own keys unchanged");
        }

        RequireNeighbourhoodThreshold(u1.Count, "U1 (advertised keys)");
        _u1 = u1;
        _selfMaskSeed = SecretBytes.Generate(_parameters.MaskGenerator(_crypto).SeedSize, _rng);

        // One share for each member of N[u] at its global index (with the complete graph: indices 1..n, the same
        // shares as a plain t-of-n split).
        var neighbourhood = _parameters.NeighbourhoodOf(Id);
        var indices = neighbourhood.Select(_parameters.ShareIndexOf).ToArray();
        var slots = new Dictionary<string, int>(neighbourhood.Count, StringComparer.Ordinal);
        for (int i = 0; i < neighbourhood.Count; i++)
        {
            slots[neighbourhood[i]] = i;
        }

        var sharing = _parameters.SecretSharing(_crypto);
        var maskKeyShares = sharing.SplitAt(_maskKeys!.PrivateKey.Reveal(), _parameters.NeighbourhoodThreshold, indices, _rng);
        var selfMaskShares = sharing.SplitAt(_selfMaskSeed.Reveal(), _parameters.NeighbourhoodThreshold, indices, _rng);
        try
        {
            var ciphertexts = new List<EncryptedShare>(u1.Count - 1);
            foreach (var peer in u1.Keys.Order(StringComparer.Ordinal))
            {
                int slot = slots[peer];
                if (peer == Id)
                {
                    // Our own shares stay here; they are revealed at Unmask like any peer's share.
                    _heldShares[Id] = (new SecretBytes(maskKeyShares[slot].Value.Reveal()), new SecretBytes(selfMaskShares[slot].Value.Reveal()));
                    continue;
                }

                var (key, incoming) = SecAggCrypto.ShareKeyPair(_crypto, _parameters, _cipherKeys!.PrivateKey, u1[peer].CipherPublicKey, Id, peer);
                using var _ = key;
                _incomingShareKeys.Add(peer, incoming);
                byte[] ciphertext = SecAggCrypto.SealShare(
                    _crypto, _parameters, key, Id, peer, maskKeyShares[slot].Value, selfMaskShares[slot].Value);
                var share = new EncryptedShare(Id, peer, ciphertext) { KeyCommitment = SecAggCrypto.ShareKeyCommitment(_parameters, Id, peer, key.Reveal()) };
                ciphertexts.Add(share);
            }

            // One signature over the tree of all the shares, not one per share (issue 14: at 1000 silos the server
            // verified 128 000 share signatures a round).
            return new ShareKeysMessage(
                _parameters.RoundId, Id, SecAggCrypto.SignShares(_parameters, _signer, Id, ciphertexts), SecAggCrypto.SelfMaskCommitment(_parameters, Id, _selfMaskSeed));
        }
        finally
        {
            DisposeAll(maskKeyShares);
            DisposeAll(selfMaskShares);
        }
    });

    /// <summary>Stage 2: decrypts the shares addressed to this client (their senders form U2), then returns
    /// y = x + PRG(b) + Σ_{v&gt;u} PRG(s_uv) - Σ_{v&lt;u} PRG(s_uv) mod 2^k over v in U2 \ {u}.</summary>
    /// <exception cref="ArgumentException"><paramref name="input"/> has the wrong ring or length (the client
    /// stays in its stage).</exception>
    public MaskedInputMessage MaskInput(ShareKeysDelivery message, RingVector input) => MaskInput(message, input, consumeInput: false);

    /// <summary>As <see cref="MaskInput(ShareKeysDelivery, RingVector)"/>; with <paramref name="consumeInput"/> the input's own
    /// array is masked in place and becomes the message's (no copy of a million-element vector), so the caller must
    /// not use <paramref name="input"/> again, not even after an exception.</summary>
    public MaskedInputMessage MaskInput(ShareKeysDelivery message, RingVector input, bool consumeInput)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.RingBits != _parameters.RingBits || input.Length != _parameters.VectorLength)
        {
            throw new ArgumentException(
                $"the input is Z/2^{input.RingBits} length {input.Length}; the round needs Z/2^{_parameters.RingBits} length {_parameters.VectorLength}",
                nameof(input));
        }

        return Step(message, () =>
        {
            if (!string.Equals(message.Recipient, Id, StringComparison.Ordinal))
            {
                throw Malformed($"a share delivery for {message.Recipient} was sent to {Id}");
            }

            foreach (var share in message.Shares ?? throw Malformed("the share list is missing"))
            {
                if (share is null || share.Ciphertext is null)
                {
                    throw Malformed("a share entry is missing");
                }

                if (!string.Equals(share.Recipient, Id, StringComparison.Ordinal))
                {
                    throw Malformed($"a share for {share.Recipient} was delivered to {Id}");
                }

                if (share.Sender == Id || share.Sender is null || !_u1!.ContainsKey(share.Sender))
                {
                    throw Malformed($"a share from {share.Sender}, who is not another member of U1");
                }

                if (_heldShares.ContainsKey(share.Sender))
                {
                    throw Malformed($"two shares from {share.Sender}");
                }

                // Derived with this client's own key for the sender at ShareKeys (one agreement per pair, not two).
                if (!_incomingShareKeys.Remove(share.Sender, out var key))
                {
                    throw Malformed($"a share from {share.Sender}, to whom {Id} sent none");
                }

                using var _ = key;
                _heldShares.Add(share.Sender, OpenOrComplain(share, key));
            }

            foreach (var unused in _incomingShareKeys.Values)
            {
                unused.Dispose(); // neighbours that shared nothing with this client
            }

            _incomingShareKeys.Clear();
            _u2 = _heldShares.Keys.Order(StringComparer.Ordinal).ToArray();
            RequireNeighbourhoodThreshold(_u2.Length, "U2 (shared keys)");
            var masked = consumeInput ? input.OwnArray : input.ToArray();
            var masks = new List<(SecretBytes Seed, bool Add)>(_u2.Length) { (_selfMaskSeed!, true) };
            try
            {
                foreach (var peer in _u2)
                {
                    if (peer != Id)
                    {
                        // + PRG(s_uv) towards peers that sort after u, - PRG(s_uv) towards those before.
                        var seed = SecAggCrypto.PairwiseSeed(_crypto, _parameters, _maskKeys!.PrivateKey, _u1![peer].MaskPublicKey, Id, peer);
                        masks.Add((seed, string.CompareOrdinal(peer, Id) > 0));
                    }
                }

                MaskExpansion.Apply(_parameters.MaskGenerator(_crypto), masked, masks, _parameters.RingBits);
            }
            finally
            {
                foreach (var (seed, _) in masks.Skip(1))
                {
                    seed.Dispose();
                }
            }

            // MaskExpansion leaves every element reduced mod 2^k (k is 32 or 64), so no pass of its own here.

            // The mask private key is needed no longer (the server reconstructs it from shares if we drop).
            _maskKeys!.Dispose();
            _cipherKeys!.Dispose();
            return new MaskedInputMessage(_parameters.RoundId, Id, masked);
        });
    }

    /// <summary>Stage 3: checks that U3 contains this client and has at least t members, and that its members in
    /// N[u] are a subset of U2 (as this client saw it) with at least t_N members; signs (context, U3).</summary>
    public ConsistencySignature SignConsistency(ConsistencyCheckRequest message) => Step(message, () =>
    {
        var u3 = SortedDistinct(message.Survivors, "U3");
        int neighbours = 0;
        foreach (var id in u3)
        {
            if (_parameters.IsParticipant(id) && !_parameters.InNeighbourhood(Id, id))
            {
                continue;
            }

            neighbours++;
            if (Array.BinarySearch(_u2!, id, StringComparer.Ordinal) < 0)
            {
                throw new ProtocolViolationException(
                    FaultKind.FailedPrecondition, $"U3 is not a subset of U2: {id} did not share keys with {Id}");
            }
        }

        if (Array.BinarySearch(u3, Id, StringComparer.Ordinal) < 0)
        {
            throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"U3 does not contain {Id}, whose masked input was sent");
        }

        RequireThreshold(u3.Length, "U3 (masked inputs)");
        RequireNeighbourhoodThreshold(neighbours, "U3 (masked inputs) within the neighbourhood");
        _u3 = u3;
        return new ConsistencySignature(_parameters.RoundId, Id, _signer.Sign(SecAggCrypto.ConsistencyPayload(_parameters, u3)));
    });

    /// <summary>Stage 4: checks U3 is the set signed, that at least t_N distinct members of U3 in N[u] (t of all
    /// U3 with the complete graph) signed that same U3, and that no peer is both dropped and a survivor; then reveals,
    /// for its neighbours, shares of s_sk for the dropped and shares of b for the survivors, never both for one peer.</summary>
    public UnmaskResponse Unmask(UnmaskRequest message) => Step(message, () =>
    {
        var u3 = SortedDistinct(message.Survivors, "U3");
        if (!u3.AsSpan().SequenceEqual(_u3!))
        {
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition, $"the unmask request names a U3 of {u3.Length} that differs from the U3 of {_u3!.Length} that {Id} signed");
        }

        byte[] payload = SecAggCrypto.ConsistencyPayload(_parameters, u3);
        var signers = new HashSet<string>(StringComparer.Ordinal);
        var outside = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signature in message.Signatures ?? throw Malformed("the signature list is missing"))
        {
            if (signature is null || signature.Sender is null || signature.Signature is null)
            {
                throw Malformed("a consistency signature entry is missing");
            }

            if (signature.RoundId != _parameters.RoundId)
            {
                throw new ProtocolViolationException(
                    FaultKind.FailedPrecondition, $"a consistency signature for round {signature.RoundId} in round {_parameters.RoundId}");
            }

            if (Array.BinarySearch(u3, signature.Sender, StringComparer.Ordinal) < 0)
            {
                throw Malformed($"a consistency signature from {signature.Sender}, who is not in U3");
            }

            // SecAgg+: only signatures from N[u] count towards t_N; the others are not verified (their own
            // neighbourhoods check them), so a client verifies O(k) signatures, not O(n).
            bool counts = _parameters.InNeighbourhood(Id, signature.Sender);
            if (!(counts ? signers : outside).Add(signature.Sender))
            {
                throw Malformed($"two consistency signatures from {signature.Sender}");
            }

            // Only t_N valid signatures are needed (Bonawitz et al.'s argument rests on t members having signed one
            // U3; honest members sign only one), and the server verified every one on receipt, so once t_N have
            // verified the rest are counted, not verified: at 100 silos that is 32 fewer verifications per silo.
            if (!counts || signers.Count > _parameters.NeighbourhoodThreshold)
            {
                continue;
            }

            if (!Verifier(signature.Sender).Verify(payload, signature.Signature))
            {
                throw new ProtocolViolationException(
                    FaultKind.PermissionDenied, $"the consistency signature of {signature.Sender} does not verify over the U3 {Id} signed (inconsistent survivor sets)");
            }
        }

        if (signers.Count < _parameters.NeighbourhoodThreshold)
        {
            throw new SecAggAbortedException(
                SecAggStage.Unmask, $"{signers.Count} valid consistency signatures, fewer than the threshold {_parameters.NeighbourhoodThreshold}");
        }

        var dropped = SortedDistinct(message.Dropped, "the dropped set");
        foreach (var id in dropped)
        {
            if (Array.BinarySearch(u3, id, StringComparer.Ordinal) >= 0)
            {
                throw new ProtocolViolationException(
                    FaultKind.FailedPrecondition,
                    $"refused: the server asks for both the mask-key share and the self-mask share of {id} (listed as dropped and as a survivor)");
            }

            if ((!_parameters.IsParticipant(id) || _parameters.InNeighbourhood(Id, id)) && !_heldShares.ContainsKey(id))
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"refused: {id} is not in U2 as seen by {Id}");
            }
        }

        var maskKeyShares = dropped.Where(id => _parameters.InNeighbourhood(Id, id))
            .Select(id => new RevealedShare(id, _heldShares[id].MaskKey.Reveal().ToArray())).ToArray();
        var selfMaskShares = u3.Where(id => _parameters.InNeighbourhood(Id, id))
            .Select(id => new RevealedShare(id, _heldShares[id].SelfMask.Reveal().ToArray())).ToArray();
        return new UnmaskResponse(_parameters.RoundId, Id, maskKeyShares, selfMaskShares);
    });

    /// <summary>Zeroes every secret; the client can no longer take part.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (Stage is not (SecAggStage.Completed or SecAggStage.Aborted))
            {
                Stage = SecAggStage.Aborted;
                AbortReason ??= "disposed";
            }

            DisposeSecrets();
        }
    }

    /// <summary>Whether any secret (key pair, self-mask seed, held share) is still live (tests only).</summary>
    internal bool HoldsLiveSecretsForTesting()
    {
        lock (_lock)
        {
            static bool Live(SecretBytes? secret)
            {
                try
                {
                    return secret is not null && secret.Length >= 0;
                }
                catch (ObjectDisposedException)
                {
                    return false;
                }
            }

            return Live(_cipherKeys?.PrivateKey) || Live(_maskKeys?.PrivateKey) || Live(_selfMaskSeed) || _heldShares.Count > 0 || _incomingShareKeys.Count > 0;
        }
    }

    private T Step<T>(SecAggServerMessage message, Func<T> body)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            var stage = Stage;
            if (stage is SecAggStage.Completed or SecAggStage.Aborted)
            {
                // Terminal: refuse without touching state.
                SecAggStageTransitions.RequireStage(stage, message.Stage);
            }

            try
            {
                SecAggStageTransitions.RequireStage(stage, message.Stage);
                if (message.RoundId != _parameters.RoundId)
                {
                    throw new ProtocolViolationException(
                        FaultKind.FailedPrecondition, $"a {message.Stage} message for round {message.RoundId} arrived in round {_parameters.RoundId} (replay?)");
                }

                T result = body();
                var next = stage == SecAggStage.Unmask ? SecAggStage.Completed : stage + 1;
                SecAggStageTransitions.Require(stage, next);
                Stage = next;
                if (next == SecAggStage.Completed)
                {
                    DisposeSecrets();
                }

                return result;
            }
            catch (Exception ex)
            {
                Stage = SecAggStage.Aborted;
                AbortReason = ex.Message;
                DisposeSecrets();
                if (ex is SecureFedException)
                {
                    throw;
                }

                throw new SecAggAbortedException(stage, $"{Id} failed: {ex.GetType().Name}", ex);
            }
        }
    }

    /// <summary>
    /// Opens a delivered share under this client's directional key for its sender. The sender's signature is checked
    /// only when the share does not open: a ciphertext that authenticates under a key only the sender and this client
    /// can derive (from cipher keys both signed at AdvertiseKeys) is the sender's own, so the signature adds nothing
    /// then. A share that fails must be signed before this client complains: a complaint reveals the directional key,
    /// and a server that could provoke complaints by altering shares would collect the shares they open.
    /// </summary>
    /// <exception cref="ProtocolViolationException">The share fails and does not carry its sender's valid signature:
    /// altered after its sender signed it.</exception>
    /// <exception cref="ShareComplaintException">The share fails although its sender signed it: the sender's fault.</exception>
    private (SecretBytes MaskKey, SecretBytes SelfMask) OpenOrComplain(EncryptedShare share, SecretBytes key)
    {
        string? failure = null;
        if (share.KeyCommitment is not null
            && CryptographicOperations.FixedTimeEquals(SecAggCrypto.ShareKeyCommitment(_parameters, share.Sender, Id, key.Reveal()), share.KeyCommitment))
        {
            try
            {
                return SecAggCrypto.OpenShare(_crypto, _parameters, key, share.Sender, Id, share.Ciphertext);
            }
            catch (ProtocolViolationException ex)
            {
                failure = ex.Message;
            }
        }

        if (!SecAggCrypto.VerifyShare(_parameters, Verifier(share.Sender), share))
        {
            throw new ProtocolViolationException(
                FaultKind.PermissionDenied, $"the share from {share.Sender} to {Id} does not carry {share.Sender}'s signature (altered in transit)");
        }

        throw new ShareComplaintException(share.Sender, key.Reveal(), failure ?? $"{share.Sender} committed to another key than the one it shares with {Id}");
    }

    private void VerifyAdvertisement([System.Diagnostics.CodeAnalysis.NotNull] KeyAdvertisement? ad)
    {
        if (ad is null || ad.Sender is null || ad.CipherPublicKey is null || ad.MaskPublicKey is null || ad.Signature is null)
        {
            throw Malformed("an advertisement entry is missing");
        }

        if (ad.RoundId != _parameters.RoundId)
        {
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition, $"the advertisement of {ad.Sender} is for round {ad.RoundId}, not {_parameters.RoundId} (replay?)");
        }

        if (!_parameters.IsParticipant(ad.Sender))
        {
            throw new ProtocolViolationException(FaultKind.PermissionDenied, $"an advertisement from {ad.Sender}, who is not a participant");
        }

        if (ad.CipherPublicKey.Length != SecAggCrypto.KeySize || ad.MaskPublicKey.Length != SecAggCrypto.KeySize)
        {
            throw Malformed($"the advertisement of {ad.Sender} has keys of {ad.CipherPublicKey.Length} and {ad.MaskPublicKey.Length} bytes, not {SecAggCrypto.KeySize}");
        }

        if (ad.CipherPublicKey.AsSpan().SequenceEqual(ad.MaskPublicKey))
        {
            throw Malformed($"the advertisement of {ad.Sender} uses one key for both purposes");
        }

        byte[] payload = SecAggCrypto.AdvertisementPayload(_parameters, ad.Sender, ad.CipherPublicKey, ad.MaskPublicKey);
        if (!Verifier(ad.Sender).Verify(payload, ad.Signature))
        {
            throw new ProtocolViolationException(
                FaultKind.PermissionDenied, $"the key advertisement of {ad.Sender} has an invalid signature (forged or altered)");
        }
    }

    private ISignatureVerifier Verifier(string id) =>
        _verifiers.TryGetValue(id, out var verifier) && verifier is not null
            ? verifier
            : throw new ProtocolViolationException(FaultKind.PermissionDenied, $"no verified certificate key for {id}");

    private void RequireThreshold(int count, string set)
    {
        if (count < _parameters.Threshold)
        {
            throw new SecAggAbortedException(Stage, $"{set} has {count} members, fewer than the threshold {_parameters.Threshold}");
        }
    }

    private void RequireNeighbourhoodThreshold(int count, string set)
    {
        if (count < _parameters.NeighbourhoodThreshold)
        {
            throw new SecAggAbortedException(Stage, $"{set} has {count} members, fewer than the threshold {_parameters.NeighbourhoodThreshold}");
        }
    }

    private static string[] SortedDistinct(IReadOnlyList<string>? ids, string name)
    {
        if (ids is null)
        {
            throw Malformed($"{name} is missing");
        }

        var sorted = ids.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; i++)
        {
            if (sorted[i] is null || (i > 0 && string.Equals(sorted[i - 1], sorted[i], StringComparison.Ordinal)))
            {
                throw Malformed($"{name} has a missing or repeated id");
            }
        }

        return sorted;
    }

    private static ProtocolViolationException Malformed(string message) => new(FaultKind.InvalidArgument, message);

    private static void DisposeAll(IReadOnlyList<SecretShare> shares)
    {
        foreach (var share in shares)
        {
            share.Dispose();
        }
    }

    private void DisposeSecrets()
    {
        _cipherKeys?.Dispose();
        _maskKeys?.Dispose();
        _selfMaskSeed?.Dispose();
        foreach (var (maskKey, selfMask) in _heldShares.Values)
        {
            maskKey.Dispose();
            selfMask.Dispose();
        }

        _heldShares.Clear();
        foreach (var key in _incomingShareKeys.Values)
        {
            key.Dispose();
        }

        _incomingShareKeys.Clear();
    }
}
