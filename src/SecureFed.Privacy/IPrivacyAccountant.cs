namespace SecureFed.Privacy;

/// <summary>
/// Tracks the privacy loss of a sequence of Gaussian mechanism applications ("steps" or rounds), each with a noise
/// multiplier z (noise standard deviation divided by the L2 sensitivity) and a sampling rate q.
/// Implementations are thread-safe: <see cref="Record"/> and the queries may be called concurrently.
/// Every answer can be recomputed from <see cref="History"/> alone with
/// <see cref="PrivacyAccountants.ComputeEpsilon"/>, so an auditor needs only the logged parameters.
/// </summary>
public interface IPrivacyAccountant
{
    /// <summary>Which accounting method this is.</summary>
    AccountantKind Kind { get; }

    /// <summary>
    /// A snapshot of the recorded steps, consecutive identical (z, q) entries merged as Opacus does.
    /// </summary>
    IReadOnlyList<(double z, double q, int steps)> History { get; }

    /// <summary>Records <paramref name="steps"/> applications with noise multiplier z and sampling rate q.</summary>
    /// <exception cref="ArgumentOutOfRangeException">z is not finite and positive, q is outside (0, 1] (or, for the
    /// exact accountant, not 1), or steps &lt; 1.</exception>
    void Record(double noiseMultiplier, double samplingRate, int steps = 1);

    /// <summary>The epsilon spent so far at the given delta (0 when nothing has been recorded).</summary>
    /// <exception cref="ArgumentOutOfRangeException">delta is outside (0, 1).</exception>
    double GetEpsilon(double delta);
}
