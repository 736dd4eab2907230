using static TorchSharp.torch;

namespace SecureFed.Training.Internal;

/// <summary>
/// The per-example gradients of a batch's cross-entropy from one forward and one backward pass (Goodfellow 2015; the
/// grad samplers of Opacus): the forward pass records each parameterised layer's input a and output z, autograd gives
/// g = d(sum of losses)/dz (row i of g depends on example i only, as no layer mixes examples), and then
/// <list type="bullet">
/// <item>dense (its input is [B, In] in every <see cref="ModelSpec"/>): per-example weight gradient g_i a_i^T [Out, In], bias g_i; its squared norm is |g_i|^2 (|a_i|^2 + 1),
/// so it is never materialised;</item>
/// <item>conv2d: the input unfolded (im2col with the layer's kernel, padding, stride) to U_i [InC k k, L] and g_i read as
/// [OutC, L]; weight gradient g_i U_i^T [OutC, InC k k] (materialised per example: conv weights are small), bias the sum
/// of g_i over L.</item>
/// </list>
/// The clipped sum sum_i c_i grad_i never needs the per-example dense gradients either: the layer's gradient is linear in
/// g, so it is the ordinary contraction of (c_i g_i) with a (what Opacus' ghost clipping gets from a second, reweighted
/// backward pass, here without one). <see cref="Materialize"/> builds the full [B, P] matrix for tests.
/// Lives in the caller's dispose scope; not thread-safe.
/// </summary>
internal sealed class PerExampleGradients
{
    private readonly List<Piece> _pieces;
    private readonly long _parameterCount;

    private PerExampleGradients(List<Piece> pieces, long parameterCount, long batch, double lossSum)
    {
        _pieces = pieces;
        _parameterCount = parameterCount;
        Batch = batch;
        LossSum = lossSum;
    }

    /// <summary>Examples in the batch.</summary>
    internal long Batch { get; }

    /// <summary>Sum of the examples' cross-entropies, measured before any update.</summary>
    internal double LossSum { get; }

    /// <summary>Runs the forward and backward pass of <paramref name="x"/> [B, InputDim] with labels <paramref name="y"/> [B]; B &gt; 0.</summary>
    internal static PerExampleGradients Compute(ModelSpec spec, Tensor theta, Tensor x, Tensor y, TorchSharp.torch.Generator? dropout)
    {
        // autograd.grad aborts the process (not an exception) when the graph is missing, so never run without one.
        using var withGrad = enable_grad();
        var trace = new List<TorchModel.LayerTrace>();
        var logits = TorchModel.Forward(spec, theta, x, dropout, trace);
        var loss = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum);
        var outputs = trace.Select(t => t.Output).ToList();
        var grads = autograd.grad([loss], outputs);
        var batch = x.shape[0];
        var pieces = new List<Piece>(trace.Count);
        using (no_grad())
        {
            for (var i = 0; i < trace.Count; i++)
            {
                var t = trace[i];
                var a = t.Input.detach();
                var g = grads[i];
                pieces.Add(t.Layer switch
                {
                    DenseLayer d => new Piece(d, g, a, null),
                    ConvLayer c => Conv(c, a, g, batch),
                    _ => throw new InvalidOperationException($"no per-example gradient for {t.Layer}"),
                });
            }
        }

        return new PerExampleGradients(pieces, spec.ParameterCount, batch, loss.item<float>());
    }

    /// <summary>The squared L2 norm of every example's gradient over all parameters [B].</summary>
    internal Tensor SquaredNorms()
    {
        var total = zeros(Batch, ScalarType.Float32);
        foreach (var p in _pieces)
        {
            if (p.Layer is DenseLayer)
            {
                // |g a^T|_F^2 = |g|^2 |a|^2, plus |g|^2 for the bias.
                var gg = p.Left.square().sum(1);
                total.add_(gg.mul(p.Right!.square().sum(1).add_(1)));
            }
            else
            {
                total.add_(p.Left.square().sum([1, 2])).add_(p.Bias!.square().sum(1));
            }
        }

        return total;
    }

    /// <summary>sum_i factors_i grad_i as one flat vector [P] in the parameter layout.</summary>
    internal Tensor ClippedSum(Tensor factors)
    {
        var parts = new List<Tensor>(2 * _pieces.Count);
        var row = factors.unsqueeze(0);
        foreach (var p in _pieces)
        {
            if (p.Layer is DenseLayer)
            {
                var scaled = p.Left.mul(factors.unsqueeze(1));
                parts.Add(scaled.t().mm(p.Right!).flatten());
                parts.Add(scaled.sum(dim: 0));
            }
            else
            {
                parts.Add(row.mm(p.Left.flatten(1)).flatten());
                parts.Add(row.mm(p.Bias!).flatten());
            }
        }

        return Assemble(parts);
    }

    /// <summary>Every example's full gradient, [B, P] in the parameter layout (tests; B x P floats).</summary>
    internal Tensor Materialize()
    {
        var parts = new List<Tensor>(2 * _pieces.Count);
        foreach (var p in _pieces)
        {
            if (p.Layer is DenseLayer)
            {
                parts.Add(einsum("bo,bi->boi", p.Left, p.Right!).flatten(1));
                parts.Add(p.Left);
            }
            else
            {
                parts.Add(p.Left.flatten(1));
                parts.Add(p.Bias!);
            }
        }

        var result = cat(parts, 1);
        Check(result.shape[1]);
        return result;
    }

    private static Piece Conv(ConvLayer c, Tensor a, Tensor g, long batch)
    {
        // im2col: column l of U_i holds the InC x k x k window output position l reads, in the weight's layout.
        var u = nn.functional.unfold(a, (c.Kernel, c.Kernel), padding: (c.Padding, c.Padding), stride: (c.Stride, c.Stride));
        var gl = g.reshape(batch, c.OutChannels, -1);
        var weight = bmm(gl, u.transpose(1, 2));
        return new Piece(c, weight, null, gl.sum(2));
    }

    private Tensor Assemble(List<Tensor> parts)
    {
        var result = cat(parts, 0);
        Check(result.shape[0]);
        return result;
    }

    private void Check(long length)
    {
        if (length != _parameterCount)
        {
            throw new InvalidOperationException($"per-example gradients cover {length} parameters; the model has {_parameterCount}.");
        }
    }

    /// <summary>
    /// One layer's factors: dense keeps Left = g [B, Out], Right = a [B, In]; conv keeps Left = the per-example weight
    /// gradients [B, OutC, InC k k] and Bias = [B, OutC].
    /// </summary>
    private sealed record Piece(ModelLayer Layer, Tensor Left, Tensor? Right, Tensor? Bias);
}
