namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// An immutable vector over the ring Z/2^k (k = 32 or 64), every element in [0, 2^k). Arithmetic is delegated
/// to <see cref="ModularArithmetic"/>. Thread-safe (immutable). Note that a ring vector may hold a client's
/// encoded update: never log it.
/// </summary>
public sealed class RingVector : IEquatable<RingVector>
{
    private readonly ulong[] _values;

    /// <summary>Copies <paramref name="values"/>, each of which must be below 2^k.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ringBits"/> is not 32 or 64.</exception>
    /// <exception cref="ArgumentException">A value is not below 2^k.</exception>
    public RingVector(int ringBits, ReadOnlySpan<ulong> values)
    {
        _ = ModularArithmetic.MaxElement(ringBits);
        if (!ModularArithmetic.AllInRing(values, ringBits))
        {
            throw new ArgumentException($"a value is not below 2^{ringBits}", nameof(values));
        }

        RingBits = ringBits;
        _values = values.ToArray();
    }

    private RingVector(int ringBits, ulong[] owned, bool takeOwnership)
    {
        System.Diagnostics.Debug.Assert(takeOwnership);
        RingBits = ringBits;
        _values = owned;
    }

    /// <summary>k: the ring is Z/2^k.</summary>
    public int RingBits { get; }

    /// <summary>Number of elements.</summary>
    public int Length => _values.Length;

    /// <summary>The elements, each in [0, 2^k).</summary>
    public ReadOnlySpan<ulong> Values => _values;

    /// <summary>Element <paramref name="index"/>.</summary>
    public ulong this[int index] => _values[index];

    /// <summary>The zero vector.</summary>
    public static RingVector Zero(int ringBits, int length)
    {
        _ = ModularArithmetic.MaxElement(ringBits);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new RingVector(ringBits, new ulong[length], takeOwnership: true);
    }

    /// <summary>Represents signed integers (two's complement mod 2^k).</summary>
    public static RingVector FromSigned(int ringBits, ReadOnlySpan<long> values)
    {
        _ = ModularArithmetic.MaxElement(ringBits);
        var owned = new ulong[values.Length];
        for (int i = 0; i < owned.Length; i++)
        {
            owned[i] = ModularArithmetic.FromSigned(values[i], ringBits);
        }

        return new RingVector(ringBits, owned, takeOwnership: true);
    }

    /// <summary>Element-wise sum mod 2^k.</summary>
    /// <exception cref="ArgumentException">Ring sizes or lengths differ.</exception>
    public RingVector Add(RingVector other)
    {
        RequireCompatible(other);
        var result = (ulong[])_values.Clone();
        ModularArithmetic.AddInPlace(result, other._values, RingBits);
        return new RingVector(RingBits, result, takeOwnership: true);
    }

    /// <summary>Element-wise difference mod 2^k.</summary>
    /// <exception cref="ArgumentException">Ring sizes or lengths differ.</exception>
    public RingVector Subtract(RingVector other)
    {
        RequireCompatible(other);
        var result = (ulong[])_values.Clone();
        ModularArithmetic.SubtractInPlace(result, other._values, RingBits);
        return new RingVector(RingBits, result, takeOwnership: true);
    }

    /// <summary>The elements as signed integers in [-2^(k-1), 2^(k-1)).</summary>
    public long[] ToSigned()
    {
        var result = new long[_values.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = ModularArithmetic.ToSigned(_values[i], RingBits);
        }

        return result;
    }

    /// <summary>The canonical wire encoding: k/8 little-endian bytes per element.</summary>
    public byte[] ToBytes() => ToBytes(_values, RingBits);

    /// <summary>The canonical encoding of raw ring elements: k/8 little-endian bytes per element.</summary>
    public static byte[] ToBytes(ReadOnlySpan<ulong> values, int ringBits) => RingWords.Encode(values, ringBits);

    /// <summary>Copies the elements into a new array.</summary>
    public ulong[] ToArray() => (ulong[])_values.Clone();

    /// <summary>The vector's own array, for a caller that consumes the vector (<see cref="SecAggClient.MaskInput(ShareKeysDelivery, RingVector, bool)"/>).</summary>
    internal ulong[] OwnArray => _values;

    /// <inheritdoc />
    public bool Equals(RingVector? other) =>
        other is not null && other.RingBits == RingBits && other._values.AsSpan().SequenceEqual(_values);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RingVector other && Equals(other);

    /// <summary>Depends on the ring size and length only.</summary>
    public override int GetHashCode() => HashCode.Combine(RingBits, _values.Length);

    /// <summary>Prints the ring and length, never the elements.</summary>
    public override string ToString() => $"RingVector(Z/2^{RingBits}, length={_values.Length})";

    internal static RingVector Adopt(int ringBits, ulong[] owned) => new(ringBits, owned, takeOwnership: true);

    private void RequireCompatible(RingVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.RingBits != RingBits || other.Length != Length)
        {
            throw new ArgumentException(
                $"cannot combine Z/2^{RingBits} length {Length} with Z/2^{other.RingBits} length {other.Length}", nameof(other));
        }
    }
}
