using Google.Protobuf;
using SecureFed.Agent.Internal;
using SecureFed.Crypto;
using SecureFed.Identity;
using SecureFed.Protocol;
using W = SecureFed.Contracts.V1;

namespace SecureFed.Federation.Tests;

/// <summary>
/// Under SecAgg+ a silo checks only its neighbours' certificates (issue 14): at 1000 silos every silo validating every
/// peer's certificate was a million chain checks a round, and starved the silos' connections. A certificate outside the
/// neighbourhood is never used, so it is not read; with the complete graph every one still is.
/// </summary>
public sealed class SecAggPlusNeighbourhoodTests
{
    private const int Silos = 12;

    [Fact]
    public void Start_Harary_OnlyTheNeighboursCertificatesAreChecked()
    {
        using var ca = ConsortiumCa.Create("neighbourhood-test", TimeProvider.System, TimeSpan.FromDays(1));
        var ids = Enumerable.Range(1, Silos).Select(i => $"silo-{i:D2}").ToArray();
        var certs = ids.Select(id => ca.IssueSilo(SiloId.Parse(id), TimeSpan.FromDays(1))).ToArray();
        try
        {
            var harary = new SecureAggregationPlan(32, 16, 16.0, Threshold: 7).WithGraphFor(Silos, SecureAggregationPlan.HararyGraph, 0, 0);
            var parameters = SecAggParametersFor(harary, ids);
            var neighbours = parameters.NeighbourhoodOf(ids[0]).ToHashSet(StringComparer.Ordinal);
            Assert.InRange(neighbours.Count, 2, Silos - 1); // a real subset: some peers are outside

            // Every certificate outside silo-01's neighbourhood is garbage.
            var start = Start(harary, ids, i => neighbours.Contains(ids[i]) ? certs[i].RawData : [0x30, 0x03, 0x01, 0x02, 0x03]);
            using (var session = SecureAggregationSession.Start(Plan(harary, ids), start, ids[0], certs[0], new PeerKeyCache(new PeerCertificateValidator(ca.Certificate, TimeProvider.System)), SystemRandomSource.Instance))
            {
                Assert.NotNull(session.AdvertiseKeys());
            }

            // With the complete graph the same garbage is every silo's neighbour, and refused.
            var complete = harary with { Graph = SecureAggregationPlan.CompleteGraph, GraphDegree = 0, NeighbourhoodThreshold = 0, GraphSeed = "" };
            Assert.ThrowsAny<Exception>(() => SecureAggregationSession.Start(
                Plan(complete, ids), Start(complete, ids, i => neighbours.Contains(ids[i]) ? certs[i].RawData : [0x30, 0x03, 0x01, 0x02, 0x03]),
                ids[0], certs[0], new PeerKeyCache(new PeerCertificateValidator(ca.Certificate, TimeProvider.System)), SystemRandomSource.Instance));
        }
        finally
        {
            foreach (var c in certs)
            {
                c.Dispose();
            }
        }
    }

    private static RoundPlan Plan(SecureAggregationPlan sa, string[] ids) => new(
        "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
        ids, DateTimeOffset.UnixEpoch, null, sa);

    private static Protocol.SecureAggregation.SecAggParameters SecAggParametersFor(SecureAggregationPlan sa, string[] ids)
    {
        var task = Plan(sa, ids).Task(SumTask.Training)!;
        return Protocol.SecureAggregation.SecAggParameters.Create(
            SumTask.SessionLabel("fed", SumTask.Training), 1, ids, task.Length, task.RingBits, task.ScaleBits, sa.Threshold, sa.ToGraph());
    }

    private static W.SecAggStart Start(SecureAggregationPlan sa, string[] ids, Func<int, byte[]> der)
    {
        var task = Plan(sa, ids).Task(SumTask.Training)!;
        var start = new W.SecAggStart
        {
            Threshold = (uint)sa.Threshold, RingBits = (uint)task.RingBits, ScaleBits = (uint)task.ScaleBits, VectorLength = (uint)task.Length, Task = SumTask.Training,
        };
        start.Participants.AddRange(ids);
        start.Certificates.AddRange(ids.Select((id, i) => new W.PeerCertificate { SiloId = id, Der = ByteString.CopyFrom(der(i)) }));
        return start;
    }
}
