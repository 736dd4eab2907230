using SecureFed.Protocol;

namespace SecureFed.Agent;

/// <summary>
/// The silo's own rules, applied to every plan whatever the coordinator wants: the coordinator has no
/// administrative control over a silo. Immutable.
/// </summary>
public sealed record LocalPolicy
{
    /// <summary>Datasets this silo may train on; empty allows the silo's own dataset only.</summary>
    public IReadOnlyList<string> AllowedDatasets { get; init; } = [];

    /// <summary>Model kinds this silo may train.</summary>
    public IReadOnlyList<string> AllowedModels { get; init; } = ["logreg", "mlp"];

    /// <summary>Fewest participants in a round this silo joins (a small cohort reveals more about each member).</summary>
    public int MinCohort { get; init; } = 1;

    /// <summary>Most local epochs per round.</summary>
    public int MaxEpochs { get; init; } = 50;

    /// <summary>Largest model (parameters) this silo accepts.</summary>
    public int MaxParameters { get; init; } = 10_000_000;

    /// <summary>Throws <see cref="PolicyRefusedException"/> naming the rule a plan breaks.</summary>
    public void Check(RoundPlan plan, string ownDataset)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var datasets = AllowedDatasets.Count > 0 ? AllowedDatasets : [ownDataset];
        if (!datasets.Contains(plan.Dataset, StringComparer.Ordinal))
        {
            throw new PolicyRefusedException($"dataset '{plan.Dataset}' is not allowed by this silo's policy (allowed: {string.Join(", ", datasets)})");
        }

        if (!AllowedModels.Contains(plan.Model.Kind, StringComparer.Ordinal))
        {
            throw new PolicyRefusedException($"model '{plan.Model.Kind}' is not allowed by this silo's policy (allowed: {string.Join(", ", AllowedModels)})");
        }

        if (plan.Participants.Count < MinCohort)
        {
            throw new PolicyRefusedException($"cohort of {plan.Participants.Count} is below this silo's minimum of {MinCohort}");
        }

        if (plan.Training.Epochs > MaxEpochs)
        {
            throw new PolicyRefusedException($"{plan.Training.Epochs} epochs exceed this silo's maximum of {MaxEpochs}");
        }

        if (plan.ParameterCount > MaxParameters)
        {
            throw new PolicyRefusedException($"model of {plan.ParameterCount} parameters exceeds this silo's maximum of {MaxParameters}");
        }
    }
}
