using System.Security.Cryptography;

namespace SecureFed.Protocol.SecureAggregation.Internal;

/// <summary>
/// The binary SHA-256 hash tree over one sender's encrypted shares, so the sender signs its shares once (the root)
/// instead of once per share, and the server verifies one signature per sender instead of one per share. A recipient
/// checks its share against the signed root with the share's path (log2 of the share count hashes).
/// </summary>
/// <remarks>
/// Leaves are SHA-256(0x00 || payload) and inner nodes SHA-256(0x01 || left || right), the domain separation of
/// RFC 9162 section 2.1.1, so no leaf can pass for a node. A level with an odd count passes its last node up unchanged.
/// The signed root payload names the leaf count, so a path is read against a known tree shape and one leaf cannot be
/// shown at two positions. Stateless and thread-safe.
/// </remarks>
internal static class ShareTree
{
    public const int HashSize = 32;

    public static byte[] Leaf(ReadOnlySpan<byte> payload)
    {
        var input = new byte[payload.Length + 1];
        payload.CopyTo(input.AsSpan(1));
        return SHA256.HashData(input);
    }

    /// <summary>The root over <paramref name="leaves"/> (at least one).</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leaves)
    {
        ArgumentOutOfRangeException.ThrowIfZero(leaves.Count);
        var level = leaves.ToList();
        while (level.Count > 1)
        {
            level = Up(level);
        }

        return level[0];
    }

    /// <summary>For each leaf, the sibling hashes from it to the root, concatenated, lowest first: every path of the
    /// tree from one pass over it (one hash per inner node).</summary>
    public static byte[][] Paths(IReadOnlyList<byte[]> leaves)
    {
        ArgumentOutOfRangeException.ThrowIfZero(leaves.Count);
        var paths = Enumerable.Range(0, leaves.Count).Select(_ => new List<byte>()).ToArray();
        var positions = Enumerable.Range(0, leaves.Count).ToArray();
        var level = leaves.ToList();
        while (level.Count > 1)
        {
            for (int leaf = 0; leaf < positions.Length; leaf++)
            {
                int i = positions[leaf];
                int sibling = i ^ 1;
                if (sibling < level.Count)
                {
                    paths[leaf].AddRange(level[sibling]);
                }

                positions[leaf] = i >> 1;
            }

            level = Up(level);
        }

        return [.. paths.Select(p => p.ToArray())];
    }

    /// <summary>The root a path leads to from <paramref name="leaf"/> at <paramref name="index"/> of a tree of
    /// <paramref name="count"/> leaves; null when the path has the wrong length for that position.</summary>
    public static byte[]? RootFromPath(byte[] leaf, int index, int count, ReadOnlySpan<byte> path)
    {
        if (count < 1 || index < 0 || index >= count || path.Length % HashSize != 0)
        {
            return null;
        }

        var node = leaf;
        int used = 0;
        for (int size = count; size > 1; size = (size + 1) / 2, index >>= 1)
        {
            int sibling = index ^ 1;
            if (sibling >= size)
            {
                continue; // the last node of an odd level goes up unchanged
            }

            if (used + HashSize > path.Length)
            {
                return null;
            }

            var s = path.Slice(used, HashSize);
            used += HashSize;
            node = (index & 1) == 0 ? Node(node, s) : Node(s, node);
        }

        return used == path.Length ? node : null;
    }

    private static List<byte[]> Up(List<byte[]> level)
    {
        var next = new List<byte[]>((level.Count + 1) / 2);
        for (int i = 0; i < level.Count; i += 2)
        {
            next.Add(i + 1 < level.Count ? Node(level[i], level[i + 1]) : level[i]);
        }

        return next;
    }

    private static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> input = stackalloc byte[1 + (2 * HashSize)];
        input[0] = 1;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + HashSize)..]);
        return SHA256.HashData(input);
    }
}
