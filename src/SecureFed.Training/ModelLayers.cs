namespace SecureFed.Training;

/// <summary>Element-wise non-linearity between layers.</summary>
public enum Activation
{
    /// <summary>max(0, x).</summary>
    Relu,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,

    /// <summary>Logistic sigmoid 1 / (1 + e^-x).</summary>
    Sigmoid,
}

/// <summary>The shape of one image input, channels first: the flat input row is read as [Channels, Height, Width], row-major.</summary>
/// <param name="Channels">Colour channels (1 for greyscale).</param>
/// <param name="Height">Rows of pixels.</param>
/// <param name="Width">Columns of pixels.</param>
public sealed record ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Channels x Height x Width.</summary>
    public long Size => (long)Channels * Height * Width;

    /// <inheritdoc/>
    public override string ToString() => $"{Channels}x{Height}x{Width}";
}

/// <summary>One convolution block of a <c>cnn</c>: a square 2-D convolution, the activation, then an optional max pool.</summary>
/// <param name="Channels">Output channels.</param>
/// <param name="Kernel">Square kernel size.</param>
/// <param name="Stride">Convolution stride (default 1).</param>
/// <param name="Padding">Zero padding on every side (default 0).</param>
/// <param name="Pool">Max-pool window and stride after the activation; 1 means no pooling.</param>
public sealed record ConvBlock(int Channels, int Kernel, int Stride = 1, int Padding = 0, int Pool = 1);

/// <summary>
/// One step of a model's forward pass. The parameterised layers (<see cref="DenseLayer"/>, <see cref="ConvLayer"/>) own
/// consecutive slices of the flat parameter vector, in forward order: weight first (PyTorch layout, row-major), then bias.
/// </summary>
public abstract record ModelLayer
{
    /// <summary>Number of parameters this layer owns (0 for parameter-free layers).</summary>
    public virtual long ParameterCount => 0;
}

/// <summary>y = x W^T + b; W is [Out, In] row-major, then b [Out].</summary>
public sealed record DenseLayer(int In, int Out) : ModelLayer
{
    /// <summary>Weights in the layer.</summary>
    public long WeightCount => (long)In * Out;

    /// <inheritdoc/>
    public override long ParameterCount => WeightCount + Out;
}

/// <summary>2-D convolution; W is [OutChannels, InChannels, Kernel, Kernel] row-major, then b [OutChannels].</summary>
public sealed record ConvLayer(int InChannels, int OutChannels, int Kernel, int Stride, int Padding) : ModelLayer
{
    /// <summary>Weights in the layer.</summary>
    public long WeightCount => (long)OutChannels * InChannels * Kernel * Kernel;

    /// <summary>Inputs each output sees (the fan-in used by initialization).</summary>
    public long FanIn => (long)InChannels * Kernel * Kernel;

    /// <inheritdoc/>
    public override long ParameterCount => WeightCount + OutChannels;
}

/// <summary>An element-wise activation.</summary>
public sealed record ActivationLayer(Activation Function) : ModelLayer;

/// <summary>Max pooling with a square window of <paramref name="Size"/> and stride <paramref name="Size"/> (no padding; a ragged edge is dropped).</summary>
public sealed record MaxPoolLayer(int Size) : ModelLayer;

/// <summary>Inverted dropout with drop probability <paramref name="Rate"/> during local training; the identity at inference.</summary>
public sealed record DropoutLayer(double Rate) : ModelLayer;

/// <summary>Reads the flat input row [N, C*H*W] as images [N, C, H, W].</summary>
public sealed record ImageInputLayer(ImageShape Shape) : ModelLayer;

/// <summary>Flattens [N, C, H, W] to [N, C*H*W] (row-major, as PyTorch's flatten).</summary>
public sealed record FlattenLayer(int Features) : ModelLayer;
