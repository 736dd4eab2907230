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

    /// <summary>
    /// The charge of the coordinator learning <paramref name="task"/>'s sum over <paramref name="covered"/> silos in one
    /// attempt: a training sum priced as the round would be (under plain aggregation, one silo's share of the noise,
    /// since each upload is seen alone), a statistics or evaluation sum at its own clip norm. Null when nothing is
    /// charged (no privacy, nothing covered, or a task that is not privatized).
    /// </summary>
    public FederationStore.ReleaseRow? Priced(Protocol.RoundPlan plan, int attempt, SumTask task, int covered)
    {
        if (plan.Privacy is not { } dp || covered <= 0)
        {
            return null;
        }

        var secure = plan.SecureAggregation is not null;
        if (task.Name == SumTask.Training)
        {
            var priced = PrivacyCharge.Price(dp, covered, task.Length, secure);
            return new FederationStore.ReleaseRow(plan.Round, attempt, task.Name, priced.NoiseMultiplier, covered) { Pricing = priced };
        }

        return task.ClipNorm > 0
            ? new FederationStore.ReleaseRow(plan.Round, attempt, task.Name, PrivacyCharge.ReleaseNoiseMultiplier(dp, task, covered, secure), covered)
            : null;
    }

    /// <summary>Epsilon spent so far by the plan's accountant, with optional new charges not yet stored.</summary>
    public double Spent(int dimension, FederationStore.PrivacyChargeRow? charge = null, IReadOnlyList<FederationStore.ReleaseRow>? releases = null)
    {
        if (options.Privacy is not { } dp)
        {
            return double.NaN;
        }

        var history = Stored();
        if (charge is not null)
        {
            history.Add(charge.Pricing);
        }

        history.AddRange((releases ?? []).Select(r => r.Pricing));
        return PrivacyCharge.CumulativeEpsilon(history, dp.Accountant, dp.Delta);
    }

    /// <summary>
    /// The consortium's budget, checked before a round starts with the round's worst-case charge (exactly t
    /// survivors for every release it makes) under the current plan: returns why the federation must stop, or null.
    /// </summary>
    public string? CheckBudget(string kind, int dimension)
    {
        if (options.Privacy is not { EpsilonBudget: > 0 } dp)
        {
            return null;
        }

        var history = Stored();
        var spent = PrivacyCharge.CumulativeEpsilon(history, dp.Accountant, dp.Delta);
        history.AddRange(WorstCaseRound(dp, kind, dimension));
        var wouldSpend = PrivacyCharge.CumulativeEpsilon(history, dp.Accountant, dp.Delta);
        return wouldSpend <= dp.EpsilonBudget
            ? null
            : $"privacy budget exhausted: {new PrivacyBudgetExhaustedException(spent, wouldSpend, dp.EpsilonBudget, dp.Delta).Message}";
    }

    /// <summary>
    /// How many more rounds of <paramref name="kind"/> the consortium's budget covers from what the store has charged,
    /// each at its worst case (exactly t contributors, every release of the round), counted up to
    /// <paramref name="planned"/> + 1; null without a budget.
    /// </summary>
    public int? RoundsCovered(string kind, int dimension, int planned)
    {
        if (options.Privacy is not { EpsilonBudget: > 0 } dp)
        {
            return null;
        }

        var history = Stored();
        var perRound = WorstCaseRound(dp, kind, dimension);
        for (var rounds = 0; rounds <= planned; rounds++)
        {
            history.AddRange(perRound);
            if (PrivacyCharge.CumulativeEpsilon(history, dp.Accountant, dp.Delta) > dp.EpsilonBudget)
            {
                return rounds;
            }
        }

        return planned + 1;
    }

    /// <summary>Every release one round of <paramref name="kind"/> makes, each charged at its worst case (exactly t contributors).</summary>
    private List<PricedCharge> WorstCaseRound(PrivacyPlan dp, string kind, int dimension)
    {
        var charges = new List<PricedCharge>();
        foreach (var task in TasksFor(kind, dimension))
        {
            if (task.Name == SumTask.Training)
            {
                charges.Add(PrivacyCharge.Price(dp, dp.Threshold, dimension, Secure));
            }
            else if (task.ClipNorm > 0)
            {
                charges.Add(PricedCharge.Gaussian(PrivacyCharge.ReleaseNoiseMultiplier(dp, task, dp.Threshold, Secure)));
            }
        }

        return charges;
    }

    /// <summary>The charge of a round with <paramref name="survivors"/> contributors: the noise actually present, priced now and stored so.</summary>
    public FederationStore.PrivacyChargeRow? Charge(Protocol.RoundPlan plan, long round, int survivors)
    {
        if (plan.Privacy is not { } dp)
        {
            return null;
        }

        var priced = PrivacyCharge.Price(dp, survivors, plan.ParameterCount, plan.SecureAggregation is not null);
        var history = Stored();
        history.Add(priced);
        var epsilon = PrivacyCharge.CumulativeEpsilon(history, dp.Accountant, dp.Delta);
        var accountant = dp.Mechanism == "discrete-gaussian" ? "kls-rdp" : dp.Accountant;
        return new FederationStore.PrivacyChargeRow(round, priced.NoiseMultiplier, 1.0, 1, survivors, accountant, dp.Delta, epsilon) { Pricing = priced };
    }

    /// <summary>Whether releases are summed under secure aggregation (else the coordinator sees each silo's vector).</summary>
    private bool Secure => options.SecureAggregation is not null;

    /// <summary>
    /// What changed in the privacy settings since the last ledger entry was drafted (a coordinator restarted with other
    /// settings), as one line for the next entry, or null when nothing did. <see cref="RecordSettings"/> after drafting.
    /// </summary>
    public string? SettingsChange()
    {
        var before = store.PrivacySettings();
        var now = Describe(options.Privacy);
        return before is null || before == now ? null : $"privacy settings changed since the previous entry: {before} -> {now}";
    }

    /// <summary>Marks the current privacy settings as the ones the ledger has seen.</summary>
    public void RecordSettings() => store.SetPrivacySettings(Describe(options.Privacy));

    /// <summary>The settings that price a release, in one invariant line.</summary>
    private static string Describe(PrivacyPlan? dp) => dp is null
        ? "none"
        : FormattableString.Invariant(
            $"mechanism {dp.Mechanism}, noise multiplier {dp.NoiseMultiplier:R}, clip norm {dp.ClipNorm:R}, threshold {dp.Threshold}, colluding {dp.Colluding}, scale bits {dp.ScaleBits}, accountant {dp.Accountant}, delta {dp.Delta:R}, budget {dp.EpsilonBudget:R}");

    /// <summary>
    /// Every release the store has charged, each exactly as it was priced then (training rounds and every other release
    /// with their stored pricing): later settings never re-price them.
    /// </summary>
    private List<PricedCharge> Stored() =>
        [.. store.PrivacyCharges().Select(c => c.Pricing), .. store.PrivacyReleases().Select(r => r.Pricing)];
}
