using System.Numerics;
using System.Runtime.InteropServices;

namespace SecureFed.Protocol.SecureAggregation.Internal;

/// <summary>
/// Ring elements of Z/2^32 between their ulong form (how <see cref="RingVector"/> holds every ring) and 32-bit words, a
/// SIMD vector at a time: the element-by-element loops cost more of a secure round's client CPU than the masks' own
/// arithmetic. Narrowing keeps the low 32 bits (reduction mod 2^32); widening zero-extends.
/// </summary>
internal static class NarrowWords
{
    /// <summary>destination[i] = (uint)source[i], the low 32 bits; the spans have equal lengths.</summary>
    public static void Narrow(ReadOnlySpan<ulong> source, Span<uint> destination)
    {
        if (destination.Length != source.Length)
        {
            throw new ArgumentException($"{source.Length} elements cannot narrow into {destination.Length}", nameof(destination));
        }

        int i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= 2 * Vector<ulong>.Count)
        {
            var from = MemoryMarshal.Cast<ulong, Vector<ulong>>(source);
            var to = MemoryMarshal.Cast<uint, Vector<uint>>(destination);
            for (int v = 0; v < to.Length; v++)
            {
                to[v] = Vector.Narrow(from[2 * v], from[(2 * v) + 1]);
            }

            i = to.Length * Vector<uint>.Count;
        }

        for (; i < source.Length; i++)
        {
            destination[i] = unchecked((uint)source[i]);
        }
    }

    /// <summary>destination[i] = source[i]; the spans have equal lengths.</summary>
    public static void Widen(ReadOnlySpan<uint> source, Span<ulong> destination)
    {
        if (destination.Length != source.Length)
        {
            throw new ArgumentException($"{source.Length} elements cannot widen into {destination.Length}", nameof(destination));
        }

        int i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<uint>.Count)
        {
            var from = MemoryMarshal.Cast<uint, Vector<uint>>(source);
            var to = MemoryMarshal.Cast<ulong, Vector<ulong>>(destination);
            for (int v = 0; v < from.Length; v++)
            {
                Vector.Widen(from[v], out to[2 * v], out to[(2 * v) + 1]);
            }

            i = from.Length * Vector<uint>.Count;
        }

        for (; i < source.Length; i++)
        {
            destination[i] = source[i];
        }
    }
}
