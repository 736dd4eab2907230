namespace SecureFed.Crypto;

/// <summary>
/// Elliptic-curve Diffie-Hellman over Curve25519 (X25519, RFC 7748 section 5 and 6.1).
/// </summary>
/// <remarks>
/// Guarantee: under the computational Diffie-Hellman assumption on Curve25519, a party that sees only the two
/// public keys cannot compute the shared secret. The raw shared secret is not uniformly random: always pass it
/// through <see cref="IKeyDerivation"/> with a context before use as a key. Agreements whose result is all
/// zeros (a low-order peer point, RFC 7748 section 6.1) are refused, so a malicious peer cannot force a known
/// key. Peer public keys are not authenticated here: the protocol signs them (DESIGN.md section 3, stage 0).
/// Scalar multiplication is constant-time (OpenSSL's or BouncyCastle's Montgomery ladder). Implementations are stateless
/// and thread-safe.
/// </remarks>
public interface IKeyAgreement
{
    /// <summary>Makes a fresh key pair from 32 bytes of <paramref name="rng"/>.</summary>
    X25519KeyPair Generate(IRandomSource rng);

    /// <summary>Computes the public key (the u-coordinate of k·9) that belongs to a 32-byte private key.</summary>
    /// <exception cref="ArgumentException">The private key is not 32 bytes.</exception>
    byte[] DerivePublicKey(SecretBytes privateKey);

    /// <summary>Computes the 32-byte raw shared secret X25519(privateKey, peerPublicKey).</summary>
    /// <exception cref="ArgumentException">A key is not 32 bytes.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The result is all zeros (the peer
    /// sent a low-order point).</exception>
    SecretBytes Agree(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey);
}

/// <summary>
/// An X25519 key pair: a 32-byte public key, safe to publish, and a 32-byte private key held as
/// <see cref="SecretBytes"/>. Disposing the pair zeroes the private key. Not thread-safe for disposal.
/// </summary>
public sealed class X25519KeyPair : IDisposable
{
    /// <summary>Length of X25519 public and private keys, in bytes.</summary>
    public const int KeySize = 32;

    private readonly byte[] _publicKey;

    /// <summary>Pairs a public key with its private key; takes ownership of <paramref name="privateKey"/>.</summary>
    /// <exception cref="ArgumentException">A key is not 32 bytes.</exception>
    public X25519KeyPair(ReadOnlySpan<byte> publicKey, SecretBytes privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        if (publicKey.Length != KeySize)
        {
            throw new ArgumentException(
                $"An X25519 public key is {KeySize} bytes; got {publicKey.Length}.", nameof(publicKey));
        }

        if (privateKey.Length != KeySize)
        {
            throw new ArgumentException(
                $"An X25519 private key is {KeySize} bytes; got {privateKey.Length}.", nameof(privateKey));
        }

        _publicKey = publicKey.ToArray();
        PrivateKey = privateKey;
    }

    /// <summary>The 32-byte public key (RFC 7748 little-endian u-coordinate).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>The 32-byte private scalar (unclamped; clamping happens inside the scalar multiplication).</summary>
    public SecretBytes PrivateKey { get; }

    /// <summary>Prints the public key only.</summary>
    public override string ToString() => $"X25519KeyPair(public={Convert.ToHexStringLower(_publicKey)}, private=[redacted])";

    /// <summary>Zeroes the private key.</summary>
    public void Dispose() => PrivateKey.Dispose();
}
