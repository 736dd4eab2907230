using Google.Protobuf;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;

namespace SecureFed.Federation.Tests;

/// <summary>Chunk vectors filled by one block copy encode exactly as the per-element way did (the wire is unchanged).</summary>
public sealed class WireVectorsTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 5)]
    [InlineData(100, 1000)]
    public void Append_SliceOfAVector_EncodesAsAddRangeOfItsCopy(int offset, int count)
    {
        var vector = Enumerable.Range(0, 2000).Select(i => (i * 0.37f) - 100f).ToArray();
        var slice = vector.AsMemory(offset, count);

        var fast = new UpdateChunk { Offset = (uint)offset, TotalLength = 2000 };
        fast.Values.Add(-1f);
        WireVectors.Append(fast.Values, slice);
        var reference = new UpdateChunk { Offset = (uint)offset, TotalLength = 2000 };
        reference.Values.Add(-1f);
        reference.Values.AddRange(slice.ToArray());

        Assert.Equal(reference.ToByteArray(), fast.ToByteArray());
        Assert.Equal([-1f, .. vector.AsSpan(offset, count)], UpdateChunk.Parser.ParseFrom(fast.ToByteArray()).Values);
    }
}
