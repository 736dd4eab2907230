namespace SecureFed.Training;

/// <summary>
/// An immutable, validated model architecture. Parameters travel as one flat <c>float[]</c> laid out like PyTorch's
/// <c>parameters_to_vector</c>: for each parameterised layer of <see cref="Layers"/> in forward order, its weight
/// (PyTorch layout, row-major) then its bias. Every kind ends in a dense layer with <see cref="ClassCount"/> logits,
/// trained with softmax cross-entropy.
/// <list type="bullet">
/// <item><c>logreg</c>: one dense layer InputDim -> ClassCount (multinomial logistic regression).</item>
/// <item><c>mlp</c>: dense layers through the hidden widths, each followed by the activation and dropout, then the output layer.</item>
/// <item><c>cnn</c>: the input row read as an image, convolution blocks (convolution, activation, max pool), flatten, then
/// the <c>mlp</c> part over the flattened features.</item>
/// </list>
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Kind name of multinomial logistic regression.</summary>
    public const string LogReg = "logreg";

    /// <summary>Kind name of the multi-layer perceptron.</summary>
    public const string Mlp = "mlp";

    /// <summary>Kind name of the convolutional network over image inputs.</summary>
    public const string Cnn = "cnn";

    /// <summary>Default hidden width of <see cref="Mlp"/>.</summary>
    public const int DefaultHidden = 32;

    /// <summary>Largest accepted input dimension.</summary>
    public const int MaxInputDim = 1_000_000;

    /// <summary>Largest accepted class count.</summary>
    public const int MaxClassCount = 100_000;

    /// <summary>Largest accepted hidden width or channel count.</summary>
    public const int MaxHidden = 65_536;

    /// <summary>Most hidden or convolution layers.</summary>
    public const int MaxLayers = 64;

    /// <summary>Largest accepted parameter count (the flat vector must stay a manageable message).</summary>
    public const int MaxParameterCount = 100_000_000;

    /// <summary>The kinds this library builds.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [LogReg, Mlp, Cnn];

    /// <summary>Creates and validates a <c>logreg</c> or one-hidden-layer ReLU <c>mlp</c> (the original two kinds).</summary>
    /// <param name="kind"><see cref="LogReg"/> or <see cref="Mlp"/> (case-insensitive).</param>
    /// <param name="inputDim">Number of input features, 1..<see cref="MaxInputDim"/>.</param>
    /// <param name="classCount">Number of classes, 2..<see cref="MaxClassCount"/>.</param>
    /// <param name="hidden">Hidden width for <see cref="Mlp"/>, 1..<see cref="MaxHidden"/>; ignored by <see cref="LogReg"/>.</param>
    /// <exception cref="ArgumentException">An unknown kind or an out-of-range size; the message names the value and the limit.</exception>
    public ModelSpec(string kind, int inputDim, int classCount, int hidden = DefaultHidden)
        : this(Normalize(kind), inputDim, classCount, null, [], Normalize(kind) == LogReg ? [] : [hidden], Activation.Relu, 0)
    {
        Check(nameof(hidden), hidden, 1, MaxHidden);
    }

    private ModelSpec(string kind, int inputDim, int classCount, ImageShape? image, IReadOnlyList<ConvBlock> conv, IReadOnlyList<int> hidden, Activation activation, double dropout)
    {
        Check(nameof(inputDim), inputDim, 1, MaxInputDim);
        Check(nameof(classCount), classCount, 2, MaxClassCount);
        if (hidden.Count > MaxLayers || conv.Count > MaxLayers)
        {
            throw new ArgumentException($"A model has at most {MaxLayers} hidden and {MaxLayers} convolution layers.");
        }

        if (!(dropout >= 0 && dropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1).");
        }

        var layers = new List<ModelLayer>();
        long features = inputDim;
        if (image is not null)
        {
            Check("channels", image.Channels, 1, MaxHidden);
            Check("height", image.Height, 1, MaxInputDim);
            Check("width", image.Width, 1, MaxInputDim);
            if (image.Size != inputDim)
            {
                throw new ArgumentException($"The input shape {image} has {image.Size} values; the study has {inputDim} inputs.");
            }

            layers.Add(new ImageInputLayer(image));
            var (c, h, w) = (image.Channels, image.Height, image.Width);
            for (var i = 0; i < conv.Count; i++)
            {
                var block = conv[i];
                Check($"conv[{i}].channels", block.Channels, 1, MaxHidden);
                Check($"conv[{i}].kernel", block.Kernel, 1, 64);
                Check($"conv[{i}].stride", block.Stride, 1, 64);
                Check($"conv[{i}].padding", block.Padding, 0, block.Kernel - 1);
                Check($"conv[{i}].pool", block.Pool, 1, 64);
                var oh = ((h + (2 * block.Padding) - block.Kernel) / block.Stride) + 1;
                var ow = ((w + (2 * block.Padding) - block.Kernel) / block.Stride) + 1;
                if (h + (2 * block.Padding) < block.Kernel || w + (2 * block.Padding) < block.Kernel)
                {
                    throw new ArgumentException($"conv[{i}]: a {block.Kernel}x{block.Kernel} kernel does not fit the {h}x{w} feature map; use a smaller kernel, padding, or fewer pooling steps.");
                }

                layers.Add(new ConvLayer(c, block.Channels, block.Kernel, block.Stride, block.Padding));
                layers.Add(new ActivationLayer(activation));
                if (block.Pool > 1)
                {
                    if (oh < block.Pool || ow < block.Pool)
                    {
                        throw new ArgumentException($"conv[{i}]: a pool of {block.Pool} does not fit the {oh}x{ow} feature map; use a smaller pool or fewer layers.");
                    }

                    layers.Add(new MaxPoolLayer(block.Pool));
                    oh /= block.Pool;
                    ow /= block.Pool;
                }

                (c, h, w) = (block.Channels, oh, ow);
            }

            features = (long)c * h * w;
            if (features > MaxInputDim)
            {
                throw new ArgumentException($"The convolutions leave {features} features; the limit is {MaxInputDim}. Add pooling or strides.");
            }

            layers.Add(new FlattenLayer((int)features));
        }

        for (var i = 0; i < hidden.Count; i++)
        {
            Check($"hidden[{i}]", hidden[i], 1, MaxHidden);
            layers.Add(new DenseLayer((int)features, hidden[i]));
            layers.Add(new ActivationLayer(activation));
            if (dropout > 0)
            {
                layers.Add(new DropoutLayer(dropout));
            }

            features = hidden[i];
        }

        layers.Add(new DenseLayer((int)features, classCount));
        var count = layers.Sum(l => l.ParameterCount);
        if (count > MaxParameterCount)
        {
            throw new ArgumentException($"This {kind} has {count} parameters; the limit is {MaxParameterCount}.");
        }

        Kind = kind;
        InputDim = inputDim;
        ClassCount = classCount;
        Hidden = hidden.Count > 0 ? hidden[0] : 0;
        HiddenLayers = [.. hidden];
        Conv = [.. conv];
        InputShape = image;
        Activation = activation;
        Dropout = dropout;
        Layers = layers;
        ParameterCount = (int)count;
    }

    /// <summary><see cref="LogReg"/>, <see cref="Mlp"/> or <see cref="Cnn"/>.</summary>
    public string Kind { get; }

    /// <summary>Number of input features (the width of one flat input row).</summary>
    public int InputDim { get; }

    /// <summary>Number of classes (output logits).</summary>
    public int ClassCount { get; }

    /// <summary>Width of the first hidden dense layer, 0 when there is none.</summary>
    public int Hidden { get; }

    /// <summary>Widths of the hidden dense layers, in order (empty for <c>logreg</c>).</summary>
    public IReadOnlyList<int> HiddenLayers { get; }

    /// <summary>The convolution blocks of a <c>cnn</c> (empty otherwise).</summary>
    public IReadOnlyList<ConvBlock> Conv { get; }

    /// <summary>The image shape a <c>cnn</c> reads its input row as; null otherwise.</summary>
    public ImageShape? InputShape { get; }

    /// <summary>The activation after every hidden and convolution layer.</summary>
    public Activation Activation { get; }

    /// <summary>Dropout rate after every hidden dense layer during training (0: none).</summary>
    public double Dropout { get; }

    /// <summary>The forward pass, step by step; the parameterised steps own the parameter vector's slices in this order.</summary>
    public IReadOnlyList<ModelLayer> Layers { get; }

    /// <summary>Length of the flat parameter vector.</summary>
    public int ParameterCount { get; }

    /// <summary>Multinomial logistic regression.</summary>
    public static ModelSpec LogisticRegression(int inputDim, int classCount) =>
        new(LogReg, inputDim, classCount, null, [], [], Activation.Relu, 0);

    /// <summary>A perceptron with the given hidden widths (at least one), activation and dropout.</summary>
    /// <exception cref="ArgumentException">A size is out of range.</exception>
    public static ModelSpec Perceptron(int inputDim, int classCount, IReadOnlyList<int> hidden, Activation activation = Activation.Relu, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        if (hidden.Count == 0)
        {
            throw new ArgumentException("An mlp needs at least one hidden layer; use logreg for none.", nameof(hidden));
        }

        return new ModelSpec(Mlp, inputDim, classCount, null, [], hidden, activation, dropout);
    }

    /// <summary>A convolutional network over <paramref name="input"/>: the blocks, then dense layers of <paramref name="dense"/> widths.</summary>
    /// <exception cref="ArgumentException">A size is out of range, the shape does not match the input, or a kernel or pool does not fit.</exception>
    public static ModelSpec Convolutional(
        ImageShape input, IReadOnlyList<ConvBlock> conv, IReadOnlyList<int> dense, int classCount, Activation activation = Activation.Relu, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(conv);
        ArgumentNullException.ThrowIfNull(dense);
        if (conv.Count == 0)
        {
            throw new ArgumentException("A cnn needs at least one convolution layer; use mlp for none.", nameof(conv));
        }

        if (input.Size > MaxInputDim)
        {
            throw new ArgumentException($"The input shape {input} has {input.Size} values; the limit is {MaxInputDim}.", nameof(input));
        }

        return new ModelSpec(Cnn, (int)input.Size, classCount, input, conv, dense, activation, dropout);
    }

    /// <summary>A specification matching <paramref name="data"/>'s feature and class counts.</summary>
    public static ModelSpec For(TabularDataset data, string kind, int hidden = DefaultHidden)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new ModelSpec(kind, data.FeatureCount, data.ClassCount, hidden);
    }

    /// <summary>Parses an activation name (<c>relu</c>, <c>tanh</c>, <c>sigmoid</c>; case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Activation ParseActivation(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        _ => throw new ArgumentException($"Unknown activation '{name}'. Known: relu, tanh, sigmoid.", nameof(name)),
    };

    /// <summary>A one-line description, for example <c>cnn 1x28x28 conv 16k3p1/2 32k3p1/2 dense 128 relu (206,922 parameters)</c>.</summary>
    public string Describe()
    {
        var parts = new List<string> { Kind };
        if (InputShape is not null)
        {
            parts.Add(InputShape.ToString());
            parts.Add("conv " + string.Join(' ', Conv.Select(c => $"{c.Channels}k{c.Kernel}" + (c.Stride > 1 ? $"s{c.Stride}" : "") + (c.Padding > 0 ? $"p{c.Padding}" : "") + (c.Pool > 1 ? $"/{c.Pool}" : ""))));
        }

        if (HiddenLayers.Count > 0)
        {
            parts.Add((Kind == Cnn ? "dense " : "hidden ") + string.Join(',', HiddenLayers));
        }

        if (Kind != LogReg)
        {
            parts.Add(Activation.ToString().ToLowerInvariant());
        }

        if (Dropout > 0)
        {
            parts.Add(FormattableString.Invariant($"dropout {Dropout:G4}"));
        }

        return string.Join(' ', parts) + FormattableString.Invariant($" ({ParameterCount:N0} parameters)");
    }

    private static string Normalize(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var normalized = kind.Trim().ToLowerInvariant();
        return normalized is LogReg or Mlp
            ? normalized
            : throw new ArgumentException($"Unknown model kind '{kind}'. Known kinds: {LogReg}, {Mlp} (a {Cnn} is built with {nameof(Convolutional)}).", nameof(kind));
    }

    private static void Check(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{min}, {max}].");
        }
    }
}
