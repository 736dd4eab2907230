namespace SecureFed.Crypto;

/// <summary>
/// HKDF with HMAC-SHA-256 (RFC 5869): extract-then-expand key derivation.
/// </summary>
/// <remarks>
/// Guarantee: if the input keying material has enough min-entropy (for example an X25519 shared secret) the
/// output is indistinguishable from uniform, and outputs for different <c>info</c> values are independent, so
/// binding the round id, the parties and the purpose into <c>info</c> separates keys by context. The salt is
/// optional (empty means HashLen zero bytes, RFC 5869 section 2.2). Output length is 1 to 255·32 = 8160 bytes.
/// Implementations are stateless and thread-safe.
/// </remarks>
public interface IKeyDerivation
{
    /// <summary>Derives <paramref name="length"/> bytes from <paramref name="ikm"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not in 1..8160.</exception>
    SecretBytes Derive(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, int length);

    /// <summary>Derives <paramref name="length"/> bytes from secret input keying material, such as the result
    /// of <see cref="IKeyAgreement.Agree"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not in 1..8160.</exception>
    SecretBytes Derive(SecretBytes ikm, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, int length)
    {
        ArgumentNullException.ThrowIfNull(ikm);
        return Derive(ikm.Reveal(), salt, info, length);
    }
}
