using System.Globalization;

namespace SecureFed.Audit.Internal;

/// <summary>Shape rules every entry obeys, checked on append and on verification.</summary>
internal static class EntryRules
{
    /// <summary>Null when <paramref name="c"/> is well-formed, else what is wrong (without an entry prefix).</summary>
    public static string? Check(LedgerEntryDraft c)
    {
        if (c.FederationId is null || c.PlanHash is null || c.ModelHashBefore is null || c.ModelHashAfter is null
            || c.TraceId is null || c.Aggregation is null || c.Participants is null || c.Stages is null)
        {
            return "a required field is null";
        }

        if (c.Kind is not (null or LedgerEntryKinds.Statistics or LedgerEntryKinds.Training or LedgerEntryKinds.Evaluation))
        {
            return $"kind '{c.Kind}' must be statistics, training or evaluation";
        }

        bool statistics = c.Kind == LedgerEntryKinds.Statistics;
        bool training = c.Kind is null or LedgerEntryKinds.Training;
        if (statistics && c.Round != 0)
        {
            return $"a statistics entry has round 0, not {c.Round}";
        }

        if (!statistics && c.Round < 1)
        {
            return $"round {c.Round} must be at least 1 (only a statistics entry has round 0)";
        }

        if (c.Attempt < 1)
        {
            return $"attempt {c.Attempt} must be at least 1";
        }

        if (c.StudyHash is { } study && !IsHex(study, 64))
        {
            return "the study hash is not 64 lowercase hex characters";
        }

        if (c.StatisticsHash is { } statisticsHash && !IsHex(statisticsHash, 64))
        {
            return "the statistics hash is not 64 lowercase hex characters";
        }

        if (c.Status is not (RoundStatus.Completed or RoundStatus.Aborted))
        {
            return $"status {c.Status} is not completed or aborted";
        }

        if (c.AbortReason is { } reason
            && (c.Status != RoundStatus.Aborted || reason.Length > LedgerEntryDraft.MaxReasonLength || reason.Any(char.IsControl)))
        {
            return $"an abort reason belongs to an aborted entry only, in one line of at most {LedgerEntryDraft.MaxReasonLength} characters";
        }

        foreach (var f in c.Faults ?? [])
        {
            if (f is null || string.IsNullOrEmpty(f.SiloId) || string.IsNullOrEmpty(f.Fault) || f.Fault.Length > LedgerEntryDraft.MaxReasonLength || f.Fault.Any(char.IsControl))
            {
                return $"a fault names no silo or is not one line of at most {LedgerEntryDraft.MaxReasonLength} characters";
            }
        }

        foreach (var o in c.Outcomes ?? [])
        {
            if (o is null || string.IsNullOrEmpty(o.SiloId) || !LedgerSiloOutcome.Known.Contains(o.Outcome)
                || (o.Reason is { } why && (o.Outcome != "refused" || why.Length > LedgerEntryDraft.MaxReasonLength || why.Any(char.IsControl))))
            {
                return "an outcome names no silo, is not contributed, refused, rejected or dropped, or carries a reason that is not a refusal's one bounded line";
            }
        }

        if (c.PlannedRounds is < 0)
        {
            return "the planned rounds are negative";
        }

        if (c.ModelKind is { } model && (model.Length == 0 || model.Length > LedgerEntryDraft.MaxNameLength || model.Any(char.IsControl)))
        {
            return $"the model kind is not one line of 1 to {LedgerEntryDraft.MaxNameLength} characters";
        }

        if (c.StudyName is { } name && (name.Length == 0 || name.Length > LedgerEntryDraft.MaxNameLength || name.Any(char.IsControl)))
        {
            return $"the study name is not one line of 1 to {LedgerEntryDraft.MaxNameLength} characters";
        }

        if (c.Aggregation is not ("secure" or "plain"))
        {
            return $"aggregation '{c.Aggregation}' must be secure or plain";
        }

        foreach (var p in c.Participants)
        {
            if (p?.SiloId is null || p.CertificateSha256 is null || !IsHex(p.CertificateSha256, 64))
            {
                return "a participant's certificate fingerprint is not 64 lowercase hex characters";
            }
        }

        var s = c.Stages;
        if (s.Invited < 0 || s.Contributors < 0 || s.Dropouts < 0 || s.Refused < 0 || s.Rejected < 0)
        {
            return "a stage count is negative";
        }

        if (CheckEvaluation(c, statistics) is { } evaluationProblem)
        {
            return evaluationProblem;
        }

        if (c.Privacy is { } p2)
        {
            if (p2.Mechanism is null || p2.Accountant is null)
            {
                return "a privacy field is null";
            }

            if (!(p2.Delta is > 0 and < 1) || !(p2.NoiseMultiplier > 0) || !(p2.ClipNorm > 0) || !(p2.EpsilonBudget >= 0)
                || !double.IsFinite(p2.NoiseMultiplier) || !double.IsFinite(p2.ClipNorm) || !double.IsFinite(p2.EpsilonBudget))
            {
                return "a privacy parameter is out of range (delta in (0, 1), noise multiplier and clip norm > 0, budget >= 0)";
            }

            if (p2.Accountant is not ("rdp" or "exact"))
            {
                return $"accountant '{p2.Accountant}' must be rdp or exact";
            }

            if (c.CumulativeEpsilon is null)
            {
                return "privacy is set but the cumulative epsilon is missing";
            }

            bool charged = c.Status == RoundStatus.Completed;
            if (charged && training && c.EffectiveNoiseMultiplier is null)
            {
                return "a completed round with privacy has no effective noise multiplier";
            }

            if (!training && c.EffectiveNoiseMultiplier is not null)
            {
                return $"a {c.Kind} entry carries an effective noise multiplier (its charges belong in its releases)";
            }

            if (!charged && c.EffectiveNoiseMultiplier is not null)
            {
                return "an aborted round carries an effective noise multiplier";
            }

            if (CheckReleases(c, statistics) is { } releaseProblem)
            {
                return releaseProblem;
            }
        }
        else if (c.CumulativeEpsilon is not null || c.EffectiveNoiseMultiplier is not null)
        {
            return "no privacy parameters, yet an effective noise multiplier or epsilon is set";
        }
        else if (c.Releases is { Count: > 0 })
        {
            return "no privacy parameters, yet privacy-charged releases are listed";
        }

        if (CheckRecordPrivacy(c) is { } recordProblem)
        {
            return recordProblem;
        }

        if (c.EffectiveNoiseMultiplier is { } zeff && !(zeff > 0 && double.IsFinite(zeff)))
        {
            return $"effective noise multiplier {Format(zeff)} must be finite and > 0";
        }

        if (c.CumulativeEpsilon is { } e && !(e.Rdp >= 0 && e.Exact >= 0))
        {
            return "a cumulative epsilon is negative or not a number";
        }

        return null;
    }

    private static string? CheckEvaluation(LedgerEntryDraft c, bool statistics)
    {
        // A completed evaluation entry may lack one: an evaluation that counted no examples has no accuracy to record.
        if (c.Evaluation is not { } e)
        {
            return null;
        }

        if (statistics)
        {
            return "a statistics entry carries an evaluation";
        }

        if (c.Status != RoundStatus.Completed)
        {
            return "an aborted round carries an evaluation";
        }

        if (e.ModelHash is null)
        {
            return "the evaluation's model hash is null";
        }

        // The record stands for a finished evaluation: no examples means no accuracy, so no record.
        if (e.Examples < 1 || e.Correct < 0 || e.Contributors < 0)
        {
            return Invariant($"evaluation counts need examples >= 1, correct >= 0 and contributors >= 0; got examples {e.Examples}, correct {e.Correct}, contributors {e.Contributors}");
        }

        if (e.Correct > e.Examples)
        {
            return Invariant($"the evaluation counts {e.Correct} correct of {e.Examples} examples");
        }

        if (!(e.Accuracy is >= 0 and <= 1))
        {
            return $"evaluation accuracy {Format(e.Accuracy)} must be in [0, 1]";
        }

        if (!(e.LossSum >= 0 && double.IsFinite(e.LossSum)) || !(e.Loss >= 0 && double.IsFinite(e.Loss)))
        {
            return $"evaluation loss sum {Format(e.LossSum)} and loss {Format(e.Loss)} must be finite and >= 0";
        }

        return null;
    }

    // Each logged DP-SGD spend must be something an auditor can compose: positive sigma, q in (0, 1], steps >= 1.
    private static string? CheckRecordPrivacy(LedgerEntryDraft c)
    {
        foreach (var r in c.RecordPrivacy ?? [])
        {
            if (r is null || string.IsNullOrEmpty(r.SiloId))
            {
                return "a record-level privacy spend names no silo";
            }

            if (!(r.NoiseMultiplier > 0 && double.IsFinite(r.NoiseMultiplier)) || !(r.SamplingRate > 0 && r.SamplingRate <= 1) || r.Steps < 1
                || !(r.Delta > 0 && r.Delta < 1) || r.Accountant is not ("rdp" or "pld"))
            {
                return $"silo {r.SiloId}'s record-level spend (noise multiplier {Format(r.NoiseMultiplier)}, q {Format(r.SamplingRate)}, {r.Steps} steps, delta {Format(r.Delta)}, {r.Accountant}) is out of range";
            }
        }

        return null;
    }

    // Called with privacy set; without privacy, releases are refused outright.
    private static string? CheckReleases(LedgerEntryDraft c, bool statistics)
    {
        var releases = c.Releases ?? [];
        foreach (var release in releases)
        {
            // An aborted attempt may still have shown the coordinator single uploads (plain aggregation): charged as a
            // release of its task, training included. A completed entry charges its training update in its own field.
            var allowed = c.Status == RoundStatus.Completed
                ? release?.Task is LedgerEntryKinds.Statistics or LedgerEntryKinds.Evaluation
                : release?.Task is LedgerEntryKinds.Statistics or LedgerEntryKinds.Evaluation or LedgerEntryKinds.Training;
            if (!allowed)
            {
                return c.Status == RoundStatus.Completed
                    ? $"release task '{release?.Task}' must be statistics or evaluation"
                    : $"release task '{release?.Task}' must be training, statistics or evaluation";
            }

            double z = release!.EffectiveNoiseMultiplier;
            if (!(z > 0 && double.IsFinite(z)))
            {
                return $"the {release.Task} release's effective noise multiplier {Format(z)} must be finite and > 0";
            }
        }

        // Under DP every release of silo data is charged: statistics or an evaluation released without a charge
        // would make the cumulative epsilon an under-statement.
        if (c.Status == RoundStatus.Completed && statistics && !releases.Any(r => r.Task == LedgerEntryKinds.Statistics))
        {
            return "a completed statistics entry with privacy charges no statistics release";
        }

        if (c.Evaluation is not null && !releases.Any(r => r.Task == LedgerEntryKinds.Evaluation))
        {
            return "an entry with privacy carries an evaluation but charges no evaluation release";
        }

        return null;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    public static bool IsHex(string value, int length)
    {
        if (value.Length != length)
        {
            return false;
        }

        foreach (char ch in value)
        {
            if (ch is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
