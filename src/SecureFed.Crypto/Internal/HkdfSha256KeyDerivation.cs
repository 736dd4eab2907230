using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>HKDF-SHA256 via the BCL (<see cref="HKDF"/>, RFC 5869).</summary>
internal sealed class HkdfSha256KeyDerivation : IKeyDerivation
{
    private const int HashLength = 32;
    private const int MaxLength = 255 * HashLength;

    public SecretBytes Derive(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info, int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxLength);
        var output = SecretBytes.Allocate(length);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, output.Writable, salt, info);
        return output;
    }
}
