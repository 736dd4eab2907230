using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

public class SecAggParametersTests
{
    private static readonly string[] Five = ["e", "a", "c", "b", "d"];

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(5, 4)]
    [InlineData(10, 7)]
    [InlineData(100, 67)]
    public void DefaultThreshold_IsFloorTwoThirdsPlusOne(int n, int expected)
    {
        Assert.Equal(expected, SecAggParameters.DefaultThreshold(n));
    }

    [Fact]
    public void Create_UnsortedParticipants_SortsOrdinallyAndAssignsShareIndices()
    {
        var p = SecAggParameters.Create("fed", 1, Five, 8);
        Assert.Equal(["a", "b", "c", "d", "e"], p.Participants);
        Assert.Equal(4, p.Threshold);
        Assert.Equal(1, p.ShareIndexOf("a"));
        Assert.Equal(5, p.ShareIndexOf("e"));
        Assert.Throws<ArgumentException>(() => p.ShareIndexOf("z"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void Create_ThresholdAtOrBelowHalf_RefusesNamingTheLimit(int t)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SecAggParameters.Create("fed", 1, Five, 8, threshold: t));
        Assert.Contains($"threshold {t} must exceed half of the 5 participants (at least 3)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_ThresholdAboveParticipants_Refuses()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SecAggParameters.Create("fed", 1, Five, 8, threshold: 6));
        Assert.Contains("threshold 6 exceeds the 5 participants", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_DuplicateParticipant_Refuses()
    {
        Assert.Throws<ArgumentException>(() => SecAggParameters.Create("fed", 1, ["a", "b", "a"], 8));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65536)]
    public void Create_ParticipantCountOutOfRange_Refuses(int n)
    {
        var ids = Enumerable.Range(0, n).Select(i => $"p{i}");
        Assert.Throws<ArgumentOutOfRangeException>(() => SecAggParameters.Create("fed", 1, ids, 8));
    }

    [Theory]
    [InlineData(16, 16, 0)]
    [InlineData(64, -1, 8)]
    [InlineData(64, 53, 8)]
    public void Create_BadRingScaleOrLength_Refuses(int ringBits, int scaleBits, int length)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SecAggParameters.Create("fed", 1, Five, length == 0 ? 8 : length, ringBits, scaleBits));
    }

    [Fact]
    public void Context_DiffersByRoundFederationAndParticipants()
    {
        var a = SecAggParameters.Create("fed", 1, Five, 8).Context.ToArray();
        Assert.Equal(a, SecAggParameters.Create("fed", 1, Five, 8).Context.ToArray());
        Assert.NotEqual(a, SecAggParameters.Create("fed", 2, Five, 8).Context.ToArray());
        Assert.NotEqual(a, SecAggParameters.Create("other", 1, Five, 8).Context.ToArray());
        Assert.NotEqual(a, SecAggParameters.Create("fed", 1, ["a", "b", "c", "d", "f"], 8).Context.ToArray());
        Assert.NotEqual(a, SecAggParameters.Create("fed", 1, Five, 8, threshold: 5).Context.ToArray());
    }

    [Fact]
    public void CreateEncoder_PlanThatCanWrap_RefusedNamingParticipants()
    {
        var ids = Enumerable.Range(0, 20).Select(i => $"p{i:D2}");
        var p = SecAggParameters.Create("fed", 1, ids, 8, ringBits: 32, scaleBits: 27);
        var ex = Assert.Throws<ProtocolViolationException>(() => p.CreateEncoder(1.0));
        Assert.Contains("participants 20", ex.Message, StringComparison.Ordinal);
        var safe = SecAggParameters.Create("fed", 1, ids, 8, ringBits: 32, scaleBits: 20).CreateEncoder(1.0);
        Assert.Equal(20, safe.ScaleBits);
    }
}
