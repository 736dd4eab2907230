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

/// <summary>The model family trained in the study.</summary>
/// <param name="Kind"><c>logreg</c> (multinomial logistic regression) or <c>mlp</c> (one hidden layer).</param>
/// <param name="Hidden">Width of the hidden layer for <c>mlp</c> (default 32); 0 for <c>logreg</c>.</param>
public sealed record StudyModel(string Kind, int Hidden);

/// <summary>Local training settings each silo applies per round.</summary>
/// <param name="Epochs">Local epochs per round (default 1).</param>
/// <param name="BatchSize">Minibatch size (default 32).</param>
/// <param name="LearningRate">SGD learning rate (default 0.1).</param>
public sealed record StudyTraining(int Epochs, int BatchSize, double LearningRate);

/// <summary>
/// One column of the encoded input matrix: a numeric feature (<see cref="Category"/> null, not a missing level), one
/// declared category of a categorical feature, or the missing level of a categorical feature.
/// </summary>
/// <param name="Column">The study feature column this input comes from.</param>
/// <param name="Category">The category this one-hot input stands for; null for a numeric input or a missing level.</param>
/// <param name="MissingLevel">True for the one-hot input that is 1 when the categorical cell is missing.</param>
public sealed record EncodedInput(string Column, string? Category, bool MissingLevel);
