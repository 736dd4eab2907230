using System.Security.Cryptography;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation.Internal;

/// <summary>
/// The random Harary graph H(n, k) of SecAgg+ (Bell et al., CCS 2020, section 3.2): participants are placed on a
/// ring in the order of SHA-256(label, seed, id), and each is joined to the k/2 ring positions on either side.
/// Deterministic in (participants, k, seed), so every party and a verifier derive the same graph. Stateless.
/// </summary>
internal static class HararyGraph
{
    /// <summary>For each participant (0-based in <paramref name="sortedParticipants"/>), the sorted 0-based indices
    /// of its closed neighbourhood (itself and its k neighbours).</summary>
    public static int[][] Neighbourhoods(IReadOnlyList<string> sortedParticipants, int degree, ReadOnlySpan<byte> seed)
    {
        int n = sortedParticipants.Count;
        var seedBytes = seed.ToArray();
        var keys = new byte[n][];
        for (int i = 0; i < n; i++)
        {
            keys[i] = SHA256.HashData(SignedPayload.Encode(
                SignedPayload.Utf8("securefed/v1/secagg/harary-order"), seedBytes, SignedPayload.Utf8(sortedParticipants[i])));
        }

        // Ring order: by hash, ties (never in practice) broken by the participant's own position.
        var ring = Enumerable.Range(0, n).ToArray();
        Array.Sort(ring, (a, b) =>
        {
            int c = keys[a].AsSpan().SequenceCompareTo(keys[b]);
            return c != 0 ? c : a.CompareTo(b);
        });

        int half = degree / 2;
        var result = new int[n][];
        for (int position = 0; position < n; position++)
        {
            var members = new int[(2 * half) + 1];
            for (int offset = -half; offset <= half; offset++)
            {
                members[offset + half] = ring[(((position + offset) % n) + n) % n];
            }

            Array.Sort(members);
            result[ring[position]] = members;
        }

        return result;
    }
}
