using System.Security.Cryptography;
using SecureFed.Protocol.SecureAggregation.Internal;

namespace SecureFed.Protocol.Tests;

public class ShareTreeTests
{
    private static byte[][] Leaves(int count) => [.. Enumerable.Range(0, count).Select(i => ShareTree.Leaf(BitConverter.GetBytes(i)))];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(99)]
    [InlineData(128)]
    [InlineData(129)]
    public void EveryPath_LeadsFromItsLeafToTheRoot(int count)
    {
        var leaves = Leaves(count);
        var root = ShareTree.Root(leaves);
        var paths = ShareTree.Paths(leaves);

        for (int i = 0; i < count; i++)
        {
            Assert.Equal(root, ShareTree.RootFromPath(leaves[i], i, count, paths[i]));
        }

        Assert.Equal(count == 1 ? 0 : (int)Math.Ceiling(Math.Log2(count)) * ShareTree.HashSize, paths[0].Length);
    }

    [Fact]
    public void RootOfOneLeaf_IsTheLeaf_AndTwoLeavesHashAsANode()
    {
        var leaves = Leaves(2);
        Assert.Equal(leaves[0], ShareTree.Root([leaves[0]]));
        Assert.Equal(SHA256.HashData([1, .. leaves[0], .. leaves[1]]), ShareTree.Root(leaves));
        Assert.Equal(SHA256.HashData([0, .. BitConverter.GetBytes(0)]), leaves[0]);
    }

    [Fact]
    public void APath_ReadAtAnotherPositionOrTreeSize_DoesNotReachTheRoot()
    {
        var leaves = Leaves(11);
        var root = ShareTree.Root(leaves);
        var paths = ShareTree.Paths(leaves);

        Assert.NotEqual(root, ShareTree.RootFromPath(leaves[4], 5, 11, paths[4]));
        Assert.NotEqual(root, ShareTree.RootFromPath(leaves[5], 4, 11, paths[4]));
        Assert.Null(ShareTree.RootFromPath(leaves[10], 10, 11, paths[4])); // the last leaf of 11 has a shorter path
        Assert.Null(ShareTree.RootFromPath(leaves[4], 4, 11, paths[4].AsSpan(0, 64)));
        Assert.Null(ShareTree.RootFromPath(leaves[4], 11, 11, paths[4]));
        Assert.Null(ShareTree.RootFromPath(leaves[4], -1, 11, paths[4]));
        var flipped = (byte[])paths[4].Clone();
        flipped[^1] ^= 1;
        Assert.NotEqual(root, ShareTree.RootFromPath(leaves[4], 4, 11, flipped));
    }
}
