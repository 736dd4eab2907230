using SecureFed.Privacy;
using SecureFed.Protocol;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Which vectors a round sums and what each release costs: the tasks of each round kind, the consortium budget
/// checked before a round with its worst case, and the charges of the training update and of every statistics and
/// evaluation release (DESIGN sections 4 and 7). Reads the store; stateless otherwise.
/// </summary>
internal sealed class RoundPrivacy(CoordinatorOptions options, FederationStore store)
{
    /// <summary>The tasks a round of <paramref name="kind"/> sums, in order (DESIGN section 7).</summary>
    public IReadOnlyList<SumTask> TasksFor(string kind, int parameterCount, int silos = 2047)
    {
        var dp = options.Privacy;
        var evaluation = SumTask.ForEvaluation(Math.Max(2, options.Model.ClassCount), dp is null ? 0 : options.EvaluationClipNorm, Math.Max(1, silos));
        return kind switch
        {
            RoundKinds.Statistics => [SumTask.ForStatistics(options.StatisticsLength, dp is null ? 0 : options.StatisticsClipNorm, Math.Max(1, silos))],
            RoundKinds.Evaluation => [evaluation],
            RoundKinds.Training => options.FederatedEvaluation
                ? [SumTask.ForTraining(parameterCount, options.SecureAggregation, dp), evaluation]
                : [SumTask.ForTraining(parameterCount, options.SecureAggregation, dp)],
            _ => throw new InvalidOperationException($"unknown round kind {kind}"),
        };
    }

    /// <summary>The charge of a statistics or evaluation release under privacy (null when the release is not privatized).</summary>
    public FederationStore.ReleaseRow? Release(Protocol.RoundPlan plan, int attempt, SumTask task, int contributors) =>
        plan.Privacy is { } dp && task.Name != SumTask.Training && task.ClipNorm > 0
            ? new FederationStore.ReleaseRow(plan.Round, attempt, task.Name, PrivacyCharge.ReleaseNoiseMultiplier(dp, task, contributors), contributors)
            : null;

    /// <summary>Epsilon spent so far by the plan's accountant, with optional new charges not yet stored.</summary>
    public double Spent(int dimension, FederationStore.PrivacyChargeRow? charge = null, IReadOnlyList<FederationStore.ReleaseRow>? releases = null)
    {
        if (options.Privacy is not { } dp)
        {
            return double.NaN;
        }

        var (history, others) = Stored();
        if (charge is not null)
        {
            history.Add(charge.Survivors);
        }

        others.AddRange((releases ?? []).Select(r => r.NoiseMultiplier));
        return PrivacyCharge.CumulativeEpsilon(dp, history, dimension, others);
    }

    /// <summary>
    /// The consortium's budget, checked before a round starts with the round's worst-case charge (exactly t
    /// survivors for every release it makes): returns why the federation must stop, or null.
    /// </summary>
    public string? CheckBudget(string kind, int dimension)
    {
        if (options.Privacy is not { EpsilonBudget: > 0 } dp)
        {
            return null;
        }

        var (history, others) = Stored();
        var spent = PrivacyCharge.CumulativeEpsilon(dp, history, dimension, others);
        foreach (var task in TasksFor(kind, dimension))
        {
            if (task.Name == SumTask.Training)
            {
                history.Add(dp.Threshold);
            }
            else if (task.ClipNorm > 0)
            {
                others.Add(PrivacyCharge.ReleaseNoiseMultiplier(dp, task, dp.Threshold));
            }
        }

        var wouldSpend = PrivacyCharge.CumulativeEpsilon(dp, history, dimension, others);
        return wouldSpend <= dp.EpsilonBudget
            ? null
            : $"privacy budget exhausted: {new PrivacyBudgetExhaustedException(spent, wouldSpend, dp.EpsilonBudget, dp.Delta).Message}";
    }

    /// <summary>The charge of a round with <paramref name="survivors"/> contributors: the noise actually present.</summary>
    public FederationStore.PrivacyChargeRow? Charge(Protocol.RoundPlan plan, long round, int survivors)
    {
        if (plan.Privacy is not { } dp)
        {
            return null;
        }

        var z = PrivacyCharge.EffectiveNoiseMultiplier(dp, survivors, plan.ParameterCount);
        var (history, others) = Stored();
        history.Add(survivors);
        var epsilon = PrivacyCharge.CumulativeEpsilon(dp, history, plan.ParameterCount, others);
        var accountant = dp.Mechanism == "discrete-gaussian" ? "kls-rdp" : dp.Accountant;
        return new FederationStore.PrivacyChargeRow(round, z, 1.0, 1, survivors, accountant, dp.Delta, epsilon);
    }

    /// <summary>What the store has charged so far: each training round's survivors, and every other release's multiplier.</summary>
    private (List<int> TrainingSurvivors, List<double> Releases) Stored() =>
        ([.. store.PrivacyCharges().Select(c => c.Survivors)], [.. store.PrivacyReleases().Select(r => r.NoiseMultiplier)]);
}
