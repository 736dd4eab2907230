namespace SecureFed.Deployment.Tests;

/// <summary>
/// A fact that needs root (CAP_SYS_ADMIN, to mount a small tmpfs for a full disk): it runs in CI, which runs as root,
/// and is reported as skipped, with the reason, for anyone else, so the README's test command works without root.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root to mount a small tmpfs (a full disk); CI runs it as root";
        }
    }
}
