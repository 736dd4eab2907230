using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using SecureFed.Crypto;

namespace SecureFed.Protocol.SecureAggregation;

/// <summary>
/// Encodes real values into the ring Z/2^k as fixed-point integers q = round(x · 2^f) with unbiased stochastic
/// rounding (round up with probability equal to the fractional part, so E[q] = x · 2^f), and decodes a sum of
/// such encodings back (DESIGN.md section 3, "Fixed point").
/// </summary>
/// <remarks>
/// <para>Guarantees: every encoded coordinate satisfies |q/2^f - x| &lt; 2^-f, so rounding grows an update's L2
/// norm by less than sqrt(d)·2^-f for d coordinates; |q| ≤ ceil(B · 2^f) for the configured bound B, which is
/// what <see cref="OverflowGuard"/> checks. Values that are not finite or exceed B in absolute value are refused
/// (clip first, and account for noise in B). Decoding interprets ring elements as two's-complement signed
/// integers, so a sum decodes exactly as long as the plan passed <see cref="OverflowGuard.Check"/>.</para>
/// <para>Thread-safe (immutable); the randomness comes from the <see cref="IRandomSource"/> passed to
/// <see cref="Encode(ReadOnlySpan{double}, IRandomSource)"/>.</para>
/// </remarks>
public sealed class FixedPointEncoder
{
    private const int RandomBatch = 1024;

    /// <summary>Creates an encoder.</summary>
    /// <param name="scaleBits">f: values are scaled by 2^f (0..52).</param>
    /// <param name="ringBits">k: 32 or 64.</param>
    /// <param name="maxAbsValue">B: the largest |x| accepted (for example the clip norm).</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or a single value of size B
    /// does not fit in [-2^(k-1), 2^(k-1)).</exception>
    public FixedPointEncoder(int scaleBits, int ringBits, double maxAbsValue)
    {
        if (!ModularArithmetic.IsSupportedRingBits(ringBits))
        {
            throw new ArgumentOutOfRangeException(nameof(ringBits), ringBits, "ring bits must be 32 or 64");
        }

        if (scaleBits is < 0 or > 52)
        {
            throw new ArgumentOutOfRangeException(nameof(scaleBits), scaleBits, "scale bits must be in 0..52");
        }

        if (!double.IsFinite(maxAbsValue) || maxAbsValue <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAbsValue), maxAbsValue, "the value bound must be finite and positive");
        }

        OverflowGuard.Check(1, maxAbsValue, scaleBits, ringBits);
        ScaleBits = scaleBits;
        RingBits = ringBits;
        MaxAbsValue = maxAbsValue;
    }

    /// <summary>f: the scale is 2^f.</summary>
    public int ScaleBits { get; }

    /// <summary>k: the ring is Z/2^k.</summary>
    public int RingBits { get; }

    /// <summary>B: the largest accepted |x|.</summary>
    public double MaxAbsValue { get; }

    /// <summary>Encodes <paramref name="values"/> with stochastic rounding driven by <paramref name="rng"/>.</summary>
    /// <exception cref="ArgumentException">A value is not finite or exceeds the bound (the message names the
    /// index and the bound, never the value).</exception>
    public RingVector Encode(ReadOnlySpan<float> values, IRandomSource rng) => Encode(values, rng, clamp: false);

    /// <summary>Encodes double-precision <paramref name="values"/> (statistics and evaluation sums need more than float's 24 bits).</summary>
    /// <exception cref="ArgumentException">A value is not finite or exceeds the bound (the message names the index and the bound, never the value).</exception>
    public RingVector Encode(ReadOnlySpan<double> values, IRandomSource rng) => Encode(values, rng, clamp: false);

    /// <summary>
    /// Encodes <paramref name="values"/> after clamping each to [-B, B] (as <see cref="Math.Clamp(double, double, double)"/>:
    /// an infinity becomes the bound), in the same pass: what a silo does with its update before masking it, without a
    /// clamped copy of the vector.
    /// </summary>
    /// <exception cref="ArgumentException">A value is NaN (the message names the index, never the value).</exception>
    public RingVector EncodeClamped(ReadOnlySpan<double> values, IRandomSource rng) => Encode(values, rng, clamp: true);

    /// <summary>As <see cref="EncodeClamped(ReadOnlySpan{double}, IRandomSource)"/> for a float vector (a model update),
    /// each value widened as it is read: no double copy of the update.</summary>
    /// <exception cref="ArgumentException">A value is NaN (the message names the index, never the value).</exception>
    public RingVector EncodeClamped(ReadOnlySpan<float> values, IRandomSource rng) => Encode(values, rng, clamp: true);

    // One loop for float and double input: the JIT compiles it once per element type, so widening costs no pass of its own.
    private RingVector Encode<T>(ReadOnlySpan<T> values, IRandomSource rng, bool clamp)
        where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(rng);
        double scale = Math.ScaleB(1.0, ScaleBits);
        ulong ring = ModularArithmetic.MaxElement(RingBits); // once, not per element
        var result = new ulong[values.Length];
        Span<ulong> random = stackalloc ulong[RandomBatch];
        for (int start = 0; start < values.Length; start += RandomBatch)
        {
            int count = Math.Min(RandomBatch, values.Length - start);
            var batch = random[..count];
            rng.Fill(MemoryMarshal.AsBytes(batch));
            // Whole SIMD vectors first (the same arithmetic, so the same result bit for bit); the scalar loop takes the
            // tail, and from the first vector holding a value out of bounds, so that its error names the index.
            int j = Vector.IsHardwareAccelerated && BitConverter.IsLittleEndian
                ? EncodeVectors(values.Slice(start, count), batch, result.AsSpan(start, count), clamp, scale, ring)
                : 0;
            for (; j < count; j++)
            {
                int i = start + j;
                double value = double.CreateTruncating(values[i]);
                double x = clamp ? Math.Clamp(value, -MaxAbsValue, MaxAbsValue) : value;
                if (!double.IsFinite(x) || Math.Abs(x) > MaxAbsValue)
                {
                    throw new ArgumentException(
                        string.Create(CultureInfo.InvariantCulture, $"value at index {i} is not finite or exceeds the bound {MaxAbsValue}"),
                        nameof(values));
                }

                // x·2^f is exact in double for f ≤ 52 (only the exponent changes).
                double scaled = x * scale;
                double floor = Math.Floor(scaled);
                double fraction = scaled - floor;
                ulong draw = BitConverter.IsLittleEndian ? batch[j] : BinaryPrimitives.ReverseEndianness(batch[j]); // bytes read little-endian
                double uniform = (draw >> 11) * (1.0 / (1UL << 53));
                long q = checked((long)floor + (uniform < fraction ? 1 : 0));
                result[i] = unchecked((ulong)q) & ring; // ModularArithmetic.FromSigned
            }
        }

        random.Clear();
        return RingVector.Adopt(RingBits, result);
    }

    /// <summary>The scalar loop's arithmetic on <see cref="Vector{T}"/> lanes, over whole vectors of <paramref name="values"/>;
    /// returns how many elements it encoded (it stops before a vector holding a NaN or a value beyond the bound).</summary>
    private int EncodeVectors<T>(ReadOnlySpan<T> values, ReadOnlySpan<ulong> random, Span<ulong> result, bool clamp, double scale, ulong ring)
        where T : unmanaged, INumberBase<T>
    {
        int lanes = Vector<double>.Count;
        var bound = new Vector<double>(MaxAbsValue);
        var scaleVector = new Vector<double>(scale);
        var unit = new Vector<double>(1.0 / (1UL << 53));
        var ringMask = new Vector<ulong>(ring);
        var doubles = typeof(T) == typeof(double) ? MemoryMarshal.Cast<T, double>(values) : default;
        var floats = typeof(T) == typeof(float) ? MemoryMarshal.Cast<T, float>(values) : default;
        int done = 0;
        for (; done + (2 * lanes) <= values.Length; done += 2 * lanes)
        {
            Vector<double> low, high;
            if (typeof(T) == typeof(float))
            {
                Vector.Widen(new Vector<float>(floats[done..]), out low, out high);
            }
            else
            {
                low = new Vector<double>(doubles[done..]);
                high = new Vector<double>(doubles[(done + lanes)..]);
            }

            if (!EncodeLanes(low, random[done..], result[done..], clamp, bound, scaleVector, unit, ringMask)
                || !EncodeLanes(high, random[(done + lanes)..], result[(done + lanes)..], clamp, bound, scaleVector, unit, ringMask))
            {
                return done;
            }
        }

        return done;
    }

    private static bool EncodeLanes(
        Vector<double> x, ReadOnlySpan<ulong> random, Span<ulong> result, bool clamp, Vector<double> bound, Vector<double> scale, Vector<double> unit, Vector<ulong> ring)
    {
        if (!Vector.EqualsAll(x, x))
        {
            return false; // a NaN, whatever Min and Max would make of it
        }

        if (clamp)
        {
            x = Vector.Min(Vector.Max(x, -bound), bound);
        }

        if (!Vector.LessThanOrEqualAll(Vector.Abs(x), bound))
        {
            return false;
        }

        var scaled = x * scale;
        var floor = Vector.Floor(scaled);
        var fraction = scaled - floor;
        var uniform = Vector.ConvertToDouble(Vector.ShiftRightLogical(new Vector<ulong>(random), 11)) * unit;
        // A true comparison is all ones, -1 as a long: subtracting it rounds up.
        var q = Vector.ConvertToInt64(floor) - Vector.AsVectorInt64(Vector.LessThan(uniform, fraction));
        (Vector.AsVectorUInt64(q) & ring).CopyTo(result);
        return true;
    }

    /// <summary>Decodes a ring vector (one encoding or a sum of encodings) to real values q / 2^f.</summary>
    /// <exception cref="ArgumentException">The vector is over a different ring.</exception>
    public double[] Decode(RingVector encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (encoded.RingBits != RingBits)
        {
            throw new ArgumentException($"the vector is over Z/2^{encoded.RingBits}, the encoder over Z/2^{RingBits}", nameof(encoded));
        }

        var result = new double[encoded.Length];
        var values = encoded.Values;
        double unit = Math.ScaleB(1.0, -ScaleBits); // exact: a power of two
        if (RingBits == 64)
        {
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = unchecked((long)values[i]) * unit;
            }
        }
        else
        {
            // ModularArithmetic.ToSigned, with the ring's constants hoisted out of the loop.
            ulong ring = ModularArithmetic.MaxElement(RingBits);
            ulong half = 1UL << (RingBits - 1);
            long modulus = unchecked((long)(1UL << RingBits));
            for (int i = 0; i < result.Length; i++)
            {
                ulong reduced = values[i] & ring;
                result[i] = (reduced >= half ? unchecked((long)reduced - modulus) : unchecked((long)reduced)) * unit;
            }
        }

        return result;
    }
}

/// <summary>
/// Refuses a plan whose fixed-point sum could wrap around the ring (DESIGN.md section 3): with |U| participants,
/// per-coordinate bound B and scale 2^f, each encoded coordinate is at most ceil(B·2^f) in absolute value
/// (stochastic rounding rounds up by less than one unit), so the sum stays decodable iff
/// |U| · ceil(B·2^f) &lt; 2^(k-1). Stateless and thread-safe.
/// </summary>
public static class OverflowGuard
{
    /// <summary>The largest |q| an encoding of a value bounded by <paramref name="maxAbsValue"/> can have.</summary>
    public static BigInteger MaxEncodedMagnitude(double maxAbsValue, int scaleBits)
    {
        if (!double.IsFinite(maxAbsValue) || maxAbsValue < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxAbsValue), maxAbsValue, "the value bound must be finite and non-negative");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(scaleBits);
        double scaled = Math.ScaleB(maxAbsValue, scaleBits);

        // Past double's range the exact bound does not matter (it is far above any ring); ceil(B)·2^f bounds it.
        return double.IsFinite(scaled) ? new BigInteger(Math.Ceiling(scaled)) : new BigInteger(Math.Ceiling(maxAbsValue)) << scaleBits;
    }

    /// <summary>Whether |U| · ceil(B·2^f) &lt; 2^(k-1).</summary>
    public static bool IsSafe(int participants, double maxAbsValue, int scaleBits, int ringBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(participants, 1);
        if (!ModularArithmetic.IsSupportedRingBits(ringBits))
        {
            throw new ArgumentOutOfRangeException(nameof(ringBits), ringBits, "ring bits must be 32 or 64");
        }

        return participants * MaxEncodedMagnitude(maxAbsValue, scaleBits) < BigInteger.One << (ringBits - 1);
    }

    /// <summary>Throws unless |U| · ceil(B·2^f) &lt; 2^(k-1); the message names every number.</summary>
    /// <exception cref="ProtocolViolationException">The plan can wrap around (FailedPrecondition).</exception>
    public static void Check(int participants, double maxAbsValue, int scaleBits, int ringBits)
    {
        if (!IsSafe(participants, maxAbsValue, scaleBits, ringBits))
        {
            var maxQ = MaxEncodedMagnitude(maxAbsValue, scaleBits);
            throw new ProtocolViolationException(
                FaultKind.FailedPrecondition,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"the sum can wrap around: participants {participants} x max |q| {maxQ} (bound {maxAbsValue} at scale 2^{scaleBits}) = {participants * maxQ} is not below 2^{ringBits - 1} = {BigInteger.One << (ringBits - 1)} (ring bits {ringBits}); lower the scale bits or the bound, or use 64 ring bits"));
        }
    }
}
