using System.Security.Cryptography;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// The fixed parameters of one secure aggregation round: participants U (sorted by ordinal id), threshold t,
/// ring Z/2^k, fixed-point scale 2^f, vector length, and the federation and round ids that separate this round's
/// keys, signatures and ciphertexts from every other round's (<see cref="Context"/>).
/// </summary>
/// <remarks>
/// <para>Threshold rule: t must be more than half of |U| (2t &gt; |U|, so two disjoint groups cannot both
/// unmask) and at most |U|. The default is floor(2|U|/3) + 1, the bound of Bonawitz et al.'s active-adversary
/// analysis (CCS 2017, section 6.3), which tolerates a malicious server colluding with fewer than |U|/3
/// clients. Participant i (0-based in sorted order) holds share index i + 1; Shamir is over GF(2^8) up to 255
/// participants (as before, so those plans give the same shares) and over GF(2^16) beyond, up to 65535.</para>
/// <para>Graph (<see cref="Graph"/>): with the complete graph (the default) every secret is shared t-of-|U| among
/// all. With SecAgg+'s Harary graph each client's secrets are shared t_N-of-(k+1) within its closed neighbourhood
/// N[u], it masks only with its neighbours, and every "at least t_N" check is made per neighbourhood, while t stays
/// the fewest survivors a round releases with (the global checks, and the privacy calibration).</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed class SecAggParameters
{
    /// <summary>The largest number of participants (the Shamir share indices 1..65535 of GF(2^16)).</summary>
    public const int MaxParticipants = 65535;

    private readonly string[] _participants;
    private readonly Dictionary<string, int> _indexById;
    private readonly byte[] _context;

    // Harary only: for participant i (0-based), the sorted 0-based indices of N[i] (itself and its k neighbours).
    private readonly int[][]? _neighbourhoods;

    private SecAggParameters(
        string federationId, long roundId, string[] participants, int threshold, int ringBits, int scaleBits, int vectorLength, SecAggGraph graph, string maskPrg)
    {
        Graph = graph;
        MaskPrg = maskPrg;
        FederationId = federationId;
        RoundId = roundId;
        _participants = participants;
        Threshold = threshold;
        RingBits = ringBits;
        ScaleBits = scaleBits;
        VectorLength = vectorLength;
        _indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < participants.Length; i++)
        {
            _indexById.Add(participants[i], i + 1);
        }

        var fields = new List<ReadOnlyMemory<byte>>
        {
            SignedPayload.Utf8("securefed/v1/secagg/context"),
            SignedPayload.Utf8(federationId),
            SignedPayload.UInt64(unchecked((ulong)roundId)),
            SignedPayload.UInt64((ulong)threshold),
            SignedPayload.UInt64((ulong)ringBits),
            SignedPayload.UInt64((ulong)scaleBits),
            SignedPayload.UInt64((ulong)vectorLength),
        };
        foreach (var p in participants)
        {
            fields.Add(SignedPayload.Utf8(p));
        }

        // Only SecAgg+ rounds bind a graph, so complete-graph contexts are exactly what they were.
        if (graph.Kind == SecAggGraphKind.Harary)
        {
            fields.Add(SignedPayload.Utf8("graph/harary"));
            fields.Add(SignedPayload.UInt64((ulong)graph.Degree));
            fields.Add(SignedPayload.UInt64((ulong)graph.NeighbourhoodThreshold));
            fields.Add(graph.Seed.ToArray());
            _neighbourhoods = Internal.HararyGraph.Neighbourhoods(participants, graph.Degree, graph.Seed);
        }

        // Only a PRG other than the original AES-256-CTR is bound, for the same reason: parties that expand masks
        // differently then fail at the first signature instead of producing a wrong sum.
        if (maskPrg != MaskPrgs.Aes256Ctr)
        {
            fields.Add(SignedPayload.Utf8("prg/" + maskPrg));
        }

        _context = SHA256.HashData(SignedPayload.Encode(fields.ToArray()));
    }

    /// <summary>The federation id.</summary>
    public string FederationId { get; }

    /// <summary>The round id; every message carries it and every signature, key and ciphertext binds it.</summary>
    public long RoundId { get; }

    /// <summary>U: participant ids in ordinal order.</summary>
    public IReadOnlyList<string> Participants => _participants;

    /// <summary>t: the minimum number of survivors at every stage.</summary>
    public int Threshold { get; }

    /// <summary>k: the ring is Z/2^k (32 or 64).</summary>
    public int RingBits { get; }

    /// <summary>f: the fixed-point scale is 2^f.</summary>
    public int ScaleBits { get; }

    /// <summary>Number of ring elements in each input.</summary>
    public int VectorLength { get; }

    /// <summary>The neighbour graph: <see cref="SecAggGraph.Complete"/> (Bonawitz) or SecAgg+'s Harary graph.</summary>
    public SecAggGraph Graph { get; }

    /// <summary>The mask PRG every party expands masks with (a <see cref="MaskPrgs"/> name).</summary>
    public string MaskPrg { get; }

    /// <summary>This round's mask generator.</summary>
    internal IMaskGenerator MaskGenerator(CryptoProvider crypto) => crypto.MaskGeneratorFor(MaskPrg);

    /// <summary>t_N: shares that reconstruct a client's secret, and the fewest survivors each neighbourhood needs
    /// (the round threshold t with the complete graph).</summary>
    public int NeighbourhoodThreshold => Graph.Kind == SecAggGraphKind.Complete ? Threshold : Graph.NeighbourhoodThreshold;

    /// <summary>SHA-256 of an injective encoding of every parameter above: the domain-separation context that
    /// HKDF, AEAD associated data and signatures bind, so nothing from another round or plan verifies here.</summary>
    public ReadOnlySpan<byte> Context => _context;

    /// <summary>The default threshold floor(2n/3) + 1.</summary>
    public static int DefaultThreshold(int participantCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(participantCount);
        return (2 * participantCount / 3) + 1;
    }

    /// <summary>Validates and creates parameters; participant ids are sorted ordinally.</summary>
    /// <param name="federationId">The federation id (non-empty).</param>
    /// <param name="roundId">The round id.</param>
    /// <param name="participants">U: 2..255 distinct non-empty ids.</param>
    /// <param name="vectorLength">Elements per input (at least 1).</param>
    /// <param name="ringBits">k: 32 or 64.</param>
    /// <param name="scaleBits">f: 0..52.</param>
    /// <param name="threshold">t; null means <see cref="DefaultThreshold"/>. Must satisfy |U|/2 &lt; t ≤ |U|.</param>
    /// <param name="graph">The neighbour graph; null means <see cref="SecAggGraph.Complete"/>. A Harary graph needs
    /// an even degree k with k + 1 &lt; |U| and (k+1)/2 &lt; t_N ≤ k + 1.</param>
    /// <param name="maskPrg">The mask PRG (<see cref="MaskPrgs"/>); null means <see cref="MaskPrgs.Aes256Ctr"/>, as
    /// every round had before the plan named it.</param>
    /// <exception cref="ArgumentException">A parameter is invalid; the message names it, its value and the limit.</exception>
    public static SecAggParameters Create(
        string federationId,
        long roundId,
        IEnumerable<string> participants,
        int vectorLength,
        int ringBits = 64,
        int scaleBits = 16,
        int? threshold = null,
        SecAggGraph? graph = null,
        string? maskPrg = null)
    {
        graph ??= SecAggGraph.Complete;
        maskPrg ??= MaskPrgs.Aes256Ctr;
        if (!MaskPrgs.All.Contains(maskPrg))
        {
            throw new ArgumentException($"mask PRG '{maskPrg}' must be one of {string.Join(", ", MaskPrgs.All)}", nameof(maskPrg));
        }

        ArgumentException.ThrowIfNullOrEmpty(federationId);
        ArgumentNullException.ThrowIfNull(participants);
        var sorted = participants.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; i++)
        {
            if (string.IsNullOrEmpty(sorted[i]))
            {
                throw new ArgumentException("participant ids must be non-empty", nameof(participants));
            }

            if (i > 0 && string.Equals(sorted[i - 1], sorted[i], StringComparison.Ordinal))
            {
                throw new ArgumentException($"participant id '{sorted[i]}' appears twice", nameof(participants));
            }
        }

        if (sorted.Length is < 2 or > MaxParticipants)
        {
            throw new ArgumentOutOfRangeException(
                nameof(participants), sorted.Length, $"participants: {sorted.Length} given, must be 2..{MaxParticipants}");
        }

        int t = threshold ?? DefaultThreshold(sorted.Length);
        if (t > sorted.Length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(threshold), t, $"threshold {t} exceeds the {sorted.Length} participants: the round could never complete");
        }

        if (2 * t <= sorted.Length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(threshold), t, $"threshold {t} must exceed half of the {sorted.Length} participants (at least {(sorted.Length / 2) + 1})");
        }

        if (!ModularArithmetic.IsSupportedRingBits(ringBits))
        {
            throw new ArgumentOutOfRangeException(nameof(ringBits), ringBits, $"ring bits {ringBits} must be 32 or 64");
        }

        if (scaleBits is < 0 or > 52)
        {
            throw new ArgumentOutOfRangeException(nameof(scaleBits), scaleBits, $"scale bits {scaleBits} must be in 0..52");
        }

        if (vectorLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(vectorLength), vectorLength, $"vector length {vectorLength} must be at least 1");
        }

        if (graph.Kind == SecAggGraphKind.Harary)
        {
            int k = graph.Degree;
            if (k < 2 || k % 2 != 0 || k + 1 >= sorted.Length)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(graph), k, $"graph degree {k} must be even, at least 2 and below {sorted.Length - 1} for {sorted.Length} participants (use the complete graph otherwise)");
            }

            int tn = graph.NeighbourhoodThreshold;
            if (2 * tn <= k + 1 || tn > k + 1)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(graph), tn, $"neighbourhood threshold {tn} must exceed half of the {k + 1} members of a neighbourhood and be at most {k + 1}");
            }
        }

        return new SecAggParameters(federationId, roundId, sorted, t, ringBits, scaleBits, vectorLength, graph, maskPrg);
    }

    /// <summary>
    /// Checks that the sum of |U| inputs bounded by <paramref name="maxAbsValue"/> per coordinate cannot wrap
    /// around Z/2^k at scale 2^f (<see cref="OverflowGuard.Check"/>) and returns the encoder for this round.
    /// </summary>
    /// <exception cref="ProtocolViolationException">The plan can wrap around; the message names the numbers.</exception>
    public FixedPointEncoder CreateEncoder(double maxAbsValue)
    {
        OverflowGuard.Check(_participants.Length, maxAbsValue, ScaleBits, RingBits);
        return new FixedPointEncoder(ScaleBits, RingBits, maxAbsValue);
    }

    /// <summary>Whether <paramref name="id"/> is in U.</summary>
    public bool IsParticipant(string id) => id is not null && _indexById.ContainsKey(id);

    /// <summary>The Shamir share index (1..|U|) of participant <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a participant.</exception>
    public int ShareIndexOf(string id) =>
        id is not null && _indexById.TryGetValue(id, out int index)
            ? index
            : throw new ArgumentException($"'{id}' is not a participant of round {RoundId}", nameof(id));

    /// <summary>N[<paramref name="id"/>]: the participant and its neighbours, in ordinal order (all of U with the
    /// complete graph).</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is not a participant.</exception>
    public IReadOnlyList<string> NeighbourhoodOf(string id)
    {
        int index = ShareIndexOf(id) - 1;
        return _neighbourhoods is null ? _participants : Array.ConvertAll(_neighbourhoods[index], i => _participants[i]);
    }

    /// <summary>Whether <paramref name="id"/> is in N[<paramref name="owner"/>] (the relation is symmetric; a
    /// participant is in its own neighbourhood). False when either is not a participant.</summary>
    public bool InNeighbourhood(string owner, string id)
    {
        if (owner is null || id is null || !_indexById.TryGetValue(owner, out int a) || !_indexById.TryGetValue(id, out int b))
        {
            return false;
        }

        return _neighbourhoods is null || Array.BinarySearch(_neighbourhoods[a - 1], b - 1) >= 0;
    }

    /// <summary>The Shamir sharing for this round's index space (<see cref="CryptoProvider.SecretSharingFor"/>).</summary>
    internal ISecretSharing SecretSharing(CryptoProvider crypto) => crypto.SecretSharingFor(_participants.Length);

    /// <summary>Prints ids and numbers only.</summary>
    public override string ToString() =>
        $"SecAggParameters(federation={FederationId}, round={RoundId}, n={_participants.Length}, t={Threshold}, k={RingBits}, f={ScaleBits}, length={VectorLength}, graph={Graph}, prg={MaskPrg})";
}
