using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

/// <summary>The plan says which graph a round uses; the choice is hashed with it.</summary>
public class SecAggPlusPlanTests
{
    private static RoundPlan Plan(SecureAggregationPlan sa) => new(
        "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
        Enumerable.Range(0, 300).Select(i => $"silo-{i}").ToArray(), DateTimeOffset.UnixEpoch, null, sa);

    [Fact]
    public void WithGraphFor_Auto_CompleteBelow256HararyFrom256_AndHashCoversIt()
    {
        var basePlan = new SecureAggregationPlan(32, 16, 16.0, 201);
        var small = basePlan.WithGraphFor(255, "auto", 0.05, 0.1);
        Assert.Equal(basePlan, small);
        Assert.Same(SecAggGraph.Complete, small.ToGraph());

        var plus = basePlan.WithGraphFor(300, "auto", 0.05, 0.1);
        Assert.Equal((SecureAggregationPlan.HararyGraph, 120, 77), (plus.Graph, plus.GraphDegree, plus.NeighbourhoodThreshold));
        Assert.Equal(64, plus.GraphSeed.Length);
        var graph = plus.ToGraph();
        Assert.Equal(Convert.FromHexString(plus.GraphSeed), graph.Seed.ToArray());

        // Complete-graph plans hash exactly as before the graph fields existed (none is emitted); SecAgg+ fields and
        // their seed are in the hash.
        Assert.Equal(Plan(basePlan).ComputeHash(), Plan(small).ComputeHash());
        Assert.NotEqual(Plan(basePlan).ComputeHash(), Plan(plus).ComputeHash());
        var otherSeed = plus with { GraphSeed = new string('a', 64) };
        Assert.NotEqual(Plan(plus).ComputeHash(), Plan(otherSeed).ComputeHash());
        Assert.NotEqual(Plan(plus).ComputeHash(), Plan(plus with { GraphDegree = 122 }).ComputeHash());

        Assert.Equal(SecureAggregationPlan.CompleteGraph, basePlan.WithGraphFor(300, "complete", 0.05, 0.1).Graph);
        Assert.Equal(SecureAggregationPlan.CompleteGraph, basePlan.WithGraphFor(50, "harary", 0.05, 0.1).Graph);
    }

    [Theory]
    [InlineData("star", 0, 0, "")]
    [InlineData("complete", 8, 0, "")]
    [InlineData("harary", 7, 6, "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("harary", 8, 4, "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("harary", 8, 6, "00")]
    [InlineData("harary", 8, 6, "000000000000000000000000000000000000000000000000000000000000000A")]
    public void Validate_InconsistentGraphFields_Refused(string graph, int degree, int threshold, string seed)
    {
        var sa = new SecureAggregationPlan(Graph: graph, GraphDegree: degree, NeighbourhoodThreshold: threshold, GraphSeed: seed);
        var ex = Assert.Throws<ProtocolViolationException>(() => sa.Validate());
        Assert.Contains("graph", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithGraphFor_UnknownMode_Refused()
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => new SecureAggregationPlan().WithGraphFor(300, "plus", 0.05, 0.1));
        Assert.Contains("complete, harary or auto", ex.Message, StringComparison.Ordinal);
    }
}
