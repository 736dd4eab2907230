using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Crypto;
using SecureFed.Protocol;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Secure aggregation (Bonawitz et al. 2017) of one plan task over the agents' streams: the coordinator routes keys,
/// encrypted shares and masked inputs, and learns only the sum over the silos that completed. Every stage has a
/// deadline; below the threshold the sum aborts and nothing is released. Statistics, training deltas and evaluation
/// sums all go through here (DESIGN section 7); each task is its own protocol session, domain-separated by the task
/// name, with fresh keys.
/// </summary>
internal sealed class SecureSumStage(SessionRegistry registry, int maxChunkFloats, TimeProvider time) : ISumStage
{
    public async Task<SumOutcome> RunAsync(RoundState state, SumTask task, int needed, CancellationToken ct)
    {
        var plan = state.Plan;
        var sa = plan.SecureAggregation ?? throw new InvalidOperationException("a secure sum needs a plan with secure aggregation");
        var accepted = state.Accepted();
        var before = state.Tally();
        SumOutcome Outcome(double[]? sum, IReadOnlyList<string> included, SecAggSurvivorCounts? counts, string? why)
        {
            // Dropouts: silos lost in the plan stage, plus accepted silos that neither completed nor were rejected. (A silo
            // rejected after its masked input went into U3 still contributes: the sum covers every U3 input.)
            var after = state.Tally();
            var rejected = state.RejectedSilos();
            var dropped = accepted.Count(id => !included.Contains(id, StringComparer.Ordinal) && !rejected.Contains(id, StringComparer.Ordinal));
            return new SumOutcome(sum, included.Count, included, before.Dropped + dropped, after.Refused, after.Rejected, counts, why);
        }

        SumOutcome Abort(string why, IReadOnlyList<string>? included = null, SecAggSurvivorCounts? counts = null) => Outcome(null, included ?? [], counts, why);

        var least = Math.Max(Math.Max(needed, sa.Threshold), 2);
        if (accepted.Count < least)
        {
            return Abort($"{accepted.Count} silos accepted the plan, fewer than the threshold {least}");
        }

        SecAggParameters parameters;
        FixedPointEncoder encoder;
        try
        {
            parameters = SecAggParameters.Create(SumTask.SessionLabel(plan.FederationId, task.Name), plan.Round, accepted, task.Length, task.RingBits, task.ScaleBits, sa.Threshold, sa.ToGraph(), sa.MaskPrg);
            encoder = parameters.CreateEncoder(task.MaxAbsValue);
        }
        catch (Exception ex) when (ex is ArgumentException or SecureFedException)
        {
            return Abort($"secure aggregation refused the plan: {ex.Message}");
        }

        var sessions = accepted.Select(id => registry.Find(id)).OfType<AgentSession>().ToDictionary(s => s.SiloId, StringComparer.Ordinal);
        var verifiers = new Dictionary<string, ISignatureVerifier>(StringComparer.Ordinal);
        SecureAggregationRound? secure = null;
        var covered = 0; // U3, once the coordinator has asked for unmasking: the silos a learnable sum covers
        void RevealedIfAnswered()
        {
            if (covered > 0 && secure!.UnmaskResponsesReceived > 0)
            {
                state.Releases?.Revealed(task, covered);
                covered = 0;
            }
        }

        try
        {
            foreach (var (id, session) in sessions)
            {
                using var certificate = X509CertificateLoader.LoadCertificate(session.CertificateDer);
                verifiers[id] = CryptoProvider.Default.CreateVerifier(certificate);
            }

            secure = new SecureAggregationRound(parameters, verifiers, maxChunkFloats, task.Name);
            state.Secure = secure;
            foreach (var id in accepted.Where(id => !sessions.ContainsKey(id)))
            {
                secure.Drop(id);
            }

            var stage = StageSupport.StartStage("advertise_keys", task.Name);
            secure.Start();
            var start = new SecAggStart
            {
                Threshold = (uint)parameters.Threshold,
                RingBits = (uint)parameters.RingBits,
                ScaleBits = (uint)parameters.ScaleBits,
                VectorLength = (uint)parameters.VectorLength,
                Task = task.Name,
            };
            start.Participants.AddRange(parameters.Participants);
            var certificates = sessions.Values.ToDictionary(
                s => s.SiloId, s => new PeerCertificate { SiloId = s.SiloId, Der = ByteString.CopyFrom(s.CertificateDer) }, StringComparer.Ordinal);
            if (parameters.Graph.Kind == SecAggGraphKind.Complete)
            {
                start.Certificates.AddRange(certificates.Values);
                Broadcast(secure, plan, task.Name, Contracts.V1.Stage.AdvertiseKeys, sessions.Keys, (_, m) => m.SecaggStart = start);
            }
            else
            {
                // SecAgg+: a silo checks only its neighbours' certificates (at 1000 silos, every silo validating every
                // certificate was a million chain checks a round), so it is sent only those.
                Broadcast(secure, plan, task.Name, Contracts.V1.Stage.AdvertiseKeys, sessions.Keys, (id, m) =>
                {
                    var own = start.Clone();
                    own.Certificates.AddRange(Neighbours(parameters, id, certificates));
                    m.SecaggStart = own;
                });
            }

            await StageSupport.WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, time, ct);
            var keys = SecAggMapping.ToWire(secure.CloseAdvertiseKeys());
            StageSupport.EndStage(stage, keys.Advertisements.Count);
            stage = StageSupport.StartStage("share_keys", task.Name);
            if (parameters.Graph.Kind == SecAggGraphKind.Complete)
            {
                Broadcast(secure, plan, task.Name, Contracts.V1.Stage.ShareKeys, keys.Advertisements.Select(a => a.Sender), (_, m) => m.AdvertisedKeys = keys);
            }
            else
            {
                // SecAgg+: each silo gets its neighbours' keys only (it ignores the others unread), O(k) bytes, not O(n).
                var bySender = keys.Advertisements.ToDictionary(a => a.Sender, StringComparer.Ordinal);
                Broadcast(secure, plan, task.Name, Contracts.V1.Stage.ShareKeys, bySender.Keys, (id, m) =>
                {
                    var own = new Contracts.V1.AdvertisedKeys();
                    own.Advertisements.AddRange(Neighbours(parameters, id, bySender));
                    m.AdvertisedKeys = own;
                });
            }

            await StageSupport.WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, time, ct);
            var deliveries = secure.CloseShareKeys();
            StageSupport.EndStage(stage, deliveries.Count);
            stage = StageSupport.StartStage("masked_input", task.Name);
            foreach (var (recipient, delivery) in deliveries)
            {
                Broadcast(secure, plan, task.Name, Contracts.V1.Stage.MaskedInput, [recipient], (_, m) => m.ShareKeysDelivery = SecAggMapping.ToWire(delivery));
            }

            // Training happens before a silo masks its delta, so that stage has the training deadline.
            await StageSupport.WaitOrDeadline(secure.StageDone, task.Name == SumTask.Training ? sa.MaskedInputTimeout : sa.KeyStageTimeout + sa.MaskedInputTimeout, time, ct);
            var check = secure.CloseMaskedInput();
            StageSupport.EndStage(stage, check.Survivors.Count);
            stage = StageSupport.StartStage("consistency_check", task.Name);
            var checkWire = SecAggMapping.ToWire(check);
            Broadcast(secure, plan, task.Name, Contracts.V1.Stage.ConsistencyCheck, check.Survivors, (_, m) => m.ConsistencyCheckRequest = checkWire);

            await StageSupport.WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, time, ct);
            var unmask = secure.CloseConsistencyCheck();
            StageSupport.EndStage(stage, unmask.Signatures.Count);
            stage = StageSupport.StartStage("unmask", task.Name);
            // From the first unmask response on, the coordinator (with colluding silos) may learn the sum over U3:
            // charged before the request goes out, and then as revealed however the stage ends.
            covered = check.Survivors.Count;
            state.Releases?.Risking(task, covered);
            var unmaskWire = SecAggMapping.ToWire(unmask);
            Broadcast(secure, plan, task.Name, Contracts.V1.Stage.Unmask, unmask.Signatures.Select(x => x.Sender), (_, m) => m.UnmaskRequest = unmaskWire);

            await StageSupport.WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, time, ct);
            RevealedIfAnswered(); // before closing, which wipes the responses (and may still fail: charged all the same)
            var unmaskStarted = Stopwatch.GetTimestamp();
            var (sum, included) = secure.CloseUnmask();
            var unmaskTime = Stopwatch.GetElapsedTime(unmaskStarted);
            StageSupport.EndStage(stage, included.Count);
            var counts = secure.Survivors;
            if (included.Count < needed)
            {
                return Abort($"{included.Count} silos completed secure aggregation, fewer than the {needed} needed to release an aggregate", included, counts);
            }

            var decoded = encoder.Decode(sum);
            if (AggregateBounds.Check(task, plan.Privacy, included.Count, decoded) is { } impossible)
            {
                // Unmasked, so charged (AttemptReleases), but not released: some member sent what no honest one can.
                return Abort($"the {task.Name} aggregate cannot have come from honest inputs: {impossible}", included, counts);
            }

            return Outcome(decoded, included, counts, null) with { UnmaskTime = unmaskTime };
        }
        catch (SecAggAbortedException ex)
        {
            if (ex.Suspect is { } suspect)
            {
                // Not proven (several liars could point elsewhere), so it only sits out the retries of this round.
                state.NoteFault(suspect, $"most likely broke the unmasking: {ex.Message}", proven: false);
            }

            return Abort($"secure aggregation aborted at {ex.Stage}: {ex.Message}", null, secure?.Survivors);
        }
        finally
        {
            RevealedIfAnswered(); // a stage cut short (shutdown, abort) after unmask responses arrived
            if (secure is not null)
            {
                state.NoteStalled(secure.Stalled, task.Name);
            }

            state.Secure = null;
            foreach (var v in verifiers.Values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>The entries of <paramref name="id"/>'s neighbourhood (itself included) that <paramref name="byId"/> holds, in ordinal order.</summary>
    private static IEnumerable<T> Neighbours<T>(SecAggParameters parameters, string id, IReadOnlyDictionary<string, T> byId)
    {
        foreach (var peer in parameters.NeighbourhoodOf(id))
        {
            if (byId.TryGetValue(peer, out var entry))
            {
                yield return entry;
            }
        }
    }

    private void Broadcast(SecureAggregationRound secure, Protocol.RoundPlan plan, string task, Contracts.V1.Stage stage, IEnumerable<string> recipients, Action<string, CoordinatorMessage> fill)
    {
        foreach (var id in recipients)
        {
            var header = DomainMapping.Header(plan.FederationId, plan.Round, stage);
            header.Task = DomainMapping.WireTask(task);
            var message = new CoordinatorMessage { Header = header };
            fill(id, message);
            if (registry.Find(id) is not { } session || !session.TrySend(message))
            {
                secure.Drop(id);
            }
        }
    }
}
