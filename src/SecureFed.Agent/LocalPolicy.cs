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

    /// <summary>Study hashes (canonical, 64 hex) this silo accepts; empty accepts any study its own file fits.</summary>
    public IReadOnlyList<string> AllowedStudies { get; init; } = [];

    /// <summary>Model kinds this silo may train.</summary>
    public IReadOnlyList<string> AllowedModels { get; init; } = ["logreg", "mlp", "cnn"];

    /// <summary>Fewest participants in a round this silo joins (a small cohort reveals more about each member).</summary>
    public int MinCohort { get; init; } = 1;

    /// <summary>Most local epochs per round.</summary>
    public int MaxEpochs { get; init; } = 50;

    /// <summary>Largest model (parameters) this silo accepts.</summary>
    public int MaxParameters { get; init; } = 10_000_000;

    /// <summary>Refuse plans without differential privacy.</summary>
    public bool RequirePrivacy { get; init; }

    /// <summary>Smallest central noise multiplier this silo accepts.</summary>
    public double MinNoiseMultiplier { get; init; }

    /// <summary>This silo's own epsilon cap over everything it releases (0: none).</summary>
    public double EpsilonCap { get; init; }

    /// <summary>Delta at which this silo measures its epsilon.</summary>
    public double Delta { get; init; } = 1e-5;

    /// <summary>The accountant this silo measures its epsilon with.</summary>
    public string Accountant { get; init; } = "rdp";

    /// <summary>
    /// This silo's own cap on the record-level epsilon its DP-SGD spends over every round it trains in (0: none), at
    /// the study's delta and accountant.
    /// </summary>
    public double RecordEpsilonCap { get; init; }

    /// <summary>
    /// Throws <see cref="PolicyRefusedException"/> when training for the plan would take this silo's record-level
    /// epsilon past <see cref="RecordEpsilonCap"/> (given what its ledger holds and what the round would spend).
    /// </summary>
    public void CheckRecordPrivacy(RecordSpend? next, SiloPrivacyLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        if (next is null || (RecordEpsilonCap <= 0 && next.Target is null))
        {
            return;
        }

        var would = ledger.RecordEpsilon(next.Accountant, next.Delta, next);

        // The noise was calibrated to the study's planned rounds: a round beyond them (a coordinator running more, or
        // retries) would spend past the study's own target, which is refused like a cap.
        if (next.Target is { } target && would > target * (1 + 1e-9))
        {
            throw new PolicyRefusedException(FormattableString.Invariant(
                $"this round's DP-SGD would take this silo's record-level epsilon to {would:F4}, past the study's target of {target:G6} (its planned rounds are spent); the consortium needs a new study to train further"));
        }

        if (RecordEpsilonCap > 0 && would > RecordEpsilonCap)
        {
            throw new PolicyRefusedException(FormattableString.Invariant(
                $"this round's DP-SGD would take this silo's record-level epsilon to {would:F4} (spent {ledger.RecordEpsilon(next.Accountant, next.Delta):F4}), above its cap of {RecordEpsilonCap:F4} at delta {next.Delta:G3}"));
        }
    }

    /// <summary>
    /// k of the encoding check: under secure aggregation with privacy, each task's clamp bound must be at least
    /// C + k·sigma (the clipped value plus k of this silo's noise standard deviations), so that clamping does not
    /// cut into the noise, and its fixed-point step no coarser than sigma.
    /// </summary>
    public double ClampSigmas { get; init; } = 4.0;

    /// <summary>
    /// Throws <see cref="PolicyRefusedException"/> unless the plan's privacy meets this silo's rules: privacy
    /// required, minimum noise, and the silo's own epsilon cap given its own ledger (charged at the plan's worst case).
    /// </summary>
    public void CheckPrivacy(RoundPlan plan, SiloPrivacyLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ledger);
        if (plan.Privacy is not { } dp)
        {
            if (RequirePrivacy || EpsilonCap > 0)
            {
                throw new PolicyRefusedException("this silo's policy requires differential privacy; the plan has none");
            }

            return;
        }

        CheckEncoding(plan, dp);
        if (dp.NoiseMultiplier < MinNoiseMultiplier)
        {
            throw new PolicyRefusedException($"noise multiplier {dp.NoiseMultiplier:G6} is below this silo's minimum of {MinNoiseMultiplier:G6}");
        }

        if (EpsilonCap > 0)
        {
            var kind = SecureFed.Privacy.PrivacyAccountants.ParseKind(Accountant);
            var z = PrivacyCharge.WorstCaseNoiseMultiplier(dp, plan.ParameterCount, plan.SecureAggregation is not null);
            var would = ledger.EpsilonWith(z, kind, Delta);
            if (would > EpsilonCap)
            {
                throw new PolicyRefusedException(
                    $"this round would take this silo's epsilon to {would:F4} (spent {ledger.Epsilon(kind, Delta):F4}), above its cap of {EpsilonCap:F4} at delta {Delta:G3}");
            }
        }
    }

    /// <summary>
    /// A coordinator chooses each sum task's clamp bound and fixed-point scale; this silo accepts them only when they
    /// leave its clipped, noised values intact: bound at least C + k·sigma, step 2^-f at most sigma, and for the discrete
    /// mechanism the grid its noise was drawn on.
    /// </summary>
    private void CheckEncoding(RoundPlan plan, PrivacyPlan dp)
    {
        if (plan.SecureAggregation is null)
        {
            return;
        }

        foreach (var task in plan.TaskList.Where(t => t.ClipNorm > 0))
        {
            var sigma = PrivacyCharge.PerClientSigma(dp with { ClipNorm = task.ClipNorm });
            var needed = task.ClipNorm + (ClampSigmas * sigma);
            if (task.MaxAbsValue < needed)
            {
                throw new PolicyRefusedException(FormattableString.Invariant(
                    $"task {SumTask.Printable(task.Name)} clamps at {task.MaxAbsValue:G6}, inside this silo's clip norm plus {ClampSigmas:G3} noise deviations ({task.ClipNorm:G6} + {ClampSigmas:G3} x {sigma:G6} = {needed:G6}); the coordinator must raise the bound (SecureAggregation MaxAbsValue)"));
            }

            if (Math.Pow(2, -task.ScaleBits) > sigma)
            {
                throw new PolicyRefusedException(FormattableString.Invariant(
                    $"task {SumTask.Printable(task.Name)} encodes in steps of 2^-{task.ScaleBits}, coarser than this silo's noise deviation {sigma:G6}; the coordinator must use more scale bits"));
            }

            if (task.Name == SumTask.Training && dp.Mechanism == "discrete-gaussian" && task.ScaleBits != dp.ScaleBits)
            {
                throw new PolicyRefusedException(FormattableString.Invariant(
                    $"the discrete mechanism draws noise on the 2^-{dp.ScaleBits} grid but the training task encodes at 2^-{task.ScaleBits}; the coordinator must use the privacy plan's scale bits"));
            }
        }
    }

    /// <summary>Throws <see cref="PolicyRefusedException"/> naming the rule a plan breaks.</summary>
    public void Check(RoundPlan plan, string ownDataset)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (AllowedStudies.Count > 0 && !AllowedStudies.Contains(plan.StudyHash, StringComparer.OrdinalIgnoreCase))
        {
            throw new PolicyRefusedException(
                $"study {(plan.StudyHash.Length == 0 ? "(none)" : plan.StudyHash)} is not pinned by this silo's policy (allowed: {string.Join(", ", AllowedStudies)})");
        }

        // A silo serving whatever study its file fits (ownDataset empty) checks the columns instead of a name.
        var datasets = AllowedDatasets.Count > 0 ? AllowedDatasets : [ownDataset];
        if ((AllowedDatasets.Count > 0 || ownDataset.Length > 0) && !datasets.Contains(plan.Dataset, StringComparer.Ordinal))
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
