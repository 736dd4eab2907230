namespace SecureFed.Protocol;

/// <summary>
/// Reassembles a float vector sent in chunks and checks it on the way: the declared total must equal the
/// expected length, chunks must arrive in order without gaps or overlap, no chunk may exceed the chunk limit,
/// and every value must be finite. Errors never quote the values. Not thread-safe: one per upload.
/// </summary>
public sealed class VectorAssembler
{
    private readonly float[] _buffer;
    private readonly int _maxChunk;
    private int _filled;

    /// <summary>Creates an assembler for a vector of <paramref name="expectedLength"/> values.</summary>
    public VectorAssembler(int expectedLength, int maxChunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunk, 1);
        _buffer = new float[expectedLength];
        _maxChunk = maxChunk;
    }

    /// <summary>Whether every value has arrived.</summary>
    public bool IsComplete => _filled == _buffer.Length;

    /// <summary>Adds one chunk. Throws <see cref="ProtocolViolationException"/> on any inconsistency.</summary>
    public void Add(long offset, long totalLength, IReadOnlyList<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (totalLength != _buffer.Length)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                $"vector length {totalLength} does not match the expected {_buffer.Length}");
        }

        if (values.Count > _maxChunk)
        {
            throw new ProtocolViolationException(
                FaultKind.ResourceExhausted, $"chunk of {values.Count} values exceeds the limit of {_maxChunk}");
        }

        if (offset != _filled)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument, $"chunk offset {offset} where {_filled} was expected (gap, overlap or replay)");
        }

        if (values.Count == 0 && _buffer.Length != 0)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "empty chunk");
        }

        if (_filled + values.Count > _buffer.Length)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument,
                $"chunk at offset {offset} with {values.Count} values runs past the vector length {_buffer.Length}");
        }

        // One block copy (a message's repeated field copies itself), then the finiteness check over the span: no
        // per-element interface call. A refused chunk leaves _filled where it was, so its values are never used.
        var target = _buffer.AsSpan(_filled, values.Count);
        if (values is ICollection<float> collection)
        {
            collection.CopyTo(_buffer, _filled);
        }
        else
        {
            for (var i = 0; i < target.Length; i++)
            {
                target[i] = values[i];
            }
        }

        if (FloatVectors.FirstNonFinite(target) is var bad and >= 0)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"non-finite value at index {_filled + bad}");
        }

        _filled += values.Count;
    }

    /// <summary>Returns the assembled vector. Throws if chunks are missing.</summary>
    public float[] ToArray()
    {
        if (!IsComplete)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument, $"vector incomplete: {_filled} of {_buffer.Length} values received");
        }

        return _buffer;
    }

    /// <summary>
    /// Splits <paramref name="vector"/> (model parameters, updates, masked ring elements) into consecutive chunks of
    /// at most <paramref name="maxChunk"/> values; an empty vector is one empty chunk.
    /// </summary>
    public static IEnumerable<(int Offset, ReadOnlyMemory<T> Values)> Chunk<T>(ReadOnlyMemory<T> vector, int maxChunk)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunk, 1);
        if (vector.Length == 0)
        {
            yield return (0, ReadOnlyMemory<T>.Empty);
            yield break;
        }

        for (var offset = 0; offset < vector.Length; offset += maxChunk)
        {
            yield return (offset, vector.Slice(offset, Math.Min(maxChunk, vector.Length - offset)));
        }
    }
}
