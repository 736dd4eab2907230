using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// What every X25519 engine shares: argument checks, key-pair generation, the allocation of the shared secret and the
/// refusal of a low-order peer point. An engine supplies the two scalar multiplications.
/// </summary>
internal static class X25519Rules
{
    public const int Size = X25519KeyPair.KeySize;

    /// <summary>Writes X25519(privateKey, peer) into <paramref name="shared"/> (32 zeroed bytes); false when the result
    /// is all zeros (RFC 7748 section 6.1, a low-order peer point).</summary>
    public delegate bool Multiply(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey, SecretBytes shared);

    public static X25519KeyPair Generate(IKeyAgreement engine, IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var privateKey = SecretBytes.Generate(Size, rng);
        try
        {
            return new X25519KeyPair(engine.DerivePublicKey(privateKey), privateKey);
        }
        catch
        {
            privateKey.Dispose();
            throw;
        }
    }

    public static SecretBytes Agree(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey, Multiply multiply)
    {
        RequirePrivateKey(privateKey);
        if (peerPublicKey.Length != Size)
        {
            throw new ArgumentException(
                $"An X25519 public key is {Size} bytes; got {peerPublicKey.Length}.", nameof(peerPublicKey));
        }

        var shared = SecretBytes.Allocate(Size);
        try
        {
            if (!multiply(privateKey, peerPublicKey, shared))
            {
                throw new CryptographicException(
                    "X25519 produced the all-zero shared secret: the peer public key is a low-order point.");
            }

            return shared;
        }
        catch
        {
            shared.Dispose();
            throw;
        }
    }

    public static void RequirePrivateKey(SecretBytes privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        if (privateKey.Length != Size)
        {
            throw new ArgumentException(
                $"An X25519 private key is {Size} bytes; got {privateKey.Length}.", nameof(privateKey));
        }
    }
}
