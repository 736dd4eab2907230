using Google.Protobuf;
using SecureFed.Agent.Internal;
using SecureFed.Crypto;
using SecureFed.Identity;
using SecureFed.Protocol;
using W = SecureFed.Contracts.V1;

namespace SecureFed.Federation.Tests;

/// <summary>
/// The agent loads a peer's certificate and imports its key once, and still checks it against the CA, the clock and the
/// deny-list every round (issue 14: at 1000 silos each silo loaded its 128 neighbours' certificates every round).
/// </summary>
public sealed class PeerKeyCacheTests : IDisposable
{
    private const int Silos = 5;
    private readonly ManualClock _time = new(DateTimeOffset.UtcNow);
    private readonly ConsortiumCa _ca;
    private readonly string[] _ids = Enumerable.Range(1, Silos).Select(i => $"silo-{i}").ToArray();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2[] _certs;
    private readonly SwitchableDenyList _denyList = new();

    public PeerKeyCacheTests()
    {
        _ca = ConsortiumCa.Create("key-cache-test", _time, TimeSpan.FromDays(10));
        _certs = _ids.Select(id => _ca.IssueSilo(SiloId.Parse(id), TimeSpan.FromDays(2))).ToArray();
        _denyList.List = DenyList.Empty(_ca.Certificate, _time.GetUtcNow());
    }

    public void Dispose()
    {
        foreach (var c in _certs)
        {
            c.Dispose();
        }

        _ca.Dispose();
    }

    [Fact]
    public void Start_SecondRound_LoadsNoCertificateAgainAndStillSigns()
    {
        using var cache = NewCache();
        using (var first = Start(cache))
        {
            Assert.NotNull(first.AdvertiseKeys());
        }

        int loads = cache.Loads;
        Assert.Equal(Silos, loads); // every participant's certificate, this silo's own included

        using (var second = Start(cache))
        {
            Assert.NotNull(second.AdvertiseKeys()); // the cached keys outlive the first session, which disposed its own
        }

        Assert.Equal(loads, cache.Loads);
    }

    [Fact]
    public void Start_CachedPeerRevokedBetweenRounds_IsRefusedNamingIt()
    {
        using var cache = NewCache();
        using (Start(cache))
        {
        }

        _denyList.List = _denyList.List.With(DenyListEntryKind.Silo, "silo-3", _time.GetUtcNow(), "left the consortium");

        var ex = Assert.Throws<ProtocolViolationException>(() => Start(cache));
        Assert.Contains("'silo-3' refused", ex.Message, StringComparison.Ordinal);
        Assert.Contains("revoked", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_CachedPeerExpiredBetweenRounds_IsRefused()
    {
        using var cache = NewCache();
        using (Start(cache))
        {
        }

        _time.Advance(TimeSpan.FromDays(3));

        var ex = Assert.Throws<ProtocolViolationException>(() => Start(cache));
        Assert.Contains("expired", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_CertificateUnderAnotherSilosId_IsRefusedEvenWhenCached()
    {
        using var cache = NewCache();
        Assert.NotNull(cache.Verifier("silo-2", _certs[1].RawData, out bool owned));
        Assert.False(owned);

        var ex = Assert.Throws<ProtocolViolationException>(() => cache.Verifier("silo-4", _certs[1].RawData, out _));
        Assert.Contains("'silo-4' refused", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, cache.Loads);
    }

    private PeerKeyCache NewCache() =>
        new(new PeerCertificateValidator(_ca.Certificate, _time, new PeerRestrictions { DenyList = _denyList }));

    private SecureAggregationSession Start(PeerKeyCache cache)
    {
        var sa = new SecureAggregationPlan(32, 16, 16.0, Threshold: 3);
        var plan = new RoundPlan(
            "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
            _ids, DateTimeOffset.UnixEpoch, null, sa);
        var task = plan.Task(SumTask.Training)!;
        var start = new W.SecAggStart
        {
            Threshold = (uint)sa.Threshold, RingBits = (uint)task.RingBits, ScaleBits = (uint)task.ScaleBits, VectorLength = (uint)task.Length, Task = SumTask.Training,
        };
        start.Participants.AddRange(_ids);
        start.Certificates.AddRange(_ids.Select((id, i) => new W.PeerCertificate { SiloId = id, Der = ByteString.CopyFrom(_certs[i].RawData) }));
        return SecureAggregationSession.Start(plan, start, _ids[0], _certs[0], cache, SystemRandomSource.Instance);
    }

    private sealed class SwitchableDenyList : IDenyListSource
    {
        public DenyList List { get; set; } = null!;

        public DenyList Current() => List;
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
