using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// The fixed-width wire encoding of ring elements: k/8 little-endian bytes per element of Z/2^k (4 for k = 32, 8 for
/// k = 64). Every word of that width is an element of the ring, so a decoder needs no range check, only a whole
/// number of words. Stateless and thread-safe.
/// </summary>
public static class RingWords
{
    /// <summary>Bytes per element: k/8.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ringBits"/> is not 32 or 64.</exception>
    public static int WordBytes(int ringBits)
    {
        _ = ModularArithmetic.MaxElement(ringBits);
        return ringBits / 8;
    }

    /// <summary>The number of bytes <paramref name="elements"/> elements take.</summary>
    public static int ByteCount(int elements, int ringBits) => checked(elements * WordBytes(ringBits));

    /// <summary>Writes <paramref name="values"/> (each reduced mod 2^k) as words into <paramref name="destination"/>,
    /// which must be exactly <see cref="ByteCount"/> bytes.</summary>
    /// <exception cref="ArgumentException">The destination is not exactly the encoded size.</exception>
    public static void Encode(ReadOnlySpan<ulong> values, int ringBits, Span<byte> destination)
    {
        int width = WordBytes(ringBits);
        if (destination.Length != checked(values.Length * width))
        {
            throw new ArgumentException($"{values.Length} elements of Z/2^{ringBits} take {values.Length * width} bytes, not {destination.Length}", nameof(destination));
        }

        if (width == 8)
        {
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.AsBytes(values).CopyTo(destination);
                return;
            }

            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(destination[(i * 8)..], values[i]);
            }

            return;
        }

        if (BitConverter.IsLittleEndian)
        {
            Internal.NarrowWords.Narrow(values, MemoryMarshal.Cast<byte, uint>(destination));
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(i * 4)..], (uint)(values[i] & uint.MaxValue));
        }
    }

    /// <summary>The words of <paramref name="values"/> in a new array.</summary>
    public static byte[] Encode(ReadOnlySpan<ulong> values, int ringBits)
    {
        var bytes = new byte[ByteCount(values.Length, ringBits)];
        Encode(values, ringBits, bytes);
        return bytes;
    }

    /// <summary>The number of elements in <paramref name="byteLength"/> bytes of words, or null when that is not a whole
    /// number of words.</summary>
    public static int? ElementCount(int byteLength, int ringBits)
    {
        int width = WordBytes(ringBits);
        return byteLength % width == 0 ? byteLength / width : null;
    }

    /// <summary>Reads words into <paramref name="destination"/>, which must hold exactly as many elements.</summary>
    /// <exception cref="ArgumentException">The lengths do not match.</exception>
    public static void Decode(ReadOnlySpan<byte> words, int ringBits, Span<ulong> destination)
    {
        destination.Clear();
        ModularArithmetic.AddWordsInPlace(destination, words, ringBits);
    }
}
