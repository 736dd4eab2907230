using SecureFed.Contracts.V1;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Federation.Tests;

/// <summary>Reads a masked chunk's elements the way the coordinator does: its fixed-width words.</summary>
internal static class MaskedWords
{
    public static ulong[] Decode(MaskedInputChunk chunk, int ringBits)
    {
        var values = new ulong[RingWords.ElementCount(chunk.Words.Length, ringBits) ?? throw new InvalidOperationException("not whole words")];
        RingWords.Decode(chunk.Words.Span, ringBits, values);
        return values;
    }
}
