namespace SecureFed.Training;

/// <summary>
/// Record-level differential privacy inside one silo's local training: DP-SGD (Abadi et al. 2016, Algorithm 1) with
/// Poisson sampling, per-example clipping of the gradient over all parameters to <see cref="ClipNorm"/> and Gaussian noise
/// of standard deviation <see cref="NoiseMultiplier"/> x <see cref="ClipNorm"/> per coordinate and step, as Opacus does.
/// Each local epoch is <see cref="StepsPerEpoch"/> steps; each step selects every row independently with probability
/// <see cref="SamplingRate"/> and divides the noisy sum by the expected batch size q x rows. The silo accounts the
/// guarantee from <see cref="RecordPrivacySpend"/> (the subsampled Gaussian mechanism, e.g. with an RDP accountant).
/// Immutable; <see cref="Validate"/> is called by <see cref="TrainingSettings.Validate"/>.
/// </summary>
public sealed record RecordPrivacySettings
{
    /// <summary>Largest accepted noise multiplier.</summary>
    public const double MaxNoiseMultiplier = 1e6;

    /// <summary>Per-example L2 clipping bound C over all parameters, finite and &gt; 0.</summary>
    public required double ClipNorm { get; init; }

    /// <summary>
    /// Noise multiplier sigma &gt;= 0: the noise per coordinate is N(0, (sigma C)^2) before the division by the expected
    /// batch size. 0 means no privacy and is accepted only with a source other than <see cref="RecordPrivacyRandom.Secure"/>
    /// (tests of clipping).
    /// </summary>
    public required double NoiseMultiplier { get; init; }

    /// <summary>Poisson sampling rate q in (0, 1]: the expected batch over the silo's rows (see <see cref="SamplingRateFor"/>).</summary>
    public required double SamplingRate { get; init; }

    /// <summary>
    /// Where the row selection and the noise come from; <see cref="RecordPrivacyRandom.Secure"/> by default. Inject
    /// <see cref="RecordPrivacyRandom.Seeded"/> only in tests and benchmarks.
    /// </summary>
    public IRecordPrivacyRandom Random { get; init; } = RecordPrivacyRandom.Secure;

    /// <summary>Noisy steps per local epoch: round(1/q), at least 1 (Opacus: the Poisson loader's length, 1/q).</summary>
    public int StepsPerEpoch => StepsPerEpochFor(SamplingRate);

    /// <summary>Noisy steps per local epoch at sampling rate <paramref name="samplingRate"/>: round(1/q), at least 1.</summary>
    public static int StepsPerEpochFor(double samplingRate) => (int)Math.Max(1, Math.Round(1 / samplingRate, MidpointRounding.AwayFromZero));

    /// <summary>The sampling rate that gives an expected batch of <paramref name="expectedBatch"/> among <paramref name="rows"/> rows, capped at 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    public static double SamplingRateFor(int expectedBatch, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(expectedBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        return Math.Min(1.0, expectedBatch / (double)rows);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!double.IsFinite(ClipNorm) || ClipNorm <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ClipNorm), ClipNorm, "RecordPrivacy.ClipNorm must be a finite number > 0.");
        }

        if (!double.IsFinite(NoiseMultiplier) || NoiseMultiplier < 0 || NoiseMultiplier > MaxNoiseMultiplier)
        {
            throw new ArgumentOutOfRangeException(nameof(NoiseMultiplier), NoiseMultiplier, $"RecordPrivacy.NoiseMultiplier must be in [0, {MaxNoiseMultiplier}].");
        }

        if (!double.IsFinite(SamplingRate) || SamplingRate <= 0 || SamplingRate > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SamplingRate), SamplingRate, "RecordPrivacy.SamplingRate must be in (0, 1].");
        }

        if (Random is null)
        {
            throw new ArgumentException("RecordPrivacy.Random must be set (the default is RecordPrivacyRandom.Secure).", nameof(Random));
        }

        if (NoiseMultiplier == 0 && ReferenceEquals(Random, RecordPrivacyRandom.Secure))
        {
            throw new ArgumentOutOfRangeException(nameof(NoiseMultiplier), NoiseMultiplier,
                "RecordPrivacy.NoiseMultiplier 0 adds no noise and gives no privacy; use a value > 0 (0 is for tests with a seeded source).");
        }
    }
}

/// <summary>
/// What one DP-SGD local run spent, for the silo's accountant: <see cref="Steps"/> compositions of the Poisson-subsampled
/// Gaussian mechanism with rate <see cref="SamplingRate"/> and noise multiplier <see cref="NoiseMultiplier"/> on
/// examples clipped to <see cref="ClipNorm"/>.
/// </summary>
/// <param name="Steps">Noisy steps taken (epochs x steps per epoch; empty batches count).</param>
/// <param name="SamplingRate">Poisson sampling rate q.</param>
/// <param name="NoiseMultiplier">sigma: noise standard deviation over the clip norm.</param>
/// <param name="ClipNorm">Per-example L2 bound C.</param>
public sealed record RecordPrivacySpend(long Steps, double SamplingRate, double NoiseMultiplier, double ClipNorm);
