namespace SecureFed.Training;

/// <summary>
/// Immutable local-training hyper-parameters. Construct with an object initializer or <c>with</c>; <see cref="Validate"/>
/// (called by <see cref="LocalTrainer.Train"/>) rejects out-of-range values with a message naming the setting, its value
/// and the limit.
/// </summary>
public sealed record TrainingSettings
{
    /// <summary>Minibatch stochastic gradient descent, optionally with heavy-ball momentum.</summary>
    public const string Sgd = "sgd";

    /// <summary>Adam (Kingma and Ba 2015) with bias correction; the moments start at zero in every call.</summary>
    public const string Adam = "adam";

    /// <summary>The optimizers <see cref="LocalTrainer"/> runs.</summary>
    public static IReadOnlyList<string> Optimizers { get; } = [Sgd, Adam];

    /// <summary>Largest accepted number of local epochs.</summary>
    public const int MaxEpochs = 1000;

    /// <summary>Largest accepted minibatch size.</summary>
    public const int MaxBatchSize = 1 << 20;

    /// <summary>Local passes over the silo's data per round.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Minibatch size (the last batch of an epoch may be smaller).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>SGD step size, in (0, 100].</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Heavy-ball momentum in [0, 1) for SGD; 0 is plain SGD. The buffer starts at zero in every call.</summary>
    public double Momentum { get; init; }

    /// <summary>L2 weight decay in [0, 1): <c>WeightDecay x parameter</c> is added to every gradient (as PyTorch's SGD and Adam do).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Adam's first-moment decay, in [0, 1).</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam's second-moment decay, in [0, 1).</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>
    /// Seed of the minibatch shuffling and of dropout. Without <see cref="RecordPrivacy"/> training uses no other
    /// randomness, so equal inputs and seed give equal results. Vary it per round and silo (for example derive it from both).
    /// </summary>
    public int Seed { get; init; }

    /// <summary>Optimizer name: <see cref="Sgd"/> or <see cref="Adam"/>.</summary>
    public string Optimizer { get; init; } = Sgd;

    /// <summary>
    /// Record-level DP-SGD inside the silo; null (the default) trains without it, exactly as before. When set, batches
    /// are Poisson samples of rate <see cref="RecordPrivacySettings.SamplingRate"/> (so <see cref="BatchSize"/> and the
    /// shuffling <see cref="Seed"/> are not used; the seed still drives dropout) and every gradient is clipped per
    /// example and noised before the optimizer sees it.
    /// </summary>
    public RecordPrivacySettings? RecordPrivacy { get; init; }

    /// <summary>
    /// Settings tuned for the bundled datasets (features standardized per silo, 5 IID silos, FedAvg, 20 rounds; see
    /// <c>FederatedAveragingTests</c>): plain minibatch SGD, batch 32, no momentum.
    /// <list type="table">
    /// <listheader><term>dataset / model</term><description>epochs, learning rate</description></listheader>
    /// <item><term>breast-cancer / logreg, mlp</term><description>1, 0.1</description></item>
    /// <item><term>german-credit / logreg, mlp</term><description>1, 0.05</description></item>
    /// <item><term>digits / logreg</term><description>2, 0.1</description></item>
    /// <item><term>digits / mlp</term><description>2, 0.2</description></item>
    /// <item><term>anything else</term><description>1, 0.05</description></item>
    /// </list>
    /// </summary>
    /// <param name="datasetName">A <see cref="DatasetCatalog"/> name (for example <c>breast-cancer</c>); case-insensitive.</param>
    /// <param name="modelKind"><see cref="ModelSpec.LogReg"/> or <see cref="ModelSpec.Mlp"/>.</param>
    /// <exception cref="ArgumentException">Unknown model kind.</exception>
    public static TrainingSettings DefaultFor(string datasetName, string modelKind)
    {
        ArgumentNullException.ThrowIfNull(datasetName);
        ArgumentNullException.ThrowIfNull(modelKind);
        var dataset = datasetName.Trim().ToLowerInvariant();
        var kind = modelKind.Trim().ToLowerInvariant();
        if (!ModelSpec.Kinds.Contains(kind))
        {
            throw new ArgumentException($"Unknown model kind '{modelKind}'. Known kinds: {string.Join(", ", ModelSpec.Kinds)}.", nameof(modelKind));
        }

        return (dataset, kind) switch
        {
            (DatasetCatalog.BreastCancer, _) => new() { Epochs = 1, LearningRate = 0.1 },
            (DatasetCatalog.GermanCredit, _) => new() { Epochs = 1, LearningRate = 0.05 },
            (DatasetCatalog.Digits, ModelSpec.LogReg) => new() { Epochs = 2, LearningRate = 0.1 },
            (DatasetCatalog.Digits, ModelSpec.Mlp) => new() { Epochs = 2, LearningRate = 0.2 },
            _ => new() { Epochs = 1, LearningRate = 0.05 },
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Epochs is < 1 or > MaxEpochs)
        {
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, $"Epochs must be in [1, {MaxEpochs}].");
        }

        if (BatchSize is < 1 or > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be in [1, {MaxBatchSize}].");
        }

        if (!double.IsFinite(LearningRate) || LearningRate <= 0 || LearningRate > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a finite number in (0, 100].");
        }

        if (!double.IsFinite(Momentum) || Momentum < 0 || Momentum >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be in [0, 1).");
        }

        if (!Optimizers.Contains(Optimizer?.Trim().ToLowerInvariant()))
        {
            throw new ArgumentException($"Optimizer '{Optimizer}' is not supported; use '{Sgd}' or '{Adam}'.", nameof(Optimizer));
        }

        if (!double.IsFinite(WeightDecay) || WeightDecay < 0 || WeightDecay >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be in [0, 1).");
        }

        if (!double.IsFinite(Beta1) || Beta1 < 0 || Beta1 >= 1 || !double.IsFinite(Beta2) || Beta2 < 0 || Beta2 >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Beta1), $"Adam's betas must be in [0, 1) (now {Beta1}, {Beta2}).");
        }

        RecordPrivacy?.Validate();
    }
}
