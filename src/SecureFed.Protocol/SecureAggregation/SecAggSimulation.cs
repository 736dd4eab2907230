using System.Diagnostics;
using System.Security.Cryptography;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>The outcome of <see cref="SecAggSimulation.Run"/>: the sum, or the stage and reason of the abort.</summary>
/// <param name="Sum">Σ_{u in U3} x_u mod 2^k, or null if the round aborted.</param>
/// <param name="IncludedClients">U3: whose inputs the sum covers (empty if the round aborted).</param>
/// <param name="Survivors">|U1| .. |U5| as the server saw them.</param>
/// <param name="AbortedAt">The stage at which the round aborted, or null.</param>
/// <param name="AbortReason">Why it aborted (counts and ids only), or null.</param>
/// <param name="Costs">What the round cost, for benchmarks.</param>
public sealed record SecAggSimulationResult(
    RingVector? Sum,
    IReadOnlyList<string> IncludedClients,
    SecAggSurvivorCounts Survivors,
    SecAggStage? AbortedAt,
    string? AbortReason,
    SecAggSimulationCosts Costs)
{
    /// <summary>Whether the round released a sum.</summary>
    public bool Completed => Sum is not null;
}

/// <summary>Measured costs of a simulated round (wall-clock on the calling thread; masking itself may use several cores).</summary>
/// <param name="ClientMaskTotal">Total time of every client's <see cref="SecAggClient.MaskInput(ShareKeysDelivery, RingVector)"/> (share decryption,
/// key agreements and mask expansion).</param>
/// <param name="ClientMaskMax">The slowest single client's <see cref="SecAggClient.MaskInput(ShareKeysDelivery, RingVector)"/>.</param>
/// <param name="ServerUnmask">Time of <see cref="SecAggServer.CloseUnmask"/> (reconstruction and mask removal).</param>
/// <param name="BytesUpPerClient">Mean payload bytes (keys, ciphertexts, masked vector at k/8 bytes per element,
/// signatures, shares, ids) sent by a client that sent anything; transport framing not included.</param>
public sealed record SecAggSimulationCosts(TimeSpan ClientMaskTotal, TimeSpan ClientMaskMax, TimeSpan ServerUnmask, long BytesUpPerClient);

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
        var bytesUp = new Dictionary<string, long>(StringComparer.Ordinal);
        TimeSpan maskTotal = TimeSpan.Zero;
        TimeSpan maskMax = TimeSpan.Zero;
        TimeSpan unmaskTime = TimeSpan.Zero;
        SecAggSimulationCosts CostsSoFar() => new(
            maskTotal, maskMax, unmaskTime, bytesUp.Count == 0 ? 0 : bytesUp.Values.Sum() / bytesUp.Count);
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
                bytesUp[message.Sender] = bytesUp.GetValueOrDefault(message.Sender) + PayloadBytes(message, parameters.RingBits);
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
                long startMask = Stopwatch.GetTimestamp();
                var masked = clients[id].MaskInput(delivery, inputs[id]);
                var elapsed = Stopwatch.GetElapsedTime(startMask);
                maskTotal += elapsed;
                maskMax = elapsed > maskMax ? elapsed : maskMax;
                Deliver(masked, m => server.ReceiveMaskedInput((MaskedInputMessage)m));
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

            long startUnmask = Stopwatch.GetTimestamp();
            var sum = server.CloseUnmask();
            unmaskTime = Stopwatch.GetElapsedTime(startUnmask);
            return new SecAggSimulationResult(sum, server.IncludedClients, server.Survivors, null, null, CostsSoFar());
        }
        catch (SecAggAbortedException ex)
        {
            return new SecAggSimulationResult(null, [], server.Survivors, ex.Stage, ex.Message, CostsSoFar());
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

    private static long PayloadBytes(SecAggClientMessage message, int ringBits)
    {
        long bytes = sizeof(long) + System.Text.Encoding.UTF8.GetByteCount(message.Sender);
        return bytes + message switch
        {
            KeyAdvertisement m => m.CipherPublicKey.Length + m.MaskPublicKey.Length + m.Signature.Length,
            ShareKeysMessage m => m.Shares.Sum(s => (long)s.Ciphertext.Length + System.Text.Encoding.UTF8.GetByteCount(s.Recipient)),
            MaskedInputMessage m => (long)m.MaskedValues.Length * (ringBits / 8),
            ConsistencySignature m => m.Signature.Length,
            UnmaskResponse m => m.MaskKeyShares.Concat(m.SelfMaskShares).Sum(s => (long)s.Value.Length + System.Text.Encoding.UTF8.GetByteCount(s.Owner)),
            _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name, "unknown secure aggregation message"),
        };
    }
}
