using Org.BouncyCastle.Math.EC.Rfc7748;

namespace SecureFed.Crypto.Internal;

/// <summary>X25519 via BouncyCastle's constant-time Montgomery ladder (<see cref="X25519"/>): the engine where the
/// system's libcrypto is not found (<see cref="OpenSslX25519KeyAgreement"/>).</summary>
internal sealed class BouncyCastleX25519KeyAgreement : IKeyAgreement
{
    private static readonly X25519Rules.Multiply Ladder = Multiply;

    public X25519KeyPair Generate(IRandomSource rng) => X25519Rules.Generate(this, rng);

    public byte[] DerivePublicKey(SecretBytes privateKey)
    {
        X25519Rules.RequirePrivateKey(privateKey);
        var publicKey = new byte[X25519Rules.Size];
        var (key, offset) = privateKey.Buffer;
        X25519.ScalarMultBase(key, offset, publicKey, 0);
        return publicKey;
    }

    public SecretBytes Agree(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey) =>
        X25519Rules.Agree(privateKey, peerPublicKey, Ladder);

    private static bool Multiply(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey, SecretBytes shared)
    {
        var (key, offset) = privateKey.Buffer;
        var (output, outputOffset) = shared.Buffer;
        X25519.ScalarMult(key, offset, peerPublicKey.ToArray(), 0, output, outputOffset);

        // RFC 7748 section 6.1: an all-zero output means a low-order input point; checked in constant time.
        int accumulated = 0;
        foreach (byte b in shared.Reveal())
        {
            accumulated |= b;
        }

        return accumulated != 0;
    }
}
