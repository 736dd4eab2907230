namespace SecureFed.Crypto;

/// <summary>
/// A source of random bytes. Production code uses <see cref="SystemRandomSource"/> (the operating system's
/// CSPRNG); tests inject a deterministic source so that runs repeat. Never backed by <see cref="System.Random"/>.
/// Implementations must be safe to call from several threads at once.
/// </summary>
public interface IRandomSource
{
    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    void Fill(Span<byte> destination);
}

/// <summary>The operating system's cryptographically secure generator. Thread-safe.</summary>
public sealed class SystemRandomSource : IRandomSource
{
    /// <summary>The shared instance.</summary>
    public static SystemRandomSource Instance { get; } = new();

    /// <inheritdoc />
    public void Fill(Span<byte> destination) =>
        System.Security.Cryptography.RandomNumberGenerator.Fill(destination);
}
