using System.Security.Cryptography;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>The outcome of <see cref="SecAggSimulation.Run"/>: the sum, or the stage and reason of the abort.</summary>
/// <param name="Sum">Σ_{u in U3} x_u mod 2^k, or null if the round aborted.</param>
/// <param name="IncludedClients">U3: whose inputs the sum covers (empty if the round aborted).</param>
/// <param name="Survivors">|U1| .. |U5| as the server saw them.</param>
/// <param name="AbortedAt">The stage at which the round aborted, or null.</param>
/// <param name="AbortReason">Why it aborted (counts and ids only), or null.</param>
public sealed record SecAggSimulationResult(
    RingVector? Sum, IReadOnlyList<string> IncludedClients, SecAggSurvivorCounts Survivors, SecAggStage? AbortedAt, string? AbortReason)
{
    /// <summary>Whether the round released a sum.</summary>
    public bool Completed => Sum is not null;
}

/// <summary>
/// Runs one secure aggregation round in memory: an honest <see cref="SecAggServer"/> and one honest
/// <see cref="SecAggClient"/> per participant, each with a fresh P-256 signing key, with a dropout schedule.
/// For tests, the <c>simulate</c> command and benchmarks; a real federation carries the same messages over mTLS.
/// Thread-safe (no shared state); each call is independent.
/// </summary>
public static class SecAggSimulation
{
    /// <summary>Runs a round.</summary>
    /// <param name="parameters">The round parameters.</param>
    /// <param name="inputs">Each participant's input; a participant without one never shows up.</param>
    /// <param name="dropAt">For a participant that drops out, the first stage whose message it does not send
    /// (<see cref="SecAggStage.ShareKeys"/> means it dropped after AdvertiseKeys; <see cref="SecAggStage.Unmask"/>
    /// means it dropped during Unmask).</param>
    /// <param name="rng">Randomness for every client; null means <see cref="SystemRandomSource.Instance"/>.</param>
    /// <param name="observeServerInbound">Called with every message the server receives, before it does (to
    /// capture the server's view in tests).</param>
    public static SecAggSimulationResult Run(
        SecAggParameters parameters,
        IReadOnlyDictionary<string, RingVector> inputs,
        IReadOnlyDictionary<string, SecAggStage>? dropAt = null,
        IRandomSource? rng = null,
        Action<SecAggClientMessage>? observeServerInbound = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(inputs);
        rng ??= SystemRandomSource.Instance;
        dropAt ??= new Dictionary<string, SecAggStage>();
        var keys = new List<ECDsa>();
        var signers = new Dictionary<string, ISigner>(StringComparer.Ordinal);
        var verifiers = new Dictionary<string, ISignatureVerifier>(StringComparer.Ordinal);
        var clients = new Dictionary<string, SecAggClient>(StringComparer.Ordinal);
        var server = new SecAggServer(parameters, verifiers);
        try
        {
            foreach (var id in parameters.Participants)
            {
                var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                keys.Add(key);
                signers[id] = CryptoProvider.Default.CreateSigner(key);
                verifiers[id] = CryptoProvider.Default.CreateVerifier(key);
            }

            foreach (var id in parameters.Participants)
            {
                if (inputs.ContainsKey(id))
                {
                    clients[id] = new SecAggClient(parameters, id, signers[id], verifiers, rng);
                }
            }

            bool Sends(string id, SecAggStage stage) =>
                clients.ContainsKey(id) && (!dropAt.TryGetValue(id, out var drop) || drop > stage);

            void Deliver(SecAggClientMessage message, Action<SecAggClientMessage> receive)
            {
                observeServerInbound?.Invoke(message);
                receive(message);
            }

            var start = server.Start();
            foreach (var id in clients.Keys.Where(id => Sends(id, SecAggStage.AdvertiseKeys)))
            {
                Deliver(clients[id].AdvertiseKeys(start), m => server.ReceiveAdvertisement((KeyAdvertisement)m));
            }

            var advertised = server.CloseAdvertiseKeys();
            foreach (var ad in advertised.Advertisements.Where(a => Sends(a.Sender, SecAggStage.ShareKeys)))
            {
                Deliver(clients[ad.Sender].ShareKeys(advertised), m => server.ReceiveShareKeys((ShareKeysMessage)m));
            }

            var deliveries = server.CloseShareKeys();
            foreach (var (id, delivery) in deliveries.Where(d => Sends(d.Key, SecAggStage.MaskedInput)))
            {
                Deliver(clients[id].MaskInput(delivery, inputs[id]), m => server.ReceiveMaskedInput((MaskedInputMessage)m));
            }

            var check = server.CloseMaskedInput();
            foreach (var id in check.Survivors.Where(id => Sends(id, SecAggStage.ConsistencyCheck)))
            {
                Deliver(clients[id].SignConsistency(check), m => server.ReceiveConsistencySignature((ConsistencySignature)m));
            }

            var unmask = server.CloseConsistencyCheck();
            foreach (var signature in unmask.Signatures.Where(s => Sends(s.Sender, SecAggStage.Unmask)))
            {
                Deliver(clients[signature.Sender].Unmask(unmask), m => server.ReceiveUnmaskResponse((UnmaskResponse)m));
            }

            var sum = server.CloseUnmask();
            return new SecAggSimulationResult(sum, server.IncludedClients, server.Survivors, null, null);
        }
        catch (SecAggAbortedException ex)
        {
            return new SecAggSimulationResult(null, [], server.Survivors, ex.Stage, ex.Message);
        }
        finally
        {
            foreach (var client in clients.Values)
            {
                client.Dispose();
            }

            foreach (var disposable in signers.Values.Cast<IDisposable>().Concat(verifiers.Values).Concat(keys))
            {
                disposable.Dispose();
            }
        }
    }
}
