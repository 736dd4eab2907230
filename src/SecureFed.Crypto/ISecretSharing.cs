namespace SecureFed.Crypto;

/// <summary>
/// Shamir t-of-n secret sharing (Shamir 1979) of byte strings of any length, byte-wise over GF(2^8) with the
/// AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B). Share indices are the field elements 1..255, so at most 255
/// shares; the secret is the value of each byte's polynomial at 0.
/// </summary>
/// <remarks>
/// <para>Guarantees: any <c>threshold</c> distinct shares reconstruct the secret; any <c>threshold - 1</c> or fewer
/// shares are distributed identically whatever the secret is (information-theoretic secrecy), provided the
/// random source is uniform. Every multiplication that touches secret bytes is a fixed sequence of shifts, xors
/// and masks (vectorised), with no secret-dependent branch or table lookup; log/exp tables are used only on the
/// public share indices (Lagrange coefficients). Shares are NOT authenticated: a wrong share makes
/// <see cref="Combine"/> return a wrong secret unless more than <c>threshold</c> shares are supplied, in which case
/// the surplus ones are checked for consistency. Encrypt and authenticate shares in transit (<see cref="IAead"/>).
/// With <c>threshold = 1</c> every share equals the secret.</para>
/// <para>Implementations are stateless and thread-safe.</para>
/// </remarks>
public interface ISecretSharing
{
    /// <summary>The largest share count (255).</summary>
    int MaxShares { get; }

    /// <summary>Splits <paramref name="secret"/> into shares with indices 1..<paramref name="shareCount"/>.</summary>
    /// <exception cref="ArgumentException">The secret is empty, or not 1 ≤ threshold ≤ shareCount ≤ 255.</exception>
    IReadOnlyList<SecretShare> Split(ReadOnlySpan<byte> secret, int threshold, int shareCount, IRandomSource rng);

    /// <summary>Splits a secret held as <see cref="SecretBytes"/>.</summary>
    /// <exception cref="ArgumentException">The secret is empty, or not 1 ≤ threshold ≤ shareCount ≤ 255.</exception>
    IReadOnlyList<SecretShare> Split(SecretBytes secret, int threshold, int shareCount, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Split(secret.Reveal(), threshold, shareCount, rng);
    }

    /// <summary>
    /// Reconstructs the secret from at least <paramref name="threshold"/> shares. The first
    /// <paramref name="threshold"/> shares are interpolated; any further shares must lie on the same polynomials.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than <paramref name="threshold"/> shares, threshold not in
    /// 1..255, a null share, a duplicate index, or values of different or zero length.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">A surplus share is inconsistent
    /// with the others (some share is corrupt).</exception>
    SecretBytes Combine(IReadOnlyList<SecretShare> shares, int threshold);
}

/// <summary>
/// One Shamir share: a public index in 1..255 (the evaluation point) and a secret value as long as the shared
/// secret. Disposing zeroes the value. Prints without its value.
/// </summary>
public sealed class SecretShare : IDisposable
{
    /// <summary>Copies <paramref name="value"/> into a new share.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in 1..255.</exception>
    public SecretShare(int index, ReadOnlySpan<byte> value)
        : this(index, new SecretBytes(value))
    {
    }

    /// <summary>Wraps <paramref name="value"/>, taking ownership of it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in 1..255.</exception>
    public SecretShare(int index, SecretBytes value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 255);
        ArgumentNullException.ThrowIfNull(value);
        Index = index;
        Value = value;
    }

    /// <summary>The evaluation point, 1..255. Not secret.</summary>
    public int Index { get; }

    /// <summary>The share value (secret).</summary>
    public SecretBytes Value { get; }

    /// <summary>Prints the index only.</summary>
    public override string ToString() => $"SecretShare(Index={Index}, Value=[redacted])";

    /// <summary>Zeroes the value.</summary>
    public void Dispose() => Value.Dispose();
}
