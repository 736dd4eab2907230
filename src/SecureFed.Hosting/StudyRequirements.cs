namespace SecureFed.Hosting;

/// <summary>What a study requires of the coordinator that runs it, checked before a federation starts. Stateless.</summary>
public static class StudyRequirements
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> with the fix when the study asks for client-level privacy (unit
    /// <c>silo</c> or <c>both</c>) and the coordinator runs without a privacy plan.
    /// </summary>
    public static void Check(Studies.Study study, Protocol.PrivacyPlan? privacy, string setting)
    {
        ArgumentNullException.ThrowIfNull(study);
        if (study.Privacy is { SiloLevel: true } p && privacy is null)
        {
            throw new ArgumentException(
                $"study {study.Name} declares privacy unit \"{p.Unit}\", which needs client-level noise on the sum; set {setting} (or change the study's unit to \"record\")");
        }
    }
}
