using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

/// <summary>SecAgg+ (Bell et al., CCS 2020): the Harary neighbour graph, its parameters, and rounds past 255 silos.</summary>
public class SecAggPlusTests
{
    private static readonly byte[] Seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    private static SecAggGraph Graph(int k, int t, byte[]? seed = null) => SecAggGraph.Harary(k, t, seed ?? Seed);

    private static IEnumerable<string> Ids(int n) => Enumerable.Range(0, n).Select(i => $"p{i:D4}");

    [Fact]
    public void Neighbourhoods_SameSeed_KRegularSymmetricAndReproducible()
    {
        var a = SecAggParameters.Create("fed", 1, Ids(50), 4, graph: Graph(8, 6));
        var b = SecAggParameters.Create("fed", 1, Ids(50).Reverse(), 4, graph: Graph(8, 6));
        foreach (var id in a.Participants)
        {
            var n = a.NeighbourhoodOf(id);
            Assert.Equal(9, n.Count);
            Assert.Contains(id, n);
            Assert.Equal(n.Order(StringComparer.Ordinal), n);
            Assert.Equal(n, b.NeighbourhoodOf(id));
            Assert.All(n, other => Assert.True(a.InNeighbourhood(other, id)));
            Assert.Equal(9, a.Participants.Count(other => a.InNeighbourhood(id, other)));
        }

        Assert.Equal(a.Context.ToArray(), b.Context.ToArray());
    }

    [Fact]
    public void Neighbourhoods_OtherSeed_OtherGraphAndContext_CompleteGraphContextUnchanged()
    {
        var seed2 = (byte[])Seed.Clone();
        seed2[0] ^= 1;
        var a = SecAggParameters.Create("fed", 1, Ids(50), 4, graph: Graph(8, 6));
        var b = SecAggParameters.Create("fed", 1, Ids(50), 4, graph: Graph(8, 6, seed2));
        Assert.Contains(a.Participants, id => !a.NeighbourhoodOf(id).SequenceEqual(b.NeighbourhoodOf(id)));
        Assert.NotEqual(a.Context.ToArray(), b.Context.ToArray());

        // The complete graph is the default and binds no graph fields, so existing rounds keep their context.
        var complete = SecAggParameters.Create("fed", 1, Ids(50), 4);
        Assert.Equal(complete.Context.ToArray(), SecAggParameters.Create("fed", 1, Ids(50), 4, graph: SecAggGraph.Complete).Context.ToArray());
        Assert.NotEqual(complete.Context.ToArray(), a.Context.ToArray());
        Assert.Equal(50, complete.NeighbourhoodOf("p0007").Count);
        Assert.Equal(complete.Threshold, complete.NeighbourhoodThreshold);
    }

    [Theory]
    [InlineData(7, 6, "even")]
    [InlineData(0, 1, "even")]
    [InlineData(10, 11, "below 9")]
    [InlineData(8, 4, "exceed half")]
    [InlineData(8, 10, "exceed half")]
    public void Create_HararyOutOfRange_RefusesNamingTheLimit(int k, int t, string expected)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SecAggParameters.Create("fed", 1, Ids(10), 4, graph: Graph(k, t)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    // Numbers from the bounds in SecAggGraph's remarks (σ = 40, η = 20), computed independently in Python: they grow
    // with log n, and small consortia get the complete graph.
    [Theory]
    [InlineData(300, 0.05, 0.1, 120, 77)]
    [InlineData(1000, 0.05, 0.1, 128, 82)]
    [InlineData(10000, 0.05, 0.1, 138, 88)]
    [InlineData(1000, 0.0, 0.1, 34, 18)]
    [InlineData(1000, 0.05, 0.05, 86, 58)]
    public void ChooseDegree_PaperBounds_GivesLogarithmicDegree(int n, double corrupt, double dropout, int k, int t)
    {
        Assert.Equal((k, t), SecAggGraph.ChooseDegree(n, corrupt, dropout));
        var graph = SecAggGraph.Choose(n, corrupt, dropout, Seed);
        Assert.Equal(SecAggGraphKind.Harary, graph.Kind);
        Assert.True(2 * graph.NeighbourhoodThreshold > graph.Degree + 1);
    }

    [Fact]
    public void Choose_SmallConsortium_IsCompleteGraph()
    {
        Assert.Null(SecAggGraph.ChooseDegree(100, 0.05, 0.1));
        Assert.Same(SecAggGraph.Complete, SecAggGraph.Choose(20, 0.0, 0.1, Seed));
        Assert.Throws<ArgumentOutOfRangeException>(() => SecAggGraph.ChooseDegree(100, 0.6, 0.4));
    }

    // Past the old cap of 255: share indices up to 300, so the shares are over GF(2^16).
    [Fact]
    public void Run_SecAggPlus300Silos_ExactSum()
    {
        using var h = new Harness(300, length: 8, ringBits: 32, graph: Graph(10, 7));
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, null, new DeterministicRandomSource(4));
        Assert.True(result.Completed, result.AbortReason);
        Assert.Equal(300, result.IncludedClients.Count);
        Assert.Equal(h.PlainSum(h.Ids).ToArray(), result.Sum!.ToArray());
    }

    // 10% dropout spread over every stage: those gone before MaskedInput are left out of the sum, those gone after
    // it are in; their masks are removed from their neighbours' shares.
    [Fact]
    public void Run_SecAggPlusTenPercentDropoutAtEveryStage_ExactSumOverMaskedInputs()
    {
        using var h = new Harness(120, length: 8, ringBits: 64, graph: Graph(16, 10));
        var stages = new[] { SecAggStage.ShareKeys, SecAggStage.MaskedInput, SecAggStage.ConsistencyCheck, SecAggStage.Unmask };
        var drop = Enumerable.Range(0, 12).ToDictionary(i => h.Ids[(i * 10) + 3], i => stages[i % stages.Length]);
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(5));
        Assert.True(result.Completed, result.AbortReason);
        var included = h.Ids.Where(id => !drop.TryGetValue(id, out var s) || s > SecAggStage.MaskedInput).ToArray();
        Assert.Equal(included, result.IncludedClients);
        Assert.Equal(h.PlainSum(included).ToArray(), result.Sum!.ToArray());
        Assert.Equal(114, result.Survivors.MaskedInput);
    }

    // 1000 silos, 10% of them dropping before their masked input. The dropouts are picked so that every
    // neighbourhood keeps t_N members (a random 10% would, at this test's small k, sometimes leave one short and abort,
    // which Unmask_NeighbourhoodBelowThreshold checks on its own); the k the paper's bounds give is for the benchmark.
    [Fact]
    public void Run_SecAggPlus1000SilosTenPercentDropout_ExactSum()
    {
        using var h = new Harness(1000, length: 16, ringBits: 32, graph: Graph(6, 4));
        var alive = h.Ids.ToDictionary(id => id, _ => 7, StringComparer.Ordinal);
        var drop = new Dictionary<string, SecAggStage>(StringComparer.Ordinal);
        foreach (var id in h.Ids.Where((_, i) => i % 3 == 0))
        {
            var holders = h.Parameters.NeighbourhoodOf(id);
            if (drop.Count < 100 && holders.All(v => alive[v] > 4))
            {
                drop[id] = SecAggStage.MaskedInput;
                foreach (var v in holders)
                {
                    alive[v]--;
                }
            }
        }

        Assert.Equal(100, drop.Count);
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(7));
        Assert.True(result.Completed, result.AbortReason);
        Assert.Equal(900, result.IncludedClients.Count);
        Assert.Equal(h.PlainSum(h.Ids.Where(id => !drop.ContainsKey(id))).ToArray(), result.Sum!.ToArray());
    }

    // Per-client cost depends on k, not n: a client of 480 sends as many bytes up as one of 120 with the same k.
    [Fact]
    public void Run_SecAggPlus_BytesUpPerClientIndependentOfN()
    {
        using var small = new Harness(120, length: 16, ringBits: 32, graph: Graph(4, 3));
        using var large = new Harness(480, length: 16, ringBits: 32, graph: Graph(4, 3));
        var a = SecAggSimulation.Run(small.Parameters, small.Inputs, null, new DeterministicRandomSource(8));
        var b = SecAggSimulation.Run(large.Parameters, large.Inputs, null, new DeterministicRandomSource(8));
        Assert.True(a.Completed && b.Completed);

        // The only n-dependent part of what a client sends is nothing: ids are 5 characters in both.
        Assert.InRange(b.Costs.BytesUpPerClient, a.Costs.BytesUpPerClient * 0.95, a.Costs.BytesUpPerClient * 1.05);
    }

    [Fact]
    public void Unmask_NeighbourhoodBelowThreshold_AbortsReleasingNothing()
    {
        using var h = new Harness(40, length: 4, ringBits: 32, threshold: 27, graph: Graph(8, 6));

        // Four of the nine members of one neighbourhood fail at Unmask: 5 < t_N = 6 shares of its owner's b remain.
        var owner = h.Ids[0];
        var gone = h.Parameters.NeighbourhoodOf(owner).Where(id => id != owner).Take(4).ToDictionary(id => id, _ => SecAggStage.Unmask);
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, gone, new DeterministicRandomSource(9));
        Assert.False(result.Completed);
        Assert.Null(result.Sum);
        Assert.Equal(SecAggStage.Unmask, result.AbortedAt);
        Assert.Contains("neighbourhood", result.AbortReason, StringComparison.Ordinal);
    }

    [Fact]
    public void ReceiveShareKeys_ShareAddressedOutsideTheNeighbourhood_Refused()
    {
        using var h = new Harness(30, length: 4, ringBits: 32, graph: Graph(6, 5));
        var advertised = h.Advertise();
        var sender = h.Ids[0];
        var message = h.Clients[sender].ShareKeys(advertised);
        Assert.Equal(6, message.Shares.Count);
        var outsider = h.Ids.First(id => !h.Parameters.InNeighbourhood(sender, id));
        var bad = message with { Shares = [message.Shares[0] with { Recipient = outsider }, .. message.Shares.Skip(1)] };
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveShareKeys(bad));
        Assert.Contains("neighbourhood", ex.Message, StringComparison.Ordinal);
        h.Server.ReceiveShareKeys(message);
    }

    // The malicious-server checks hold within a neighbourhood: a client asked for both shares of a neighbour refuses,
    // and one shown fewer than t_N consistency signatures from its neighbourhood reveals nothing.
    [Fact]
    public void Unmask_BothSharesOfANeighbourOrTooFewNeighbourSignatures_Refused()
    {
        using var h = new Harness(30, length: 4, ringBits: 32, graph: Graph(6, 5));
        var request = h.ThroughConsistencyCheck();
        var client = h.Ids[0];
        var neighbour = h.Parameters.NeighbourhoodOf(client).First(id => id != client);
        var both = request with { Dropped = [neighbour] };
        Assert.Throws<ProtocolViolationException>(() => h.Clients[client].Unmask(both));
        Assert.Equal(SecAggStage.Aborted, h.Clients[client].Stage);

        var other = h.Ids[15];
        var near = request.Signatures.Where(s => h.Parameters.InNeighbourhood(other, s.Sender)).Take(4).ToArray();
        var far = request.Signatures.Where(s => !h.Parameters.InNeighbourhood(other, s.Sender)).ToArray();
        var few = request with { Signatures = [.. near, .. far] };
        var ex = Assert.Throws<SecAggAbortedException>(() => h.Clients[other].Unmask(few));
        Assert.Contains("fewer than the threshold 5", ex.Message, StringComparison.Ordinal);
    }
}
