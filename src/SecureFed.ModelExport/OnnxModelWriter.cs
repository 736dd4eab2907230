using Google.Protobuf;
using Onnx;
using SecureFed.ModelExport.Internal;
using SecureFed.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace SecureFed.ModelExport;

/// <summary>
/// Writes a trained model as an ONNX graph (opset 13) that takes the raw input of <see cref="ModelInputs"/> and applies
/// the federated preprocessing itself (<see cref="ModelPreprocessing"/>), then the forward pass of
/// <see cref="ModelSpec.Layers"/> in inference mode (dropout is the identity), then a softmax. Inputs and outputs:
/// <list type="bullet">
/// <item><see cref="InputName"/>: float32 [N, F], F = <c>ModelInputs.Width</c>, NaN for a missing numeric value.</item>
/// <item><see cref="ProbabilitiesName"/> (first output): float32 [N, C], the class probabilities in the study's class order.</item>
/// <item><see cref="ClassIndexName"/>: int64 [N], the index of the most probable class (the first on a tie).</item>
/// </list>
/// Stateless and thread-safe.
/// </summary>
public static class OnnxModelWriter
{
    /// <summary>The operator set the graph uses.</summary>
    public const int Opset = 13;

    /// <summary>Name of the graph's one input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the first output, the class probabilities.</summary>
    public const string ProbabilitiesName = "probabilities";

    /// <summary>Name of the second output, the predicted class index.</summary>
    public const string ClassIndexName = "class_index";

    // ONNX IR version 7 is the one that goes with opset 13 (onnx/docs/Versioning.md).
    private const long IrVersion = 7;
    private const string Batch = "N";

    /// <summary>The serialized ONNX model.</summary>
    /// <param name="spec">The architecture; its input width must be the preprocessing's encoded width.</param>
    /// <param name="parameters">The flat parameter vector in the layout of <paramref name="spec"/>.</param>
    /// <param name="preprocessing">The map from the raw input to the encoded one.</param>
    /// <param name="metadata">Key-value pairs stored in the model's <c>metadata_props</c> (hashes, study name).</param>
    /// <exception cref="ArgumentException">The parameter count or the input width does not match the spec, or a parameter is not finite.</exception>
    public static byte[] Write(ModelSpec spec, float[] parameters, ModelPreprocessing preprocessing, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(preprocessing);
        ParameterVector.Validate(parameters, spec.ParameterCount, nameof(parameters));
        if (spec.InputDim != preprocessing.EncodedWidth)
        {
            throw new ArgumentException($"the model takes {spec.InputDim} encoded inputs; the study encodes {preprocessing.EncodedWidth}", nameof(spec));
        }

        var graph = new OnnxGraphBuilder("securefed");
        var width = preprocessing.Inputs.Width;
        var h = Preprocess(graph, preprocessing, graph.FloatInput(InputName, Batch, width));
        var logits = Forward(graph, spec, parameters, h);
        graph.Node("Softmax", [logits], ProbabilitiesName, OnnxGraphBuilder.Int("axis", 1));
        graph.Node("ArgMax", [ProbabilitiesName], ClassIndexName, OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("keepdims", 0));
        graph.Output(ProbabilitiesName, DataType.Float, Batch, spec.ClassCount);
        graph.Output(ClassIndexName, DataType.Int64, Batch);

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "SecureFed",
            ProducerVersion = typeof(OnnxModelWriter).Assembly.GetName().Version?.ToString() ?? "0",
            Domain = "org.securefed",
            DocString = spec.Describe(),
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return model.ToByteArray();
    }

    /// <summary>Where(IsNaN(x), fill, x), then (x - shift) / scale, then MatMul(P) + c: the encoded input [N, E].</summary>
    private static string Preprocess(OnnxGraphBuilder g, ModelPreprocessing p, string input)
    {
        var (width, encoded) = (p.Inputs.Width, p.EncodedWidth);
        var missing = g.Node("IsNaN", [input]);
        var filled = g.Node("Where", [missing, g.Constant("fill", p.Fill, width), input]);
        var centred = g.Node("Sub", [filled, g.Constant("shift", p.Shift, width)]);
        var scaled = g.Node("Div", [centred, g.Constant("scale", p.Scale, width)]);
        var placed = g.Node("MatMul", [scaled, g.Constant("placement", p.Placement, width, encoded)]);
        return g.Node("Add", [placed, g.Constant("missing_levels", p.Offset, encoded)]);
    }

    /// <summary>The logits [N, C] of <see cref="ModelSpec.Layers"/>, each parameterised layer reading its slice of <paramref name="theta"/>.</summary>
    private static string Forward(OnnxGraphBuilder g, ModelSpec spec, float[] theta, string h)
    {
        var offset = 0;
        ReadOnlySpan<float> Take(long count)
        {
            var slice = theta.AsSpan(offset, checked((int)count));
            offset += (int)count;
            return slice;
        }

        foreach (var layer in spec.Layers)
        {
            switch (layer)
            {
                case ImageInputLayer image:
                    h = g.Node("Reshape", [h, g.Int64Constant("image_shape", -1, image.Shape.Channels, image.Shape.Height, image.Shape.Width)]);
                    break;
                case ConvLayer c:
                    {
                        var weight = g.Constant("conv_weight", Take(c.WeightCount), c.OutChannels, c.InChannels, c.Kernel, c.Kernel);
                        var bias = g.Constant("conv_bias", Take(c.OutChannels), c.OutChannels);
                        h = g.Node("Conv", [h, weight, bias], null,
                            OnnxGraphBuilder.Ints("kernel_shape", c.Kernel, c.Kernel),
                            OnnxGraphBuilder.Ints("strides", c.Stride, c.Stride),
                            OnnxGraphBuilder.Ints("pads", c.Padding, c.Padding, c.Padding, c.Padding));
                        break;
                    }

                case DenseLayer d:
                    {
                        // Gemm with transB: W stays in PyTorch's [Out, In] layout.
                        var weight = g.Constant("dense_weight", Take(d.WeightCount), d.Out, d.In);
                        var bias = g.Constant("dense_bias", Take(d.Out), d.Out);
                        h = g.Node("Gemm", [h, weight, bias], null, OnnxGraphBuilder.Int("transB", 1));
                        break;
                    }

                case ActivationLayer a:
                    h = g.Node(a.Function switch
                    {
                        Activation.Relu => "Relu",
                        Activation.Tanh => "Tanh",
                        Activation.Sigmoid => "Sigmoid",
                        _ => throw new InvalidOperationException($"unknown activation {a.Function}"),
                    }, [h]);
                    break;
                case MaxPoolLayer p:
                    // Window = stride = Size, no padding, floor (ceil_mode 0): PyTorch's max_pool2d(x, Size, Size).
                    h = g.Node("MaxPool", [h], null, OnnxGraphBuilder.Ints("kernel_shape", p.Size, p.Size), OnnxGraphBuilder.Ints("strides", p.Size, p.Size));
                    break;
                case FlattenLayer:
                    h = g.Node("Flatten", [h], null, OnnxGraphBuilder.Int("axis", 1));
                    break;
                case DropoutLayer:
                    // Inference: inverted dropout is the identity.
                    break;
                default:
                    throw new InvalidOperationException($"the ONNX writer does not know layer {layer}");
            }
        }

        if (offset != theta.Length)
        {
            throw new InvalidOperationException($"the layers used {offset} of {theta.Length} parameters");
        }

        return h;
    }
}
