using System.Security.Cryptography.X509Certificates;
using SecureFed.Contracts;
using SecureFed.Crypto;
using SecureFed.Protocol;
using SecureFed.Protocol.SecureAggregation;
using W = SecureFed.Contracts.V1;

namespace SecureFed.Agent.Internal;

/// <summary>
/// The silo's side of one round's secure aggregation: checks every peer's certificate against the consortium CA
/// itself (the coordinator only forwards them), signs with the silo's certificate key, and answers each stage
/// through the protocol's <see cref="SecAggClient"/>, which refuses whatever an honest client must refuse (both
/// shares of one peer, inconsistent survivor sets, forged keys). Not thread-safe: used by the agent's read loop.
/// </summary>
internal sealed class SecureAggregationSession : IDisposable
{
    private readonly SecAggClient _client;
    private readonly FixedPointEncoder _encoder;
    private readonly ISigner _signer;
    private readonly List<ISignatureVerifier> _verifiers; // the ones this session owns (not the agent's cached ones)
    private readonly IRandomSource _rng;

    private SecureAggregationSession(SecAggClient client, FixedPointEncoder encoder, ISigner signer, List<ISignatureVerifier> verifiers, IRandomSource rng, long round)
    {
        _client = client;
        _encoder = encoder;
        _signer = signer;
        _verifiers = verifiers;
        _rng = rng;
        Round = round;
    }

    public long Round { get; }

    /// <summary>The protocol parameters of this session (its context binds every signature).</summary>
    public SecAggParameters Parameters { get; private init; } = null!;

    /// <summary>The plan task this session sums.</summary>
    public string Task { get; private init; } = SumTask.Training;

    /// <summary>Validates the start message against the plan and the consortium CA; throws <see cref="ProtocolViolationException"/>.</summary>
    public static SecureAggregationSession Start(
        RoundPlan plan, W.SecAggStart start, string siloId, X509Certificate2 ownCertificate, PeerKeyCache peers, IRandomSource rng)
    {
        var sa = plan.SecureAggregation
            ?? throw new ProtocolViolationException(FaultKind.FailedPrecondition, "secure aggregation started in a round whose plan has none");
        var taskName = string.IsNullOrEmpty(start.Task) ? SumTask.Training : start.Task;
        var task = plan.Task(taskName)
            ?? throw new ProtocolViolationException(FaultKind.InvalidArgument, $"secure aggregation of task '{SumTask.Printable(taskName)}', which the plan does not sum");
        if (start.RingBits != (uint)task.RingBits || start.ScaleBits != (uint)task.ScaleBits || start.VectorLength != (uint)task.Length)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "secure aggregation parameters differ from the plan");
        }

        if (!start.Participants.Contains(siloId) || start.Participants.Any(p => !plan.Participants.Contains(p)))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "secure aggregation participants are not a subset of the plan's, or omit this silo");
        }

        // The threshold is fixed in the (hashed) plan; a coordinator may not lower it once silos have accepted.
        var minimum = Math.Max(Math.Max(plan.Privacy?.Threshold ?? 0, (plan.Participants.Count / 2) + 1), sa.Threshold);
        if (start.Threshold != (uint)sa.Threshold || start.Threshold < minimum || start.Threshold > start.Participants.Count)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument, $"threshold {start.Threshold} differs from the plan's {sa.Threshold}, is below {minimum} or above the {start.Participants.Count} participants");
        }

        var parameters = SecAggParameters.Create(SumTask.SessionLabel(plan.FederationId, taskName), plan.Round, start.Participants, task.Length, task.RingBits, task.ScaleBits, (int)start.Threshold, sa.ToGraph(), sa.MaskPrg);
        var encoder = parameters.CreateEncoder(task.MaxAbsValue);
        var verifiers = new List<ISignatureVerifier>();
        var byId = new Dictionary<string, ISignatureVerifier>(StringComparer.Ordinal);
        try
        {
            foreach (var peer in start.Certificates)
            {
                if (parameters.IsParticipant(peer.SiloId) && !parameters.InNeighbourhood(siloId, peer.SiloId))
                {
                    continue; // SecAgg+: a peer outside N[u] is never verified against, so its certificate is not checked
                }

                // Checked against the CA now; parsed and its key imported only the first time the agent meets it.
                var verifier = peers.Verifier(peer.SiloId, peer.Der.Span, out bool owned);
                if (owned)
                {
                    verifiers.Add(verifier);
                }

                byId[peer.SiloId] = verifier;
            }

            var signer = CryptoProvider.Default.CreateSigner(ownCertificate);
            var client = new SecAggClient(parameters, siloId, signer, byId, rng);
            return new SecureAggregationSession(client, encoder, signer, verifiers, rng, plan.Round) { Task = taskName, Parameters = parameters };
        }
        catch
        {
            foreach (var v in verifiers)
            {
                v.Dispose();
            }

            throw;
        }
    }

    public W.KeyAdvertisement AdvertiseKeys() => SecAggMapping.ToWire(_client.AdvertiseKeys(new AdvertiseKeysRequest(Round)));

    public W.ShareKeys ShareKeys(W.AdvertisedKeys keys) => SecAggMapping.ToWire(_client.ShareKeys(SecAggMapping.FromWire(Round, keys)));

    /// <summary>Masks the (already clipped and noised) vector; every coordinate is clamped to the plan's bound first.</summary>
    public ulong[] MaskInput(W.ShareKeysDelivery delivery, PendingInput input)
    {
        // Clamped while encoding (a clamped copy cost as much CPU as expanding all the masks); the rounding draws from
        // a keystream under a fresh key (the system generator cost as much again); the encoding is masked in place.
        using var rounding = KeystreamRandomSource.WithFreshKey(_rng);
        var encoded = input.Encode(_encoder, rounding);
        return _client.MaskInput(SecAggMapping.FromWire(Round, delivery), encoded, consumeInput: true).MaskedValues;
    }

    public W.ConsistencySignature SignConsistency(W.ConsistencyCheckRequest request) =>
        SecAggMapping.ToWire(_client.SignConsistency(SecAggMapping.FromWire(Round, request)));

    public W.UnmaskResponse Unmask(W.UnmaskRequest request) => SecAggMapping.ToWire(_client.Unmask(SecAggMapping.FromWire(Round, request)));

    public void Dispose()
    {
        _client.Dispose();
        _signer.Dispose();
        foreach (var v in _verifiers)
        {
            v.Dispose();
        }
    }
}
