using System.Runtime.InteropServices;

namespace SecureFed.Coordinator;

/// <summary>
/// The coordinator's optimizer over the aggregated delta (Reddi et al. 2021, "Adaptive Federated Optimization",
/// Algorithm 2). <c>fedavg</c>: x + eta·Δ (eta 1 is McMahan's FedAvg). <c>fedadam</c> and <c>fedyogi</c>:
/// m = β1·m + (1-β1)·Δ; v = β2·v + (1-β2)·Δ² (Adam) or v = v - (1-β2)·Δ²·sign(v - Δ²) (Yogi); x + eta·m / (√v + τ),
/// with m starting at 0 and v at τ², no bias correction (as in the paper).
/// </summary>
/// <param name="Kind"><c>fedavg</c>, <c>fedadam</c> or <c>fedyogi</c>.</param>
/// <param name="LearningRate">Server learning rate eta.</param>
/// <param name="Beta1">First-moment decay.</param>
/// <param name="Beta2">Second-moment decay.</param>
/// <param name="Tau">Adaptivity τ.</param>
public sealed record ServerOptimizerSettings(string Kind = "fedavg", double LearningRate = 1.0, double Beta1 = 0.9, double Beta2 = 0.99, double Tau = 1e-3)
{
    /// <summary>Plain federated averaging.</summary>
    public static ServerOptimizerSettings FedAvg { get; } = new();

    /// <summary>True for the adaptive kinds, which keep moments between rounds.</summary>
    public bool HasState => Kind is "fedadam" or "fedyogi";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value out of range.</summary>
    public ServerOptimizerSettings Validate()
    {
        if (Kind is not ("fedavg" or "fedadam" or "fedyogi"))
        {
            throw new ArgumentException($"server optimizer '{Kind}' is unknown; use fedavg, fedadam or fedyogi");
        }

        if (!(LearningRate > 0 && LearningRate <= 100) || !(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1) || !(Tau > 0 && double.IsFinite(Tau)))
        {
            throw new ArgumentException($"server optimizer {Kind}: learning rate {LearningRate} must be in (0, 100], betas ({Beta1}, {Beta2}) in [0, 1), tau {Tau} > 0");
        }

        return this;
    }
}

/// <summary>
/// Applies <see cref="ServerOptimizerSettings"/> round by round. The moments are the only state; they travel with
/// each stored model version (<see cref="State"/>, <see cref="Restore"/>) so a restarted coordinator continues exactly.
/// Not thread-safe (the orchestrator calls it once per round).
/// </summary>
public sealed class ServerOptimizer
{
    private readonly ServerOptimizerSettings _settings;
    private double[]? _m;
    private double[]? _v;

    /// <summary>Creates the optimizer with no history.</summary>
    public ServerOptimizer(ServerOptimizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings.Validate();
    }

    /// <summary>The settings applied.</summary>
    public ServerOptimizerSettings Settings => _settings;

    /// <summary>The new global model from <paramref name="global"/> and the aggregated mean delta.</summary>
    public float[] Step(ReadOnlySpan<float> global, ReadOnlySpan<double> meanDelta)
    {
        if (global.Length != meanDelta.Length)
        {
            throw new ArgumentException($"global model length {global.Length} does not match the delta's {meanDelta.Length}");
        }

        var next = new float[global.Length];
        var eta = _settings.LearningRate;
        if (!_settings.HasState)
        {
            for (var i = 0; i < next.Length; i++)
            {
                next[i] = (float)(global[i] + (eta * meanDelta[i]));
            }

            return next;
        }

        var (b1, b2, tau) = (_settings.Beta1, _settings.Beta2, _settings.Tau);
        if (_m is null || _m.Length != global.Length)
        {
            _m = new double[global.Length];
            _v = new double[global.Length];
            Array.Fill(_v, tau * tau);
        }

        var yogi = _settings.Kind == "fedyogi";
        for (var i = 0; i < next.Length; i++)
        {
            var d = meanDelta[i];
            var d2 = d * d;
            _m[i] = (b1 * _m[i]) + ((1 - b1) * d);
            _v![i] = yogi ? _v[i] - ((1 - b2) * d2 * Math.Sign(_v[i] - d2)) : (b2 * _v[i]) + ((1 - b2) * d2);
            next[i] = (float)(global[i] + (eta * _m[i] / (Math.Sqrt(_v[i]) + tau)));
        }

        return next;
    }

    /// <summary>The moments after the last step (m then v, little-endian doubles), or null when the optimizer keeps none.</summary>
    public byte[]? State()
    {
        if (_m is null)
        {
            return null;
        }

        var bytes = new byte[_m.Length * 2 * sizeof(double)];
        MemoryMarshal.AsBytes(_m.AsSpan()).CopyTo(bytes);
        MemoryMarshal.AsBytes(_v.AsSpan()).CopyTo(bytes.AsSpan(_m.Length * sizeof(double)));
        return bytes;
    }

    /// <summary>Restores the moments stored with a model version of <paramref name="length"/> parameters.</summary>
    /// <exception cref="InvalidDataException">The state does not fit the model.</exception>
    public void Restore(byte[]? state, int length)
    {
        if (state is null || !_settings.HasState)
        {
            _m = null;
            _v = null;
            return;
        }

        if (state.Length != length * 2 * sizeof(double))
        {
            throw new InvalidDataException($"the stored server optimizer state has {state.Length} bytes; a model of {length} parameters needs {length * 16}");
        }

        var values = MemoryMarshal.Cast<byte, double>(state);
        _m = values[..length].ToArray();
        _v = values[length..].ToArray();
    }
}
