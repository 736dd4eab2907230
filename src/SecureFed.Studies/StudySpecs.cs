namespace SecureFed.Studies;

/// <summary>How a feature column is read and encoded.</summary>
public enum FeatureType
{
    /// <summary>A real number per row; a missing cell is imputed by the federated mean.</summary>
    Numeric,

    /// <summary>One of a declared list of categories per row, one-hot encoded with an extra missing level.</summary>
    Categorical,
}

/// <summary>The label column and its classes; class index <c>i</c> is <c>Classes[i]</c>.</summary>
/// <param name="Column">Header name of the label column.</param>
/// <param name="Classes">
/// At least two unique class names, matched against the trimmed cell text exactly (case-sensitive): for a numeric
/// label column the classes are still strings, so the cell <c>1.0</c> does not match the class <c>1</c>.
/// </param>
public sealed record LabelSpec(string Column, IReadOnlyList<string> Classes);

/// <summary>One input column of a study.</summary>
/// <param name="Column">Header name of the column.</param>
/// <param name="Type">Numeric or categorical.</param>
/// <param name="Categories">The declared levels of a categorical feature, in order; empty for a numeric feature.</param>
public sealed record FeatureSpec(string Column, FeatureType Type, IReadOnlyList<string> Categories);

/// <summary>One convolution block of a <c>cnn</c> study: convolution, activation, then max pooling.</summary>
/// <param name="Channels">Output channels.</param>
/// <param name="Kernel">Square kernel size.</param>
/// <param name="Stride">Stride (default 1).</param>
/// <param name="Padding">Zero padding on each side (default 0).</param>
/// <param name="Pool">Max-pool window and stride after the activation (default 1: none).</param>
public sealed record StudyConv(int Channels, int Kernel, int Stride, int Padding, int Pool);

/// <summary>The model the study trains. Compares by value (lists element-wise).</summary>
/// <param name="Kind"><c>logreg</c> (multinomial logistic regression), <c>mlp</c> (hidden dense layers) or <c>cnn</c>
/// (convolution blocks over an image input, then dense layers).</param>
/// <param name="HiddenLayers">Widths of the hidden dense layers (<c>mlp</c>: <c>hidden</c>, default [32]; <c>cnn</c>:
/// <c>dense</c>, default none); empty for <c>logreg</c>.</param>
/// <param name="Activation"><c>relu</c> (default), <c>tanh</c> or <c>sigmoid</c>.</param>
/// <param name="Dropout">Dropout rate after each hidden dense layer during training, in [0, 1) (default 0).</param>
/// <param name="InputShape">[channels, height, width] of a <c>cnn</c>'s input rows; empty otherwise.</param>
/// <param name="Conv">The convolution blocks of a <c>cnn</c>; empty otherwise.</param>
public sealed record StudyModel(string Kind, IReadOnlyList<int> HiddenLayers, string Activation, double Dropout, IReadOnlyList<int> InputShape, IReadOnlyList<StudyConv> Conv)
{
    /// <summary>A <c>logreg</c> (hidden 0) or a one-hidden-layer ReLU <c>mlp</c>.</summary>
    public StudyModel(string kind, int hidden)
        : this(kind, hidden > 0 ? [hidden] : [], "relu", 0, [], [])
    {
    }

    /// <summary>Width of the first hidden dense layer; 0 when there is none.</summary>
    public int Hidden => HiddenLayers.Count > 0 ? HiddenLayers[0] : 0;

    /// <inheritdoc/>
    public bool Equals(StudyModel? other) =>
        other is not null && Kind == other.Kind && HiddenLayers.SequenceEqual(other.HiddenLayers) && Activation == other.Activation
        && Dropout.Equals(other.Dropout) && InputShape.SequenceEqual(other.InputShape) && Conv.SequenceEqual(other.Conv);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, HiddenLayers.Count, Activation, Dropout, Conv.Count);
}

/// <summary>
/// The coordinator's optimizer over the aggregated delta (Reddi et al. 2021, "Adaptive Federated Optimization"):
/// <c>fedavg</c> adds the mean delta times <paramref name="LearningRate"/> (1 by default: plain FedAvg); <c>fedadam</c>
/// and <c>fedyogi</c> treat the negated mean delta as a pseudo-gradient with moments <paramref name="Beta1"/>,
/// <paramref name="Beta2"/> and adaptivity <paramref name="Tau"/>.
/// </summary>
public sealed record StudyServerOptimizer(string Kind, double LearningRate, double Beta1, double Beta2, double Tau)
{
    /// <summary>Plain federated averaging.</summary>
    public static StudyServerOptimizer FedAvg { get; } = new("fedavg", 1.0, 0.9, 0.99, 1e-3);
}

/// <summary>Local training settings each silo applies per round, and the coordinator's server optimizer.</summary>
/// <param name="Epochs">Local epochs per round (default 1).</param>
/// <param name="BatchSize">Minibatch size (default 32).</param>
/// <param name="LearningRate">Local learning rate (default 0.1).</param>
/// <param name="Optimizer"><c>sgd</c> (default) or <c>adam</c>.</param>
/// <param name="Momentum">SGD heavy-ball momentum in [0, 1) (default 0).</param>
/// <param name="WeightDecay">L2 weight decay in [0, 1) (default 0).</param>
/// <param name="Server">The server-side optimizer (default <see cref="StudyServerOptimizer.FedAvg"/>).</param>
public sealed record StudyTraining(int Epochs, int BatchSize, double LearningRate, string Optimizer, double Momentum, double WeightDecay, StudyServerOptimizer Server)
{
    /// <summary>Plain SGD with FedAvg on the server.</summary>
    public StudyTraining(int epochs, int batchSize, double learningRate)
        : this(epochs, batchSize, learningRate, "sgd", 0, 0, StudyServerOptimizer.FedAvg)
    {
    }
}

/// <summary>
/// One column of the encoded input matrix: a numeric feature (<see cref="Category"/> null, not a missing level), one
/// declared category of a categorical feature, or the missing level of a categorical feature.
/// </summary>
/// <param name="Column">The study feature column this input comes from.</param>
/// <param name="Category">The category this one-hot input stands for; null for a numeric input or a missing level.</param>
/// <param name="MissingLevel">True for the one-hot input that is 1 when the categorical cell is missing.</param>
public sealed record EncodedInput(string Column, string? Category, bool MissingLevel);

/// <summary>
/// The study's differential privacy: the unit protected and, for records, the DP-SGD settings each silo runs.
/// </summary>
/// <param name="Unit"><c>record</c> (DP-SGD inside each silo), <c>silo</c> (client-level noise on the sum) or <c>both</c>.</param>
/// <param name="Epsilon">Record-level target each silo may spend over the study's rounds (it calibrates its noise to it
/// from its own row count); null when <paramref name="NoiseMultiplier"/> fixes the noise, or for unit <c>silo</c>.</param>
/// <param name="NoiseMultiplier">A fixed DP-SGD noise multiplier; null when <paramref name="Epsilon"/> is given.</param>
/// <param name="Delta">Record-level delta (default 1e-5).</param>
/// <param name="Clip">Per-example gradient clip norm (default 1.0).</param>
/// <param name="ExpectedBatch">Expected Poisson batch size (default 64); q = expected batch / a silo's training rows.</param>
/// <param name="Accountant">The silo's record-level accountant: <c>rdp</c> (default) or <c>pld</c>.</param>
public sealed record StudyPrivacy(string Unit, double? Epsilon, double? NoiseMultiplier, double Delta, double Clip, int ExpectedBatch, string Accountant)
{
    /// <summary>True when silos run DP-SGD on their records (unit <c>record</c> or <c>both</c>).</summary>
    public bool RecordLevel => Unit is "record" or "both";

    /// <summary>True when the coordinator must run client-level noise on the sum (unit <c>silo</c> or <c>both</c>).</summary>
    public bool SiloLevel => Unit is "silo" or "both";
}
