using System.Globalization;
using System.Security.Cryptography;
using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation;
using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Protocol.Tests;

/// <summary>
/// n honest clients and an honest server driven stage by stage, so a test can play a scripted (malicious)
/// server by altering the messages between the steps. Deterministic: every random byte comes from one seed.
/// </summary>
internal sealed class Harness : IDisposable
{
    private readonly bool _ownsKeys;
    private readonly Dictionary<string, ECDsa> _keys;
    private readonly Dictionary<string, ISigner> _signers = new(StringComparer.Ordinal);
    private readonly DeterministicRandomSource _rng;

    public Harness(
        int n, int length = 16, int ringBits = 64, int? threshold = null, long round = 1, ulong seed = 1, Harness? sameKeysAs = null, SecAggGraph? graph = null,
        string? maskPrg = null)
    {
        var ids = Enumerable.Range(0, n).Select(i => "silo-" + i.ToString(n > 100 ? "D4" : "D2", CultureInfo.InvariantCulture)).ToArray();
        Parameters = SecAggParameters.Create("fed-test", round, ids, length, ringBits, scaleBits: 16, threshold, graph, maskPrg);
        _rng = new DeterministicRandomSource(seed);
        _ownsKeys = sameKeysAs is null;
        _keys = sameKeysAs?._keys ?? ids.ToDictionary(id => id, _ => ECDsa.Create(ECCurve.NamedCurves.nistP256), StringComparer.Ordinal);
        foreach (var id in ids)
        {
            _signers[id] = CryptoProvider.Default.CreateSigner(_keys[id]);
            Verifiers[id] = CryptoProvider.Default.CreateVerifier(_keys[id]);
        }

        Server = new SecAggServer(Parameters, Verifiers);
        foreach (var id in ids)
        {
            Clients[id] = new SecAggClient(Parameters, id, _signers[id], Verifiers, _rng);
            Inputs[id] = RandomInput(seed, id, length, ringBits);
        }
    }

    public SecAggParameters Parameters { get; }

    public Dictionary<string, ISignatureVerifier> Verifiers { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, SecAggClient> Clients { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RingVector> Inputs { get; } = new(StringComparer.Ordinal);

    public SecAggServer Server { get; }

    public IReadOnlyList<string> Ids => Parameters.Participants;

    public ISigner Signer(string id) => _signers[id];

    /// <summary>Shares one sender signed (<c>SecAggCrypto.SignShares</c>) with the paths the server adds when it routes them.</summary>
    public EncryptedShare[] Routed(EncryptedShare[] signed) =>
        SecAggCrypto.WithPaths(Parameters, Verifiers[signed[0].Sender], signed[0].Sender, signed) ?? throw new InvalidOperationException("not one signed tree");

    public static RingVector RandomInput(ulong seed, string id, int length, int ringBits)
    {
        using var rng = new DeterministicRandomSource(System.Text.Encoding.UTF8.GetBytes($"input/{seed}/{id}"));
        var bytes = new byte[length * 8];
        rng.Fill(bytes);
        var values = new ulong[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = BitConverter.ToUInt64(bytes, i * 8) & ModularArithmetic.MaxElement(ringBits);
        }

        return new RingVector(ringBits, values);
    }

    public RingVector PlainSum(IEnumerable<string> ids)
    {
        var sum = RingVector.Zero(Parameters.RingBits, Parameters.VectorLength);
        foreach (var id in ids)
        {
            sum = sum.Add(Inputs[id]);
        }

        return sum;
    }

    public IEnumerable<string> Except(params string[] dropped) => Ids.Where(id => !dropped.Contains(id));

    public AdvertisedKeys Advertise(IEnumerable<string>? who = null)
    {
        var start = Server.Start();
        foreach (var id in who ?? Ids)
        {
            Server.ReceiveAdvertisement(Clients[id].AdvertiseKeys(start));
        }

        return Server.CloseAdvertiseKeys();
    }

    public IReadOnlyDictionary<string, ShareKeysDelivery> Share(AdvertisedKeys advertised, IEnumerable<string>? who = null)
    {
        foreach (var id in who ?? advertised.Advertisements.Select(a => a.Sender))
        {
            Server.ReceiveShareKeys(Clients[id].ShareKeys(advertised));
        }

        return Server.CloseShareKeys();
    }

    public Dictionary<string, MaskedInputMessage> MaskOnly(IReadOnlyDictionary<string, ShareKeysDelivery> deliveries, IEnumerable<string>? who = null) =>
        (who ?? deliveries.Keys).ToDictionary(id => id, id => Clients[id].MaskInput(deliveries[id], Inputs[id]), StringComparer.Ordinal);

    public ConsistencyCheckRequest Mask(IReadOnlyDictionary<string, ShareKeysDelivery> deliveries, IEnumerable<string>? who = null)
    {
        foreach (var message in MaskOnly(deliveries, who).Values)
        {
            Server.ReceiveMaskedInput(message);
        }

        return Server.CloseMaskedInput();
    }

    public UnmaskRequest Sign(ConsistencyCheckRequest check, IEnumerable<string>? who = null)
    {
        foreach (var id in who ?? check.Survivors)
        {
            Server.ReceiveConsistencySignature(Clients[id].SignConsistency(check));
        }

        return Server.CloseConsistencyCheck();
    }

    public RingVector Unmask(UnmaskRequest request, IEnumerable<string>? who = null)
    {
        foreach (var id in who ?? request.Signatures.Select(s => s.Sender))
        {
            Server.ReceiveUnmaskResponse(Clients[id].Unmask(request));
        }

        return Server.CloseUnmask();
    }

    /// <summary>Runs the clients through stage 3 and returns the unmask request.</summary>
    public UnmaskRequest ThroughConsistencyCheck() => Sign(Mask(Share(Advertise())));

    public void Dispose()
    {
        foreach (var client in Clients.Values)
        {
            client.Dispose();
        }

        foreach (var d in _signers.Values.Cast<IDisposable>().Concat(Verifiers.Values))
        {
            d.Dispose();
        }

        if (_ownsKeys)
        {
            foreach (var key in _keys.Values)
            {
                key.Dispose();
            }
        }

        _rng.Dispose();
    }
}
