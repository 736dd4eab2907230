using System.Security.Cryptography;

namespace SecureFed.Crypto;

/// <summary>
/// Authenticated encryption with associated data: ChaCha20-Poly1305 (RFC 8439 section 2.8), 32-byte key,
/// 12-byte nonce, 16-byte tag appended to the ciphertext.
/// </summary>
/// <remarks>
/// Guarantees (IND-CPA confidentiality and INT-CTXT integrity): as long as a (key, nonce) pair is never used for
/// two different messages, the ciphertext reveals nothing but the plaintext length, and any change to the
/// ciphertext, the tag, the nonce or the associated data makes <see cref="Open"/> throw
/// <see cref="AeadAuthenticationException"/> without releasing any plaintext. Nonce reuse under one key
/// destroys both guarantees: derive a fresh key per (round, sender, receiver) with <see cref="IKeyDerivation"/>
/// or use a counter nonce. The associated data is authenticated, not encrypted. Implementations are stateless
/// and thread-safe.
/// </remarks>
public interface IAead
{
    /// <summary>Key length in bytes (32).</summary>
    int KeySize { get; }

    /// <summary>Nonce length in bytes (12).</summary>
    int NonceSize { get; }

    /// <summary>Tag length in bytes (16).</summary>
    int TagSize { get; }

    /// <summary>Encrypts and authenticates; returns ciphertext || tag (plaintext length + 16 bytes).</summary>
    /// <exception cref="ArgumentException">The key or nonce has the wrong length.</exception>
    byte[] Seal(SecretBytes key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData);

    /// <summary>Verifies and decrypts ciphertext || tag.</summary>
    /// <exception cref="ArgumentException">The key or nonce has the wrong length.</exception>
    /// <exception cref="AeadAuthenticationException">The input is shorter than a tag or fails
    /// authentication (wrong key, nonce, associated data, or any modified bit).</exception>
    byte[] Open(SecretBytes key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData);
}

/// <summary>
/// Thrown when an AEAD ciphertext fails authentication. The message never contains key or plaintext material;
/// callers should treat the sender as faulty and must not retry with guessed parameters.
/// </summary>
public sealed class AeadAuthenticationException : CryptographicException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public AeadAuthenticationException()
        : base("AEAD authentication failed: the ciphertext, tag, nonce, key or associated data do not match.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AeadAuthenticationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying library exception.</summary>
    public AeadAuthenticationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
