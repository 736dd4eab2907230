using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace SecureFed.Crypto.Internal;

/// <summary>X25519 via BouncyCastle's constant-time Montgomery ladder (<see cref="X25519"/>).</summary>
internal sealed class BouncyCastleX25519KeyAgreement : IKeyAgreement
{
    private const int Size = X25519KeyPair.KeySize;

    public X25519KeyPair Generate(IRandomSource rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var privateKey = SecretBytes.Generate(Size, rng);
        try
        {
            return new X25519KeyPair(DerivePublicKey(privateKey), privateKey);
        }
        catch
        {
            privateKey.Dispose();
            throw;
        }
    }

    public byte[] DerivePublicKey(SecretBytes privateKey)
    {
        RequirePrivateKey(privateKey);
        var publicKey = new byte[Size];
        var (key, offset) = privateKey.Buffer;
        X25519.ScalarMultBase(key, offset, publicKey, 0);
        return publicKey;
    }

    public SecretBytes Agree(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey)
    {
        RequirePrivateKey(privateKey);
        if (peerPublicKey.Length != Size)
        {
            throw new ArgumentException(
                $"An X25519 public key is {Size} bytes; got {peerPublicKey.Length}.", nameof(peerPublicKey));
        }

        var shared = SecretBytes.Allocate(Size);
        var (key, offset) = privateKey.Buffer;
        var (output, outputOffset) = shared.Buffer;
        X25519.ScalarMult(key, offset, peerPublicKey.ToArray(), 0, output, outputOffset);

        // RFC 7748 section 6.1: an all-zero output means a low-order input point; check in constant time.
        int accumulated = 0;
        foreach (byte b in shared.Reveal())
        {
            accumulated |= b;
        }

        if (accumulated == 0)
        {
            shared.Dispose();
            throw new CryptographicException(
                "X25519 produced the all-zero shared secret: the peer public key is a low-order point.");
        }

        return shared;
    }

    private static void RequirePrivateKey(SecretBytes privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        if (privateKey.Length != Size)
        {
            throw new ArgumentException(
                $"An X25519 private key is {Size} bytes; got {privateKey.Length}.", nameof(privateKey));
        }
    }
}
