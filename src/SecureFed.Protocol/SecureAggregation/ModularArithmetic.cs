namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// Arithmetic in the ring Z/2^k for k in {32, 64}. This is the one place in the project where integer
/// arithmetic wraps: every operation here is inside <c>unchecked</c>, everything else runs with overflow checks.
/// Ring elements are stored as <see cref="ulong"/> values in [0, 2^k); because 2^k divides 2^64, sums can be
/// accumulated mod 2^64 and reduced once at the end (<see cref="Reduce(Span{ulong}, int)"/>). Stateless and
/// thread-safe.
/// </summary>
public static class ModularArithmetic
{
    /// <summary>Whether <paramref name="ringBits"/> is a supported ring size (32 or 64).</summary>
    public static bool IsSupportedRingBits(int ringBits) => ringBits is 32 or 64;

    /// <summary>2^k - 1: the largest ring element, and the mask that reduces mod 2^k.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ringBits"/> is not 32 or 64.</exception>
    public static ulong MaxElement(int ringBits)
    {
        RequireSupported(ringBits);
        return ringBits == 64 ? ulong.MaxValue : (1UL << ringBits) - 1;
    }

    /// <summary>a + b mod 2^k.</summary>
    public static ulong Add(ulong a, ulong b, int ringBits) => unchecked(a + b) & MaxElement(ringBits);

    /// <summary>a - b mod 2^k.</summary>
    public static ulong Subtract(ulong a, ulong b, int ringBits) => unchecked(a - b) & MaxElement(ringBits);

    /// <summary>target[i] = target[i] + addend[i] mod 2^k.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static void AddInPlace(Span<ulong> target, ReadOnlySpan<ulong> addend, int ringBits)
    {
        RequireSameLength(target.Length, addend.Length);
        ulong mask = MaxElement(ringBits);
        for (int i = 0; i < target.Length; i++)
        {
            target[i] = unchecked(target[i] + addend[i]) & mask;
        }
    }

    /// <summary>target[i] = target[i] - subtrahend[i] mod 2^k.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static void SubtractInPlace(Span<ulong> target, ReadOnlySpan<ulong> subtrahend, int ringBits)
    {
        RequireSameLength(target.Length, subtrahend.Length);
        ulong mask = MaxElement(ringBits);
        for (int i = 0; i < target.Length; i++)
        {
            target[i] = unchecked(target[i] - subtrahend[i]) & mask;
        }
    }

    /// <summary>
    /// target[i] = target[i] + word[i] mod 2^64, where <paramref name="words"/> holds k/8 little-endian bytes per
    /// element (<see cref="RingWords"/>); reduce once at the end with <see cref="Reduce(Span{ulong}, int)"/>. Reads the
    /// words in place: this is how a masked input is folded into the running sum without decoding it first.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="words"/> is not exactly target.Length words.</exception>
    public static void AddWordsInPlace(Span<ulong> target, ReadOnlySpan<byte> words, int ringBits)
    {
        int width = RingWords.WordBytes(ringBits);
        if (words.Length != (long)target.Length * width)
        {
            throw new ArgumentException($"{words.Length} bytes are not {target.Length} words of {width} bytes", nameof(words));
        }

        unchecked
        {
            if (width == 8)
            {
                if (BitConverter.IsLittleEndian)
                {
                    var source = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(words);
                    for (int i = 0; i < target.Length; i++)
                    {
                        target[i] += source[i];
                    }

                    return;
                }

                for (int i = 0; i < target.Length; i++)
                {
                    target[i] += System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(words[(i * 8)..]);
                }

                return;
            }

            if (BitConverter.IsLittleEndian)
            {
                var source = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(words);
                int i = 0;
                if (System.Numerics.Vector.IsHardwareAccelerated)
                {
                    // Widen a vector of words into two of ulong lanes and add (vector addition wraps): the scalar loop
                    // did not vectorise and cost twice the 64-bit one.
                    int step = System.Numerics.Vector<uint>.Count;
                    int half = System.Numerics.Vector<ulong>.Count;
                    for (; i <= target.Length - step; i += step)
                    {
                        System.Numerics.Vector.Widen(new System.Numerics.Vector<uint>(source[i..]), out var low, out var high);
                        (new System.Numerics.Vector<ulong>(target[i..]) + low).CopyTo(target[i..]);
                        (new System.Numerics.Vector<ulong>(target[(i + half)..]) + high).CopyTo(target[(i + half)..]);
                    }
                }

                for (; i < target.Length; i++)
                {
                    target[i] += source[i];
                }

                return;
            }

            for (int i = 0; i < target.Length; i++)
            {
                target[i] += System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(words[(i * 4)..]);
            }
        }
    }

    /// <summary>Reduces every value (an element of Z/2^64) mod 2^k in place.</summary>
    public static void Reduce(Span<ulong> values, int ringBits)
    {
        ulong mask = MaxElement(ringBits);
        if (mask == ulong.MaxValue)
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            values[i] &= mask;
        }
    }

    /// <summary>The ring element that represents the signed integer <paramref name="value"/> (two's complement
    /// mod 2^k). Values outside [-2^(k-1), 2^(k-1)) wrap.</summary>
    public static ulong FromSigned(long value, int ringBits) => unchecked((ulong)value) & MaxElement(ringBits);

    /// <summary>The signed integer in [-2^(k-1), 2^(k-1)) that the ring element <paramref name="value"/>
    /// represents (two's complement). Bits above k are ignored.</summary>
    public static long ToSigned(ulong value, int ringBits)
    {
        ulong reduced = value & MaxElement(ringBits);
        if (ringBits == 64)
        {
            return unchecked((long)reduced);
        }

        ulong half = 1UL << (ringBits - 1);
        return reduced >= half ? unchecked((long)reduced - (long)(1UL << ringBits)) : unchecked((long)reduced);
    }

    /// <summary>Whether every value is a ring element, i.e. below 2^k.</summary>
    public static bool AllInRing(ReadOnlySpan<ulong> values, int ringBits)
    {
        ulong mask = MaxElement(ringBits);
        if (mask == ulong.MaxValue)
        {
            return true;
        }

        foreach (ulong v in values)
        {
            if ((v & ~mask) != 0)
            {
                return false;
            }
        }

        return true;
    }

    private static void RequireSupported(int ringBits)
    {
        if (!IsSupportedRingBits(ringBits))
        {
            throw new ArgumentOutOfRangeException(nameof(ringBits), ringBits, "ring bits must be 32 or 64");
        }
    }

    private static void RequireSameLength(int a, int b)
    {
        if (a != b)
        {
            throw new ArgumentException($"ring vectors of lengths {a} and {b} cannot be combined");
        }
    }
}
