namespace SecureFed.Protocol.Tests;

/// <summary>The chunk reassembly the coordinator and agents read vectors with, on its block-copy path.</summary>
public sealed class VectorAssemblerTests
{
    [Fact]
    public void Add_NonFiniteChunk_RefusedAndLeavesNothingBehind()
    {
        var assembler = new VectorAssembler(4, maxChunk: 2);
        assembler.Add(0, 4, new List<float> { 1f, 2f });

        var ex = Assert.Throws<ProtocolViolationException>(() => assembler.Add(2, 4, new List<float> { 3f, float.NaN }));
        Assert.Equal("non-finite value at index 3", ex.Message);

        assembler.Add(2, 4, new List<float> { 3f, 4f });
        Assert.Equal([1f, 2f, 3f, 4f], assembler.ToArray());
    }
}
