namespace SecureFed.Training;

/// <summary>
/// An immutable, validated model architecture. Parameters travel as one flat <c>float[]</c> laid out like PyTorch's
/// <c>parameters_to_vector</c>: for each linear layer in order, its weight (out x in, row-major) then its bias (out).
/// <list type="bullet">
/// <item><c>logreg</c>: one linear layer InputDim -> ClassCount with softmax cross-entropy (multinomial logistic
/// regression; two classes are handled like any other count). ParameterCount = C*D + C.</item>
/// <item><c>mlp</c>: Linear(InputDim -> Hidden), ReLU, Linear(Hidden -> ClassCount). ParameterCount = H*D + H + C*H + C.</item>
/// </list>
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Kind name of multinomial logistic regression.</summary>
    public const string LogReg = "logreg";

    /// <summary>Kind name of the one-hidden-layer perceptron.</summary>
    public const string Mlp = "mlp";

    /// <summary>Default hidden width of <see cref="Mlp"/>.</summary>
    public const int DefaultHidden = 32;

    /// <summary>Largest accepted input dimension.</summary>
    public const int MaxInputDim = 1_000_000;

    /// <summary>Largest accepted class count.</summary>
    public const int MaxClassCount = 100_000;

    /// <summary>Largest accepted hidden width.</summary>
    public const int MaxHidden = 65_536;

    /// <summary>Largest accepted parameter count (the flat vector must stay a manageable message).</summary>
    public const int MaxParameterCount = 100_000_000;

    /// <summary>Creates and validates a model specification.</summary>
    /// <param name="kind"><see cref="LogReg"/> or <see cref="Mlp"/> (case-insensitive).</param>
    /// <param name="inputDim">Number of input features, 1..<see cref="MaxInputDim"/>.</param>
    /// <param name="classCount">Number of classes, 2..<see cref="MaxClassCount"/>.</param>
    /// <param name="hidden">Hidden width for <see cref="Mlp"/>, 1..<see cref="MaxHidden"/>; ignored by <see cref="LogReg"/>.</param>
    /// <exception cref="ArgumentException">An unknown kind or an out-of-range size; the message names the value and the limit.</exception>
    public ModelSpec(string kind, int inputDim, int classCount, int hidden = DefaultHidden)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var normalized = kind.Trim().ToLowerInvariant();
        if (normalized is not (LogReg or Mlp))
        {
            throw new ArgumentException($"Unknown model kind '{kind}'. Known kinds: {LogReg}, {Mlp}.", nameof(kind));
        }

        Check(nameof(inputDim), inputDim, 1, MaxInputDim);
        Check(nameof(classCount), classCount, 2, MaxClassCount);
        Check(nameof(hidden), hidden, 1, MaxHidden);
        long count = normalized == LogReg
            ? ((long)classCount * inputDim) + classCount
            : ((long)hidden * inputDim) + hidden + ((long)classCount * hidden) + classCount;
        if (count > MaxParameterCount)
        {
            throw new ArgumentException($"A {normalized} with input {inputDim}, hidden {hidden} and {classCount} classes has {count} parameters; the limit is {MaxParameterCount}.");
        }

        Kind = normalized;
        InputDim = inputDim;
        ClassCount = classCount;
        Hidden = hidden;
        ParameterCount = (int)count;
    }

    /// <summary><see cref="LogReg"/> or <see cref="Mlp"/>.</summary>
    public string Kind { get; }

    /// <summary>Number of input features.</summary>
    public int InputDim { get; }

    /// <summary>Number of classes (output logits).</summary>
    public int ClassCount { get; }

    /// <summary>Hidden width (used by <see cref="Mlp"/> only).</summary>
    public int Hidden { get; }

    /// <summary>Length of the flat parameter vector.</summary>
    public int ParameterCount { get; }

    /// <summary>A specification matching <paramref name="data"/>'s feature and class counts.</summary>
    public static ModelSpec For(TabularDataset data, string kind, int hidden = DefaultHidden)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new ModelSpec(kind, data.FeatureCount, data.ClassCount, hidden);
    }

    /// <summary>The linear layers as (in, out) pairs, in parameter-vector order.</summary>
    internal IReadOnlyList<(int In, int Out)> Layers => Kind == LogReg
        ? [(InputDim, ClassCount)]
        : [(InputDim, Hidden), (Hidden, ClassCount)];

    private static void Check(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{min}, {max}].");
        }
    }
}
