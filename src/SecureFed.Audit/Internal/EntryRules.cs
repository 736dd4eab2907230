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

        if (c.Round < 1 || c.Attempt < 1)
        {
            return $"round {c.Round} and attempt {c.Attempt} must be at least 1";
        }

        if (c.Status is not (RoundStatus.Completed or RoundStatus.Aborted))
        {
            return $"status {c.Status} is not completed or aborted";
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
            if (charged && c.EffectiveNoiseMultiplier is not { } z)
            {
                return "a completed round with privacy has no effective noise multiplier";
            }

            if (!charged && c.EffectiveNoiseMultiplier is not null)
            {
                return "an aborted round carries an effective noise multiplier";
            }
        }
        else if (c.CumulativeEpsilon is not null || c.EffectiveNoiseMultiplier is not null)
        {
            return "no privacy parameters, yet an effective noise multiplier or epsilon is set";
        }

        if (c.EffectiveNoiseMultiplier is { } zeff && !(zeff > 0 && double.IsFinite(zeff)))
        {
            return $"effective noise multiplier {zeff.ToString("R", CultureInfo.InvariantCulture)} must be finite and > 0";
        }

        if (c.CumulativeEpsilon is { } e && !(e.Rdp >= 0 && e.Exact >= 0))
        {
            return "a cumulative epsilon is negative or not a number";
        }

        return null;
    }

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
