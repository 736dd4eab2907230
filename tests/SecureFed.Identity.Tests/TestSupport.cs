using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Tests;

/// <summary>A clock that moves only when told to.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;

    public void Set(DateTimeOffset to) => _now = to;
}

/// <summary>A fresh directory under the temp path, removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "securefed-identity-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory is not a test failure.
        }
    }
}

internal static class Pki
{
    /// <summary>A whole-second instant far from any real clock, so nothing depends on when tests run.</summary>
    public static readonly DateTimeOffset Epoch = new(2031, 3, 14, 9, 26, 53, TimeSpan.Zero);

    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3650);

    public static readonly TimeSpan LeafValidity = TimeSpan.FromDays(30);

    public static ConsortiumCa NewCa(TimeProvider time, string name = "acme-health") => ConsortiumCa.Create(name, time, CaValidity);

    public static IReadOnlyList<string> EkuOids(X509Certificate2 certificate)
    {
        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        return eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value!).ToList();
    }

    public static X509SubjectAlternativeNameExtension? San(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SingleOrDefault();

    public static string ToHex(byte[] bytes) => Convert.ToHexString(bytes);
}
