namespace SecureFed.Training;

/// <summary>Initial global models. Thread-safe (stateless).</summary>
public static class ModelFactory
{
    /// <summary>
    /// Deterministic initial parameters for <paramref name="spec"/>: every weight and bias of a layer with fan-in n is drawn
    /// uniformly from [-1/sqrt(n), 1/sqrt(n)) (PyTorch's default for <c>nn.Linear</c> and <c>nn.Conv2d</c>; a convolution's fan-in is in-channels x kernel²) by a <see cref="Random"/> seeded with
    /// <paramref name="seed"/>, so the same seed gives the same vector on every machine and .NET version.
    /// </summary>
    public static float[] InitialParameters(ModelSpec spec, int seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var random = new Random(seed);
        var result = new float[spec.ParameterCount];
        var offset = 0L;
        foreach (var layer in spec.Layers)
        {
            var (fanIn, size) = layer switch
            {
                DenseLayer d => ((long)d.In, d.ParameterCount),
                ConvLayer c => (c.FanIn, c.ParameterCount),
                _ => (0L, 0L),
            };
            if (size == 0)
            {
                continue;
            }

            var bound = 1.0 / Math.Sqrt(fanIn);
            for (var i = 0L; i < size; i++)
            {
                result[offset + i] = (float)(((2.0 * random.NextDouble()) - 1.0) * bound);
            }

            offset += size;
        }

        return result;
    }
}
