namespace SecureFed.Crypto;

/// <summary>
/// Shamir t-of-n secret sharing (Shamir 1979) of byte strings, element-wise over a binary field GF(2^m): the
/// secret is the value of each element's polynomial at 0 and share indices are the non-zero field elements, so at
/// most 2^m - 1 shares (<see cref="MaxShares"/>). Two fields: GF(2^8) (byte-wise, AES polynomial 0x11B, at most 255
/// shares, secrets of any length) and GF(2^16) (little-endian 16-bit words, polynomial 0x1100B, at most 65535
/// shares, secrets of an even length); see <see cref="CryptoProvider.SecretSharingFor"/>.
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
    /// <summary>The largest share count and share index (255 for GF(2^8), 65535 for GF(2^16)).</summary>
    int MaxShares { get; }

    /// <summary>Secret and share lengths must be a multiple of this many bytes (the field element size: 1 or 2).</summary>
    int ElementSize => 1;

    /// <summary>Splits <paramref name="secret"/> into shares with indices 1..<paramref name="shareCount"/>.</summary>
    /// <exception cref="ArgumentException">The secret is empty or not a multiple of <see cref="ElementSize"/>, or
    /// not 1 ≤ threshold ≤ shareCount ≤ <see cref="MaxShares"/>.</exception>
    IReadOnlyList<SecretShare> Split(ReadOnlySpan<byte> secret, int threshold, int shareCount, IRandomSource rng)
    {
        if (shareCount < 0 || shareCount > MaxShares)
        {
            throw new ArgumentException($"shareCount must be between threshold ({threshold}) and {MaxShares}; got {shareCount}.", nameof(shareCount));
        }

        var indices = new int[shareCount];
        for (int i = 0; i < shareCount; i++)
        {
            indices[i] = i + 1;
        }

        return SplitAt(secret, threshold, indices, rng);
    }

    /// <summary>
    /// Splits <paramref name="secret"/> into one share for each of <paramref name="indices"/> (distinct, in
    /// 1..<see cref="MaxShares"/>), in that order: the shares a dealer hands to a subset of a larger index space (a
    /// neighbourhood in SecAgg+) without computing the others. The same polynomial as <see cref="Split(ReadOnlySpan{byte}, int, int, IRandomSource)"/>
    /// would give for the same random bytes.
    /// </summary>
    /// <exception cref="ArgumentException">The secret is empty or not a multiple of <see cref="ElementSize"/>, an
    /// index is out of range or repeated, or not 1 ≤ threshold ≤ the number of indices.</exception>
    IReadOnlyList<SecretShare> SplitAt(ReadOnlySpan<byte> secret, int threshold, ReadOnlySpan<int> indices, IRandomSource rng);

    /// <summary>Splits a secret held as <see cref="SecretBytes"/>.</summary>
    /// <exception cref="ArgumentException">The secret is empty, or not 1 ≤ threshold ≤ shareCount ≤ <see cref="MaxShares"/>.</exception>
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
    /// 1..<see cref="MaxShares"/>, a null share, an index above <see cref="MaxShares"/>, a duplicate index, or values of different or zero length.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">A surplus share is inconsistent
    /// with the others (some share is corrupt).</exception>
    SecretBytes Combine(IReadOnlyList<SecretShare> shares, int threshold);
}

/// <summary>
/// One Shamir share: a public index in 1..65535 (the evaluation point; at most 255 for GF(2^8)) and a secret value as long as the shared
/// secret. Disposing zeroes the value. Prints without its value.
/// </summary>
public sealed class SecretShare : IDisposable
{
    /// <summary>Copies <paramref name="value"/> into a new share.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in 1..65535.</exception>
    public SecretShare(int index, ReadOnlySpan<byte> value)
        : this(index, new SecretBytes(value))
    {
    }

    /// <summary>Wraps <paramref name="value"/>, taking ownership of it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in 1..65535.</exception>
    public SecretShare(int index, SecretBytes value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, MaxIndex);
        ArgumentNullException.ThrowIfNull(value);
        Index = index;
        Value = value;
    }

    /// <summary>The largest index of any field this library shares over (GF(2^16)).</summary>
    public const int MaxIndex = 65535;

    /// <summary>The evaluation point, 1..65535. Not secret.</summary>
    public int Index { get; }

    /// <summary>The share value (secret).</summary>
    public SecretBytes Value { get; }

    /// <summary>Prints the index only.</summary>
    public override string ToString() => $"SecretShare(Index={Index}, Value=[redacted])";

    /// <summary>Zeroes the value.</summary>
    public void Dispose() => Value.Dispose();
}
