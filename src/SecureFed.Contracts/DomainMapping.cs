using SecureFed.Contracts.V1;
using SecureFed.Protocol;

namespace SecureFed.Contracts;

/// <summary>Conversions between wire messages and domain records. Validation of values happens in the domain.</summary>
public static class DomainMapping
{
    /// <summary>Wire stage for a domain stage.</summary>
    public static V1.Stage ToWire(Protocol.Stage stage) => stage switch
    {
        Protocol.Stage.Hello => V1.Stage.Hello,
        Protocol.Stage.Plan => V1.Stage.Plan,
        Protocol.Stage.Train => V1.Stage.Train,
        Protocol.Stage.Result => V1.Stage.Result,
        Protocol.Stage.Aborted => V1.Stage.Result,
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "unknown stage"),
    };

    /// <summary>Header for a message of one federation, round and stage, carrying the current span's W3C trace context.</summary>
    public static Header Header(string federationId, long round, Protocol.Stage stage) => Header(federationId, round, ToWire(stage));

    /// <summary>Header for a message of one federation, round and wire stage, carrying the current span's W3C trace context.</summary>
    public static Header Header(string federationId, long round, V1.Stage stage) => new()
    {
        FederationId = federationId,
        Round = checked((ulong)round),
        Stage = stage,
        Traceparent = System.Diagnostics.Activity.Current?.Id ?? string.Empty,
    };

    /// <summary>The trace context a header carries, or default when absent or malformed.</summary>
    public static System.Diagnostics.ActivityContext TraceContext(Header? header) =>
        header is not null && System.Diagnostics.ActivityContext.TryParse(header.Traceparent, null, out var context) ? context : default;

    /// <summary>Wire form of a round plan.</summary>
    public static V1.RoundPlan ToWire(Protocol.RoundPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var wire = new V1.RoundPlan
        {
            Dataset = plan.Dataset,
            Model = new V1.ModelSpec
            {
                Kind = plan.Model.Kind,
                InputDim = checked((uint)plan.Model.InputDim),
                ClassCount = checked((uint)plan.Model.ClassCount),
                Hidden = checked((uint)plan.Model.Hidden),
            },
            Training = new V1.TrainingSettings
            {
                Epochs = checked((uint)plan.Training.Epochs),
                BatchSize = checked((uint)plan.Training.BatchSize),
                LearningRate = plan.Training.LearningRate,
                Seed = unchecked((ulong)plan.Training.Seed),
                Optimizer = plan.Training.Optimizer,
                Momentum = plan.Training.Momentum,
                WeightDecay = plan.Training.WeightDecay,
            },
            ModelVersionHash = plan.ModelVersionHash,
            ParameterCount = checked((uint)plan.ParameterCount),
            StageDeadlineUnixMs = plan.StageDeadline.ToUnixTimeMilliseconds(),
            PlanHash = plan.ComputeHash(),
            StudyHash = plan.StudyHash,
            Kind = plan.Kind,
            StatisticsHash = plan.StatisticsHash,
            Study = plan.StudyDocument,
        };
        wire.Participants.AddRange(plan.Participants);
        foreach (var t in plan.Tasks ?? [])
        {
            wire.Tasks.Add(new SumTaskSpec
            {
                Name = t.Name,
                Length = checked((uint)t.Length),
                RingBits = checked((uint)t.RingBits),
                ScaleBits = checked((uint)t.ScaleBits),
                MaxAbsValue = t.MaxAbsValue,
                ClipNorm = t.ClipNorm,
            });
        }

        if (plan.Statistics is { } statistics)
        {
            wire.Statistics.AddRange(statistics);
        }

        if (plan.Privacy is { } dp)
        {
            wire.Privacy = new PrivacySettings
            {
                ClipNorm = dp.ClipNorm,
                NoiseMultiplier = dp.NoiseMultiplier,
                Threshold = checked((uint)dp.Threshold),
                Colluding = checked((uint)dp.Colluding),
                Mechanism = dp.Mechanism,
                Accountant = dp.Accountant,
                Delta = dp.Delta,
                EpsilonBudget = dp.EpsilonBudget,
                ScaleBits = checked((uint)dp.ScaleBits),
            };
        }

        if (plan.SecureAggregation is { } sa)
        {
            wire.SecureAggregation = new SecureAggregationSettings
            {
                RingBits = (uint)sa.RingBits,
                ScaleBits = (uint)sa.ScaleBits,
                MaxAbsValue = sa.MaxAbsValue,
                Threshold = (uint)sa.Threshold,
                KeyStageTimeoutMs = (long)sa.KeyStageTimeout.TotalMilliseconds,
                MaskedInputTimeoutMs = (long)sa.MaskedInputTimeout.TotalMilliseconds,
                Graph = sa.Graph == SecureAggregationPlan.CompleteGraph ? "" : sa.Graph,
                GraphDegree = checked((uint)sa.GraphDegree),
                NeighbourhoodThreshold = checked((uint)sa.NeighbourhoodThreshold),
                GraphSeed = sa.GraphSeed,
                MaskPrg = sa.MaskPrg == Crypto.MaskPrgs.Aes256Ctr ? "" : sa.MaskPrg,
            };
        }

        return wire;
    }

    /// <summary>Domain form of a wire round plan; throws <see cref="ProtocolViolationException"/> when incomplete.</summary>
    public static Protocol.RoundPlan FromWire(Header header, V1.RoundPlan wire)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(wire);
        if (wire.Model is null || wire.Training is null)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "round plan without model or training settings");
        }

        var plan = new Protocol.RoundPlan(
            header.FederationId,
            checked((long)header.Round),
            wire.Dataset,
            new ModelDescriptor(wire.Model.Kind, checked((int)wire.Model.InputDim), checked((int)wire.Model.ClassCount), checked((int)wire.Model.Hidden)),
            new TrainingParameters(
                checked((int)wire.Training.Epochs), checked((int)wire.Training.BatchSize), wire.Training.LearningRate, unchecked((long)wire.Training.Seed),
                wire.Training.Optimizer.Length == 0 ? "sgd" : wire.Training.Optimizer, wire.Training.Momentum, wire.Training.WeightDecay),
            wire.ModelVersionHash,
            checked((int)wire.ParameterCount),
            [.. wire.Participants],
            DateTimeOffset.FromUnixTimeMilliseconds(wire.StageDeadlineUnixMs),
            wire.Privacy is { } dp
                ? new PrivacyPlan(dp.ClipNorm, dp.NoiseMultiplier, checked((int)dp.Threshold), checked((int)dp.Colluding), dp.Mechanism, dp.Accountant, dp.Delta, dp.EpsilonBudget, checked((int)dp.ScaleBits)).Validate()
                : null,
            wire.SecureAggregation is { } sa
                ? new SecureAggregationPlan(
                    checked((int)sa.RingBits), checked((int)sa.ScaleBits), sa.MaxAbsValue, checked((int)sa.Threshold),
                    TimeSpan.FromMilliseconds(sa.KeyStageTimeoutMs), TimeSpan.FromMilliseconds(sa.MaskedInputTimeoutMs),
                    sa.Graph.Length == 0 ? SecureAggregationPlan.CompleteGraph : sa.Graph, checked((int)sa.GraphDegree),
                    checked((int)sa.NeighbourhoodThreshold), sa.GraphSeed,
                    sa.MaskPrg.Length == 0 ? Crypto.MaskPrgs.Aes256Ctr : sa.MaskPrg).Validate()
                : null,
            wire.StudyHash,
            string.IsNullOrEmpty(wire.Kind) ? RoundKinds.Training : wire.Kind,
            wire.Tasks.Count == 0
                ? null
                : [.. wire.Tasks.Select(t => new SumTask(t.Name, checked((int)t.Length), checked((int)t.RingBits), checked((int)t.ScaleBits), t.MaxAbsValue, t.ClipNorm).Validate())],
            wire.Statistics.Count == 0 ? null : [.. wire.Statistics],
            wire.StatisticsHash,
            wire.Study);
        if (!RoundKinds.IsKnown(plan.Kind))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"round plan of unknown kind '{Truncate(plan.Kind)}'");
        }

        if (plan.Statistics is { } stats && !string.Equals(Protocol.RoundPlan.HashStatistics(stats), plan.StatisticsHash, StringComparison.Ordinal))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "round plan statistics do not match their hash");
        }

        if (!string.Equals(plan.ComputeHash(), wire.PlanHash, StringComparison.Ordinal))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "round plan hash does not match its contents");
        }

        return plan;
    }

    /// <summary>The wire form of a task name: empty for "training" (what peers written before tasks send).</summary>
    public static string WireTask(string task) => task == SumTask.Training ? string.Empty : task;

    /// <summary>The task a header names ("training" when empty).</summary>
    public static string TaskOf(Header? header) => header is null || string.IsNullOrEmpty(header.Task) ? SumTask.Training : header.Task;

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40];
}
