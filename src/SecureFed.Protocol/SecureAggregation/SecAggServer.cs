using System.Security.Cryptography;
using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>How many parties survived each stage of a round: |U1| .. |U5|.</summary>
/// <param name="AdvertiseKeys">|U1|: clients whose keys were advertised.</param>
/// <param name="ShareKeys">|U2|: clients that sent encrypted shares.</param>
/// <param name="MaskedInput">|U3|: clients whose masked input is in the sum.</param>
/// <param name="ConsistencyCheck">|U4|: clients that signed U3.</param>
/// <param name="Unmask">|U5|: clients that revealed shares.</param>
public sealed record SecAggSurvivorCounts(int AdvertiseKeys, int ShareKeys, int MaskedInput, int ConsistencyCheck, int Unmask);

/// <summary>
/// The server of a secure aggregation round (Bonawitz et al., CCS 2017, figure 4): routes ciphertexts it cannot
/// read, collects masked inputs, and from t or more revealed shares removes the masks to obtain exactly
/// z = Σ_{u in U3} x_u mod 2^k and nothing else about an individual input.
/// </summary>
/// <remarks>
/// <para>For each stage the server accepts client messages (<c>Receive…</c>) and then makes the drop decision
/// (<c>Close…</c>), which fixes the survivor set and returns the next server message(s). A received message is
/// checked before anything else: "expected stage X, received Y", round id, sender in the previous survivor set,
/// no duplicate, well-formed. A refused message throws <see cref="ProtocolViolationException"/> and leaves the
/// server unchanged (the round goes on without it), so a late masked input after the drop decision is
/// discarded without harm. A <c>Close…</c> with fewer than t survivors aborts the round: every masked input
/// and share is dropped, nothing is released, and it throws <see cref="SecAggAbortedException"/>.</para>
/// <para>The server keeps no individual masked input: each is added into a running sum on arrival (the sum over
/// U3 is all it needs), and that running sum is zeroed when the result is released or the round aborts. Revealed
/// shares are zeroed after reconstruction. Thread-safe: every method runs under one lock.</para>
/// </remarks>
public sealed class SecAggServer
{
    private readonly Lock _lock = new();
    private readonly SecAggParameters _parameters;
    private readonly IReadOnlyDictionary<string, ISignatureVerifier>? _verifiers;
    private readonly CryptoProvider _crypto;
    private readonly Dictionary<string, KeyAdvertisement> _advertisements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ShareKeysMessage> _shareKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _selfMaskCommitments = new(StringComparer.Ordinal);
    private readonly HashSet<string> _maskedInputSenders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConsistencySignature> _signatures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnmaskResponse> _responses = new(StringComparer.Ordinal);

    // By responder, the shares it revealed by owner (the values are the ones in _responses, zeroed with them).
    private readonly Dictionary<string, Dictionary<string, byte[]>> _revealedMaskKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, byte[]>> _revealedSelfMasks = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Sender, string Recipient), EncryptedShare> _delivered = [];
    private string[] _u1 = [];
    private string[] _u2 = [];
    private string[] _u3 = [];
    private string[] _u4 = [];
    private string[] _dropped = [];
    private int _u5;
    private SecAggStage _stage = SecAggStage.AdvertiseKeys;

    // Σ y_u mod 2^64 over the masked inputs accepted so far: the server never holds an individual masked input
    // beyond the call that delivers it. Zeroed when the sum is released or the round aborts.
    private ulong[]? _maskedSum;

    /// <summary>Creates the server for one round.</summary>
    /// <param name="parameters">The round parameters.</param>
    /// <param name="verifiers">Optional certificate-key verifiers by participant id: when given, the server refuses
    /// advertisements and consistency signatures that do not verify, so one impostor cannot make the honest
    /// clients abort. Clients verify regardless.</param>
    /// <param name="crypto">The primitives; null means <see cref="CryptoProvider.Default"/>.</param>
    public SecAggServer(SecAggParameters parameters, IReadOnlyDictionary<string, ISignatureVerifier>? verifiers = null, CryptoProvider? crypto = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters;
        _verifiers = verifiers;
        _crypto = crypto ?? CryptoProvider.Default;
    }

    /// <summary>The current stage.</summary>
    public SecAggStage Stage
    {
        get
        {
            lock (_lock)
            {
                return _stage;
            }
        }
    }

    /// <summary>Why the round aborted (names counts and ids only), or null.</summary>
    public string? AbortReason { get; private set; }

    /// <summary>The survivor counts so far (0 for stages not yet closed).</summary>
    public SecAggSurvivorCounts Survivors
    {
        get
        {
            lock (_lock)
            {
                return new SecAggSurvivorCounts(_u1.Length, _u2.Length, _u3.Length, _u4.Length, _u5);
            }
        }
    }

    /// <summary>
    /// Unmask responses received so far. Once any has arrived the server may be able, with colluding clients, to learn
    /// the sum over <see cref="IncludedClients"/>, so a caller that charges releases counts the sum as released.
    /// </summary>
    public int UnmaskResponsesReceived
    {
        get
        {
            lock (_lock)
            {
                return _responses.Count;
            }
        }
    }

    /// <summary>U3 once the masked-input stage closed: the clients whose inputs the sum covers.</summary>
    public IReadOnlyList<string> IncludedClients
    {
        get
        {
            lock (_lock)
            {
                return _u3.ToArray();
            }
        }
    }

    /// <summary>The stage-0 message that starts the round.</summary>
    public AdvertiseKeysRequest Start()
    {
        lock (_lock)
        {
            SecAggStageTransitions.RequireStage(_stage, SecAggStage.AdvertiseKeys);
            return new AdvertiseKeysRequest(_parameters.RoundId);
        }
    }

    /// <summary>Dispatches any client message to the <c>Receive…</c> method of its type (for a transport that
    /// carries all stages on one stream).</summary>
    /// <exception cref="ProtocolViolationException">As the specific method; an unknown message type is
    /// InvalidArgument.</exception>
    public void Receive(SecAggClientMessage message)
    {
        switch (message)
        {
            case KeyAdvertisement m:
                ReceiveAdvertisement(m);
                break;
            case ShareKeysMessage m:
                ReceiveShareKeys(m);
                break;
            case MaskedInputMessage m:
                ReceiveMaskedInput(m);
                break;
            case MaskedInputWordsMessage m:
                ReceiveMaskedInput(m);
                break;
            case ConsistencySignature m:
                ReceiveConsistencySignature(m);
                break;
            case UnmaskResponse m:
                ReceiveUnmaskResponse(m);
                break;
            case null:
                throw new ArgumentNullException(nameof(message));
            default:
                throw Malformed($"unknown secure aggregation message type {message.GetType().Name}");
        }
    }

    /// <summary>Accepts one client's key advertisement.</summary>
    public void ReceiveAdvertisement(KeyAdvertisement message) => Receive(message, _advertisements.ContainsKey, null, () =>
    {
        if (message.CipherPublicKey is null || message.MaskPublicKey is null || message.Signature is null
            || message.CipherPublicKey.Length != SecAggCrypto.KeySize || message.MaskPublicKey.Length != SecAggCrypto.KeySize)
        {
            throw Malformed($"the advertisement of {message.Sender} is missing a field or has keys that are not {SecAggCrypto.KeySize} bytes");
        }

        if (_verifiers is not null)
        {
            var payload = SecAggCrypto.AdvertisementPayload(_parameters, message.Sender, message.CipherPublicKey, message.MaskPublicKey);
            if (!_verifiers.TryGetValue(message.Sender, out var verifier) || !verifier.Verify(payload, message.Signature))
            {
                throw new ProtocolViolationException(FaultKind.PermissionDenied, $"the key advertisement of {message.Sender} has an invalid signature");
            }
        }

        // Signed by its sender, so the sender's own doing: every peer would refuse the agreement and leave the round,
        // which aborts, round after round, with no one to blame unless the coordinator refuses the key here.
        if (SecAggCrypto.IsLowOrder(_crypto, message.CipherPublicKey) || SecAggCrypto.IsLowOrder(_crypto, message.MaskPublicKey))
        {
            throw Malformed($"the advertisement of {message.Sender} has a low-order X25519 public key (RFC 7748 section 6.1), which every peer refuses and no honest silo generates");
        }

        _advertisements.Add(message.Sender, message with { CipherPublicKey = message.CipherPublicKey.ToArray(), MaskPublicKey = message.MaskPublicKey.ToArray() });
    });

    /// <summary>Drop decision for stage 0: U1 = advertisers; aborts below t; returns the key set to broadcast.</summary>
    public AdvertisedKeys CloseAdvertiseKeys() => Close(SecAggStage.AdvertiseKeys, () =>
    {
        _u1 = SortedKeys(_advertisements);
        RequireThreshold(_u1.Length, "U1 (advertised keys)");
        return new AdvertisedKeys(_parameters.RoundId, _u1.Select(id => _advertisements[id]).ToArray());
    });

    /// <summary>Accepts one client's encrypted shares: exactly one ciphertext for every other member of U1 in its
    /// neighbourhood (all of U1 with the complete graph).</summary>
    public void ReceiveShareKeys(ShareKeysMessage message) => Receive(message, _shareKeys.ContainsKey, _u1, () =>
    {
        var recipients = new HashSet<string>(StringComparer.Ordinal);
        foreach (var share in message.Shares ?? throw Malformed("the share list is missing"))
        {
            if (share is null || share.Ciphertext is null || share.Ciphertext.Length == 0
                || !string.Equals(share.Sender, message.Sender, StringComparison.Ordinal))
            {
                throw Malformed($"a share entry of {message.Sender} is missing, empty or names another sender");
            }

            if (share.Recipient == message.Sender || Array.BinarySearch(_u1, share.Recipient, StringComparer.Ordinal) < 0
                || !_parameters.InNeighbourhood(message.Sender, share.Recipient) || !recipients.Add(share.Recipient))
            {
                throw Malformed($"a share of {message.Sender} is addressed to {share.Recipient}, not to a distinct other member of U1 in its neighbourhood");
            }

            if (share.KeyCommitment is not { Length: 32 } || share.Signature is not { Length: > 0 })
            {
                throw Malformed($"a share of {message.Sender} to {share.Recipient} has no key commitment or no signature");
            }
        }

        // Checked here, once for all the sender's shares, so a share the recipient later finds unsigned was altered
        // after this server (and one the recipient cannot open is the sender's own doing, which a complaint then proves).
        ISignatureVerifier? verifier = null;
        if (_verifiers is not null && !_verifiers.TryGetValue(message.Sender, out verifier))
        {
            throw new ProtocolViolationException(FaultKind.PermissionDenied, $"the shares of {message.Sender} have no signer this server knows");
        }

        if (message.Shares.Count > 0 && message.Shares.All(s => s.LeafCount == 0))
        {
            throw Malformed($"{message.Sender} signed its shares one by one, as agents before share trees did; it needs this coordinator's agent version");
        }

        var routed = SecAggCrypto.WithPaths(_parameters, verifier, message.Sender, message.Shares)
            ?? throw new ProtocolViolationException(
                FaultKind.PermissionDenied, $"the shares of {message.Sender} do not carry its valid signature over all of them, each at its position");

        int due = _parameters.Graph.Kind == SecAggGraphKind.Complete
            ? _u1.Length - 1
            : _parameters.NeighbourhoodOf(message.Sender).Count(id => id != message.Sender && Array.BinarySearch(_u1, id, StringComparer.Ordinal) >= 0);
        if (recipients.Count != due)
        {
            throw Malformed($"{message.Sender} sent {recipients.Count} shares; U1 needs {due}");
        }

        if (message.SelfMaskCommitment is null || message.SelfMaskCommitment.Length != SecAggCrypto.KeySize)
        {
            throw Malformed($"the self-mask commitment of {message.Sender} is not {SecAggCrypto.KeySize} bytes");
        }

        _selfMaskCommitments.Add(message.Sender, message.SelfMaskCommitment.ToArray());

        _shareKeys.Add(message.Sender, message with { Shares = routed });
    });

    /// <summary>Drop decision for stage 1: U2 = senders; aborts below t; returns, for each member of U2, the
    /// ciphertexts addressed to it from the other members of U2.</summary>
    public IReadOnlyDictionary<string, ShareKeysDelivery> CloseShareKeys() => Close(SecAggStage.ShareKeys, () =>
    {
        _u2 = SortedKeys(_shareKeys);
        RequireThreshold(_u2.Length, "U2 (shared keys)");
        var inbox = _u2.ToDictionary(id => id, _ => new List<EncryptedShare>(), StringComparer.Ordinal);
        foreach (var sender in _u2)
        {
            foreach (var share in _shareKeys[sender].Shares)
            {
                if (inbox.TryGetValue(share.Recipient, out var list))
                {
                    list.Add(share);
                }
            }
        }

        // The server only routes; it keeps the delivered ciphertexts (useless to it without the keys) only to judge a
        // recipient's complaint (JudgeComplaint) until the round ends.
        foreach (var list in inbox.Values)
        {
            foreach (var share in list)
            {
                _delivered[(share.Sender, share.Recipient)] = share;
            }
        }

        _shareKeys.Clear();
        return inbox.ToDictionary(
            kv => kv.Key, kv => new ShareKeysDelivery(_parameters.RoundId, kv.Key, kv.Value.ToArray()), StringComparer.Ordinal);
    });

    /// <summary>
    /// Judges <paramref name="complainer"/>'s complaint that it cannot open the share <paramref name="accused"/> sent it,
    /// from the directional key it reveals: a key that is not the accused's signed commitment leaves it unresolved; under
    /// the committed key, a signed ciphertext that does not open convicts the accused, one that opens (or a share never
    /// delivered) convicts the complainer. Reveals nothing but the accused's share to the complainer.
    /// </summary>
    public ComplaintVerdict JudgeComplaint(string complainer, string accused, ReadOnlySpan<byte> shareKey)
    {
        ArgumentNullException.ThrowIfNull(complainer);
        ArgumentNullException.ThrowIfNull(accused);
        EncryptedShare? share;
        lock (_lock)
        {
            _delivered.TryGetValue((accused, complainer), out share);
        }

        if (share is null)
        {
            return ComplaintVerdict.ComplainerAtFault;
        }

        if (!CryptographicOperations.FixedTimeEquals(SecAggCrypto.ShareKeyCommitment(_parameters, accused, complainer, shareKey), share.KeyCommitment))
        {
            return ComplaintVerdict.Unresolved;
        }

        using var key = new SecretBytes(shareKey);
        try
        {
            var (maskKeyShare, selfMaskShare) = SecAggCrypto.OpenShare(_crypto, _parameters, key, accused, complainer, share.Ciphertext);
            maskKeyShare.Dispose();
            selfMaskShare.Dispose();
            return ComplaintVerdict.ComplainerAtFault;
        }
        catch (ProtocolViolationException)
        {
            return ComplaintVerdict.AccusedAtFault;
        }
    }

    /// <summary>Accepts one client's masked input (copied): length must be the round's and every element below 2^k.</summary>
    public void ReceiveMaskedInput(MaskedInputMessage message) => Receive(message, _maskedInputSenders.Contains, _u2, () =>
    {
        if (message.MaskedValues is null || message.MaskedValues.Length != _parameters.VectorLength)
        {
            throw Malformed($"the masked input of {message.Sender} has {message.MaskedValues?.Length ?? 0} elements; the round needs {_parameters.VectorLength}");
        }

        if (!ModularArithmetic.AllInRing(message.MaskedValues, _parameters.RingBits))
        {
            throw Malformed($"the masked input of {message.Sender} has an element not below 2^{_parameters.RingBits}");
        }

        _maskedSum ??= new ulong[_parameters.VectorLength];
        ModularArithmetic.AddInPlace(_maskedSum, message.MaskedValues, 64);
        _maskedInputSenders.Add(message.Sender);
    });

    /// <summary>Accepts one client's masked input as wire words: the chunks must be whole words and add up to the round's
    /// length. They are added into the running sum straight from the bytes (no decoded copy); a malformed input is
    /// refused before any of it is added.</summary>
    public void ReceiveMaskedInput(MaskedInputWordsMessage message) => Receive(message, _maskedInputSenders.Contains, _u2, () =>
    {
        int width = RingWords.WordBytes(_parameters.RingBits);
        long bytes = 0;
        foreach (var chunk in message.Chunks ?? [])
        {
            if (chunk.Length % width != 0)
            {
                throw Malformed($"the masked input of {message.Sender} has a chunk of {chunk.Length} bytes, not a whole number of {width}-byte words of Z/2^{_parameters.RingBits}");
            }

            bytes += chunk.Length;
        }

        if (bytes != (long)_parameters.VectorLength * width)
        {
            throw Malformed($"the masked input of {message.Sender} has {bytes / width} elements; the round needs {_parameters.VectorLength}");
        }

        _maskedSum ??= new ulong[_parameters.VectorLength];
        int offset = 0;
        foreach (var chunk in message.Chunks!)
        {
            int count = chunk.Length / width;
            ModularArithmetic.AddWordsInPlace(_maskedSum.AsSpan(offset, count), chunk.Span, _parameters.RingBits);
            offset += count;
        }

        _maskedInputSenders.Add(message.Sender);
    });

    /// <summary>Drop decision for stage 2: U3 = senders; aborts below t; later masked inputs are refused.</summary>
    public ConsistencyCheckRequest CloseMaskedInput() => Close(SecAggStage.MaskedInput, () =>
    {
        _u3 = _maskedInputSenders.Order(StringComparer.Ordinal).ToArray();
        RequireThreshold(_u3.Length, "U3 (masked inputs)");
        return new ConsistencyCheckRequest(_parameters.RoundId, _u3.ToArray());
    });

    /// <summary>Accepts one client's signature over U3.</summary>
    public void ReceiveConsistencySignature(ConsistencySignature message) => Receive(message, _signatures.ContainsKey, _u3, () =>
    {
        if (message.Signature is null)
        {
            throw Malformed($"the consistency signature of {message.Sender} is missing");
        }

        if (_verifiers is not null
            && (!_verifiers.TryGetValue(message.Sender, out var verifier)
                || !verifier.Verify(SecAggCrypto.ConsistencyPayload(_parameters, _u3), message.Signature)))
        {
            throw new ProtocolViolationException(FaultKind.PermissionDenied, $"the consistency signature of {message.Sender} does not verify over U3");
        }

        _signatures.Add(message.Sender, message);
    });

    /// <summary>Drop decision for stage 3: U4 = signers; aborts below t; returns U3, U2\U3 and the signatures.</summary>
    public UnmaskRequest CloseConsistencyCheck() => Close(SecAggStage.ConsistencyCheck, () =>
    {
        _u4 = SortedKeys(_signatures);
        RequireThreshold(_u4.Length, "U4 (consistency signatures)");
        _dropped = _u2.Where(id => Array.BinarySearch(_u3, id, StringComparer.Ordinal) < 0).ToArray();
        return new UnmaskRequest(_parameters.RoundId, _u3.ToArray(), _dropped.ToArray(), _u4.Select(id => _signatures[id]).ToArray());
    });

    /// <summary>Accepts one client's revealed shares: s_sk shares for exactly U2\U3 and b shares for exactly U3, each
    /// within the sender's neighbourhood (all of them with the complete graph).</summary>
    public void ReceiveUnmaskResponse(UnmaskResponse message) => Receive(message, _responses.ContainsKey, _u4, () =>
    {
        var maskKeys = RequireExactOwners(message.Sender, message.MaskKeyShares, Near(message.Sender, _dropped), "mask-key");
        var selfMasks = RequireExactOwners(message.Sender, message.SelfMaskShares, Near(message.Sender, _u3), "self-mask");
        _responses.Add(message.Sender, message);
        _revealedMaskKeys.Add(message.Sender, maskKeys);
        _revealedSelfMasks.Add(message.Sender, selfMasks);
    });

    /// <summary>
    /// Drop decision for stage 4: with at least t responders, reconstructs s_sk of each dropped client (checked
    /// against its advertised s_pk) and b of each survivor, removes every mask and returns
    /// Σ_{u in U3} x_u mod 2^k. Masked inputs and shares are zeroed whether this succeeds or aborts.
    /// </summary>
    /// <exception cref="SecAggAbortedException">Fewer than t responders, or the shares are inconsistent.</exception>
    public RingVector CloseUnmask() => Close(SecAggStage.Unmask, () =>
    {
        _u5 = _responses.Count;
        RequireThreshold(_u5, "U5 (unmask responses)");
        var sum = _maskedSum!;
        _maskedSum = null;
        var masks = new List<(SecretBytes Seed, bool Add)>();
        var maskKeys = new List<SecretBytes>();
        try
        {
            foreach (var id in _u3)
            {
                var owner = id;
                bool Committed(SecretBytes seed) => CryptographicOperations.FixedTimeEquals(SecAggCrypto.SelfMaskCommitment(_parameters, owner, seed), _selfMaskCommitments[owner]);
                var selfMask = Reconstruct(id, _revealedSelfMasks, Committed);
                masks.Add((selfMask, false));
                if (!Committed(selfMask))
                {
                    throw new SecAggAbortedException(
                        SecAggStage.Unmask, $"the reconstructed self-mask seed of {id} does not match its commitment (corrupt shares)")
                    {
                        Suspect = Suspect(owner, _revealedSelfMasks, Committed),
                    };
                }
            }

            var pairs = new List<(SecretBytes MaskKey, string Dropped, string Survivor)>();
            foreach (var dropped in _dropped)
            {
                var owner = dropped;
                bool Advertised(SecretBytes key) => CryptographicOperations.FixedTimeEquals(_crypto.KeyAgreement.DerivePublicKey(key), _advertisements[owner].MaskPublicKey);
                var maskKey = Reconstruct(dropped, _revealedMaskKeys, Advertised);
                maskKeys.Add(maskKey);
                if (!Advertised(maskKey))
                {
                    throw new SecAggAbortedException(
                        SecAggStage.Unmask, $"the reconstructed mask key of {dropped} does not match its advertised public key (corrupt shares)")
                    {
                        Suspect = Suspect(owner, _revealedMaskKeys, Advertised),
                    };
                }

                // Only neighbours masked with the dropped client (all survivors with the complete graph).
                foreach (var survivor in Near(dropped, _u3))
                {
                    pairs.Add((maskKey, dropped, survivor));
                }
            }

            // One agreement per (dropped, survivor) pair, 11 500 at 1000 silos and 10% dropout: spread over the cores
            // like the expansion that follows.
            var seeds = new SecretBytes?[pairs.Count];
            try
            {
                Parallel.For(0, pairs.Count, i =>
                {
                    var (maskKey, dropped, survivor) = pairs[i];
                    seeds[i] = SecAggCrypto.PairwiseSeed(_crypto, _parameters, maskKey, _advertisements[survivor].MaskPublicKey, dropped, survivor);
                });
            }
            catch (AggregateException ex)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
            }
            finally
            {
                for (int i = 0; i < seeds.Length; i++)
                {
                    // The survivor added PRG(s_uv) when the dropped id sorts after it and subtracted it otherwise; undo exactly that.
                    if (seeds[i] is { } seed)
                    {
                        masks.Add((seed, string.CompareOrdinal(pairs[i].Dropped, pairs[i].Survivor) < 0));
                    }
                }
            }

            MaskExpansion.Apply(_parameters.MaskGenerator(_crypto), sum, masks, _parameters.RingBits);
        }
        catch
        {
            Array.Clear(sum);
            throw;
        }
        finally
        {
            foreach (var (seed, _) in masks)
            {
                seed.Dispose();
            }

            foreach (var key in maskKeys)
            {
                key.Dispose();
            }
        }

        // MaskExpansion leaves every element reduced mod 2^k, as the client's MaskInput relies on too.
        ForgetInputs();
        return RingVector.Adopt(_parameters.RingBits, sum);
    });

    /// <summary>Reconstructs <paramref name="owner"/>'s secret from the shares its neighbourhood revealed; fewer than
    /// t_N responders there, or inconsistent shares, abort (naming the likeliest culprit, checked with <paramref name="valid"/>).</summary>
    private SecretBytes Reconstruct(string owner, Dictionary<string, Dictionary<string, byte[]>> revealed, Func<SecretBytes, bool> valid)
    {
        int holders = Holders(owner, revealed, null).Count;
        if (holders < _parameters.NeighbourhoodThreshold)
        {
            throw new SecAggAbortedException(
                SecAggStage.Unmask, $"{holders} members of {owner}'s neighbourhood revealed shares, fewer than the threshold {_parameters.NeighbourhoodThreshold}");
        }

        return TryReconstruct(owner, revealed, null) ?? throw new SecAggAbortedException(
            SecAggStage.Unmask, $"the shares of {owner}'s secret are inconsistent (a responder sent a corrupt share)") { Suspect = Suspect(owner, revealed, valid) };
    }

    /// <summary>The responders (except <paramref name="without"/>) that revealed a share of <paramref name="owner"/>'s secret, in ordinal order.</summary>
    private List<string> Holders(string owner, Dictionary<string, Dictionary<string, byte[]>> revealed, string? without)
    {
        var holders = new List<string>();
        foreach (var holder in _parameters.NeighbourhoodOf(owner))
        {
            if (holder != without && revealed.TryGetValue(holder, out var shares) && shares.ContainsKey(owner))
            {
                holders.Add(holder);
            }
        }

        return holders;
    }

    /// <summary>
    /// Reconstructs <paramref name="owner"/>'s secret from the responses of its neighbourhood (leaving out
    /// <paramref name="without"/>), or null when the shares are inconsistent or too few.
    /// </summary>
    private SecretBytes? TryReconstruct(string owner, Dictionary<string, Dictionary<string, byte[]>> revealed, string? without)
    {
        var holders = Holders(owner, revealed, without);
        if (holders.Count < _parameters.NeighbourhoodThreshold)
        {
            return null;
        }

        var shares = new List<SecretShare>(holders.Count);
        try
        {
            foreach (var holder in holders)
            {
                shares.Add(new SecretShare(_parameters.ShareIndexOf(holder), revealed[holder][owner]));
            }

            return _parameters.SecretSharing(_crypto).Combine(shares, _parameters.NeighbourhoodThreshold);
        }
        catch (CryptographicException)
        {
            return null;
        }
        finally
        {
            foreach (var share in shares)
            {
                share.Dispose();
            }
        }
    }

    /// <summary>
    /// Who most likely broke the reconstruction of <paramref name="owner"/>'s secret: the one responder without whose
    /// share it checks out (<paramref name="valid"/>), when there is a share to spare; else the
    /// owner itself, which dealt the shares and the commitment. A guess, not a proof: with several liars it can be wrong.
    /// </summary>
    private string Suspect(string owner, Dictionary<string, Dictionary<string, byte[]>> revealed, Func<SecretBytes, bool> valid)
    {
        var holders = Holders(owner, revealed, null);
        if (holders.Count > _parameters.NeighbourhoodThreshold)
        {
            foreach (var holder in holders)
            {
                using var secret = TryReconstruct(owner, revealed, holder);
                if (secret is not null && valid(secret))
                {
                    return holder;
                }
            }
        }

        return owner;
    }

    /// <summary>The members of <paramref name="sorted"/> in N[<paramref name="owner"/>] (all of them with the complete graph).</summary>
    private string[] Near(string owner, string[] sorted) =>
        _parameters.Graph.Kind == SecAggGraphKind.Complete
            ? sorted
            : _parameters.NeighbourhoodOf(owner).Where(id => Array.BinarySearch(sorted, id, StringComparer.Ordinal) >= 0).ToArray();

    private void Receive(SecAggClientMessage message, Func<string, bool> alreadyReceived, string[]? previousSurvivors, Action accept)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            SecAggStageTransitions.RequireStage(_stage, message.Stage);
            if (message.RoundId != _parameters.RoundId)
            {
                throw new ProtocolViolationException(
                    FaultKind.FailedPrecondition, $"a {message.Stage} message for round {message.RoundId} arrived in round {_parameters.RoundId} (replay?)");
            }

            if (message.Sender is null || !_parameters.IsParticipant(message.Sender))
            {
                throw new ProtocolViolationException(FaultKind.PermissionDenied, $"{message.Sender} is not a participant of round {_parameters.RoundId}");
            }

            if (previousSurvivors is not null && Array.BinarySearch(previousSurvivors, message.Sender, StringComparer.Ordinal) < 0)
            {
                throw new ProtocolViolationException(
                    FaultKind.FailedPrecondition, $"{message.Sender} was dropped before {message.Stage} and may not rejoin");
            }

            if (alreadyReceived(message.Sender))
            {
                throw Malformed($"duplicate {message.Stage} submission from {message.Sender}; the first one stands");
            }

            accept();
        }
    }

    private T Close<T>(SecAggStage stage, Func<T> body)
    {
        lock (_lock)
        {
            SecAggStageTransitions.RequireStage(_stage, stage);
            try
            {
                T result = body();
                var next = stage == SecAggStage.Unmask ? SecAggStage.Completed : stage + 1;
                SecAggStageTransitions.Require(stage, next);
                _stage = next;
                return result;
            }
            catch (Exception ex)
            {
                _stage = SecAggStage.Aborted;
                AbortReason = ex.Message;
                ForgetInputs();
                if (ex is SecAggAbortedException)
                {
                    throw;
                }

                throw new SecAggAbortedException(stage, $"the server failed: {ex.GetType().Name}", ex);
            }
        }
    }

    private void RequireThreshold(int count, string set)
    {
        if (count < _parameters.Threshold)
        {
            throw new SecAggAbortedException(_stage, $"{set} has {count} members, fewer than the threshold {_parameters.Threshold}");
        }
    }

    private static Dictionary<string, byte[]> RequireExactOwners(string sender, IReadOnlyList<RevealedShare>? shares, string[] expected, string kind)
    {
        if (shares is null || shares.Count != expected.Length)
        {
            throw Malformed($"{sender} revealed {shares?.Count ?? 0} {kind} shares; {expected.Length} are due");
        }

        var byOwner = new Dictionary<string, byte[]>(shares.Count, StringComparer.Ordinal);
        foreach (var share in shares)
        {
            if (share?.Owner is null || share.Value is null || share.Value.Length != SecAggCrypto.KeySize
                || Array.BinarySearch(expected, share.Owner, StringComparer.Ordinal) < 0 || !byOwner.TryAdd(share.Owner, share.Value))
            {
                throw Malformed($"{sender} revealed a {kind} share that is malformed, repeated or for a client not due one");
            }
        }

        return byOwner;
    }

    private void ForgetInputs()
    {
        if (_maskedSum is not null)
        {
            Array.Clear(_maskedSum);
            _maskedSum = null;
        }

        foreach (var response in _responses.Values)
        {
            foreach (var share in response.MaskKeyShares.Concat(response.SelfMaskShares))
            {
                CryptographicOperations.ZeroMemory(share.Value);
            }
        }

        _responses.Clear();
        _revealedMaskKeys.Clear();
        _revealedSelfMasks.Clear();
        _shareKeys.Clear();
        _delivered.Clear();
        _selfMaskCommitments.Clear();
    }

    private static string[] SortedKeys<T>(Dictionary<string, T> received) => received.Keys.Order(StringComparer.Ordinal).ToArray();

    private static ProtocolViolationException Malformed(string message) => new(FaultKind.InvalidArgument, message);
}
