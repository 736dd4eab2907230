using System.Security.Cryptography;
using SecureFed.Crypto.Internal;

namespace SecureFed.Crypto;

/// <summary>
/// A seeded, reproducible <see cref="IRandomSource"/> for tests and simulations ONLY. Never use it for keys,
/// seeds, shares or noise in a real federation: anyone who knows the seed knows every byte it will produce.
/// </summary>
/// <remarks>
/// The stream is AES-256-CTR (counter from zero) under the key HKDF-SHA256(seed, info =
/// "SecureFed.DeterministicRandomSource/v1"), so any seed length works and the same seed always yields the same
/// bytes on every platform, however the requests are cut (<c>Fill(a); Fill(b)</c> equals one
/// <c>Fill(a+b)</c>). Thread-safe: calls are serialised by a lock, so concurrent callers receive disjoint parts
/// of the stream (in an order the scheduler picks). Dispose zeroes the key.
/// </remarks>
public sealed class DeterministicRandomSource : IRandomSource, IDisposable
{
    private readonly KeystreamRandomSource _stream;

    /// <summary>Creates the stream for <paramref name="seed"/> (any length, including empty).</summary>
    public DeterministicRandomSource(ReadOnlySpan<byte> seed)
    {
        Span<byte> key = stackalloc byte[AesCtrKeystream.KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, key, salt: default, "SecureFed.DeterministicRandomSource/v1"u8);
        _stream = new KeystreamRandomSource(key);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary>Convenience for tests: the seed is the little-endian encoding of <paramref name="seed"/>.</summary>
    public DeterministicRandomSource(ulong seed)
        : this(BitConverter.GetBytes(BitConverter.IsLittleEndian ? seed : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(seed)))
    {
    }

    /// <inheritdoc />
    public void Fill(Span<byte> destination) => _stream.Fill(destination);

    /// <summary>Zeroes the key; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _stream.Dispose();
}
