namespace SecureFed.Training;

/// <summary>
/// Checks on flat parameter vectors received from elsewhere (a coordinator, a silo). Error messages give lengths and
/// positions but never the values, so a vector's content cannot leak into logs. Thread-safe (stateless).
/// </summary>
public static class ParameterVector
{
    /// <summary>Throws unless <paramref name="vector"/> has <paramref name="expectedLength"/> entries, all finite.</summary>
    /// <param name="vector">The vector to check.</param>
    /// <param name="expectedLength">The model's parameter count.</param>
    /// <param name="paramName">The argument name to report (defaults to <c>vector</c>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="vector"/> is null.</exception>
    /// <exception cref="ArgumentException">Wrong length, or a NaN or infinite entry (the message gives its index only).</exception>
    public static void Validate(float[] vector, int expectedLength, string? paramName = null)
    {
        paramName ??= nameof(vector);
        ArgumentNullException.ThrowIfNull(vector, paramName);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedLength);
        if (vector.Length != expectedLength)
        {
            throw new ArgumentException($"The parameter vector has {vector.Length} entries; the model expects {expectedLength}.", paramName);
        }

        var bad = IndexOfNonFinite(vector);
        if (bad >= 0)
        {
            throw new ArgumentException($"The parameter vector has a non-finite entry (NaN or infinity) at index {bad}.", paramName);
        }
    }

    /// <summary>Index of the first NaN or infinite entry, or -1 when all are finite.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> vector)
    {
        for (var i = 0; i < vector.Length; i++)
        {
            if (!float.IsFinite(vector[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
