using Microsoft.Extensions.Logging;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Protocol;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Sends a model to the silos of a round and runs the evaluation task's sum over their held-out rows (DESIGN
/// section 7): the coordinator learns the summed examples, correct predictions, loss and confusion counts only.
/// </summary>
internal sealed class EvaluationStage(SessionRegistry registry, int maxChunkFloats, ILogger logger)
{
    // The chunk bodies of the last model sent, shared by every silo's messages (they are never changed once built), so
    // sending one model to N silos copies it into messages once, not N times. Keyed by the array and by the round, model
    // hash and stage, so even a model changed in place between stages or rounds is never served stale.
    private SentModel? _lastModel;

    /// <summary>Sends <paramref name="parameters"/> to one silo in chunks under <paramref name="stage"/>. The caller must not
    /// change <paramref name="parameters"/> after sending it (the model of a round is never changed in place).</summary>
    public void SendModel(AgentSession session, Protocol.RoundPlan plan, Contracts.V1.Stage stage, float[] parameters)
    {
        foreach (var chunk in ChunksOf(parameters, $"{plan.Round}/{plan.ModelVersionHash}/{stage}"))
        {
            session.TrySend(new CoordinatorMessage { Header = DomainMapping.Header(plan.FederationId, plan.Round, stage), ModelChunk = chunk });
        }
    }

    private ModelChunk[] ChunksOf(float[] parameters, string key)
    {
        var last = Volatile.Read(ref _lastModel);
        if (last is not null && ReferenceEquals(last.Parameters, parameters) && last.Key == key)
        {
            return last.Chunks;
        }

        var chunks = VectorAssembler.Chunk<float>(parameters, maxChunkFloats).Select(c =>
        {
            var chunk = new ModelChunk { Offset = (uint)c.Offset, TotalLength = (uint)parameters.Length };
            WireVectors.Append(chunk.Values, c.Values);
            return chunk;
        }).ToArray();
        Volatile.Write(ref _lastModel, new SentModel(parameters, key, chunks));
        return chunks;
    }

    private sealed record SentModel(float[] Parameters, string Key, ModelChunk[] Chunks);

    /// <summary>
    /// The second task of a training round: the silos evaluate the model the round just produced on their held-out
    /// rows, and only the sum of their evaluation vectors reaches the coordinator. Null when too few took part
    /// (the round still completes: its model was released; it just has no federated metrics).
    /// </summary>
    public async Task<FederatedMetrics?> RunAsync(
        RoundState state, Protocol.RoundPlan plan, SumTask task, float[] model, ISumStage sum, int needed, CancellationToken ct)
    {
        state.BeginUploads(task.Name);
        var hash = ModelHash.Compute(model);
        var span = StageSupport.StartStage("evaluate", task.Name);
        foreach (var id in state.Accepted())
        {
            if (registry.Find(id) is { } session
                && session.TrySend(new CoordinatorMessage
                {
                    Header = DomainMapping.Header(plan.FederationId, plan.Round, Contracts.V1.Stage.Evaluate),
                    EvaluateModel = new EvaluateModel { ModelVersionHash = hash, ParameterCount = (uint)model.Length },
                }))
            {
                SendModel(session, plan, Contracts.V1.Stage.Evaluate, model);
            }
        }

        StageSupport.EndStage(span, state.Accepted().Count);
        var outcome = await sum.RunAsync(state, task, needed, ct);
        if (outcome.AbortReason is { } why)
        {
            Log.EvaluationFailed(logger, plan.Round, why);
            return null;
        }

        var metrics = EvaluationSums.Decode(outcome.Sum, plan.Model.ClassCount, outcome.Contributors);
        Log.Evaluated(logger, hash, metrics.Examples, metrics.Contributors, metrics.Accuracy);
        return metrics;
    }
}
