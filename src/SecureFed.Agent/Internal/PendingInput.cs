using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Agent.Internal;

/// <summary>
/// One task's vector kept until its secure sum's MaskInput stage: a model update as the trainer gave it (floats), or a
/// statistics or evaluation vector (doubles, which need more than float's 24 bits). Kept as it came, so a million-value
/// update is not widened into a double copy only to be encoded once.
/// </summary>
internal sealed class PendingInput
{
    private readonly float[]? _single;
    private readonly double[]? _double;

    private PendingInput(float[]? single, double[]? @double) => (_single, _double) = (single, @double);

    public static PendingInput Of(float[] values) => new(values ?? throw new ArgumentNullException(nameof(values)), null);

    public static PendingInput Of(double[] values) => new(null, values ?? throw new ArgumentNullException(nameof(values)));

    /// <summary>The vector clamped to the encoder's bound and encoded with stochastic rounding from <paramref name="rng"/>.</summary>
    public RingVector Encode(FixedPointEncoder encoder, IRandomSource rng) =>
        _single is not null ? encoder.EncodeClamped(_single, rng) : encoder.EncodeClamped(_double!, rng);
}
