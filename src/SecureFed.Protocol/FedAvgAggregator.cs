namespace SecureFed.Protocol;

/// <summary>
/// Plain federated averaging (McMahan et al. 2017): the example-weighted mean of the silos' deltas, applied to
/// the global model. This sees every update in the clear and is kept as the baseline that secure aggregation
/// is measured against. Accumulates in double. Not thread-safe.
/// </summary>
public sealed class FedAvgAggregator
{
    private readonly double[] _sum;
    private double _weight;

    /// <summary>Creates an aggregator for vectors of <paramref name="length"/> values.</summary>
    public FedAvgAggregator(int length)
    {
        _sum = new double[length];
    }

    /// <summary>How many updates were added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds one silo's delta with its example count as weight.</summary>
    public void Add(ReadOnlySpan<float> delta, long exampleCount)
    {
        if (delta.Length != _sum.Length)
        {
            throw new ProtocolViolationException(
                FaultKind.InvalidArgument, $"update length {delta.Length} does not match {_sum.Length}");
        }

        if (exampleCount <= 0)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"example count {exampleCount} must be positive");
        }

        for (var i = 0; i < delta.Length; i++)
        {
            _sum[i] += delta[i] * (double)exampleCount;
        }

        _weight += exampleCount;
        Count++;
    }

    /// <summary>Returns global + weighted mean delta. Throws if nothing was added.</summary>
    public float[] Apply(ReadOnlySpan<float> global)
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("no update to aggregate");
        }

        if (global.Length != _sum.Length)
        {
            throw new ArgumentException($"global model length {global.Length} does not match {_sum.Length}", nameof(global));
        }

        var result = new float[global.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (float)(global[i] + (_sum[i] / _weight));
        }

        return result;
    }
}
