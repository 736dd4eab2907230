using SecureFed.Protocol;

namespace SecureFed.Agent;

/// <summary>
/// Trains the global model on the silo's own data. The data never leaves the implementation; only the
/// returned delta does (and, with secure aggregation, only masked).
/// </summary>
public interface ILocalTrainer
{
    /// <summary>The dataset name this silo holds (checked against the plan).</summary>
    string Dataset { get; }

    /// <summary>Trains from <paramref name="globalParameters"/> as the plan says and returns the update.</summary>
    Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken);
}

/// <summary>A silo's contribution: the delta from the global model and the number of examples it used.</summary>
public sealed record LocalUpdate(float[] Delta, long ExampleCount);
