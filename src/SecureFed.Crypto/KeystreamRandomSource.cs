using System.Security.Cryptography;
using SecureFed.Crypto.Internal;

namespace SecureFed.Crypto;

/// <summary>
/// Random bytes as an AES-256-CTR keystream (counter from zero) under one key: with a key drawn fresh from the operating
/// system's CSPRNG (<see cref="WithFreshKey"/>) it is bulk randomness at AES speed, which is what a silo's stochastic
/// rounding of a million-value update draws (the system generator cost as much CPU as expanding all of a round's
/// masks); under a key derived from a seed it is <see cref="DeterministicRandomSource"/>'s reproducible stream.
/// </summary>
/// <remarks>
/// Successive calls continue the stream (<c>Fill(a); Fill(b)</c> equals one <c>Fill(a+b)</c>), so no byte is handed out
/// twice; with a uniform secret key the output is indistinguishable from uniform (AES as a pseudo-random permutation).
/// Thread-safe: calls are serialised by a lock. Dispose zeroes the key; later calls throw <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class KeystreamRandomSource : IRandomSource, IDisposable
{
    private static readonly byte[] ZeroCounter = new byte[AesCtrKeystream.BlockSize];
    private readonly Lock _lock = new();
    private readonly AesCtrKeystream _keystream;
    private ulong _position;

    /// <summary>The stream under <paramref name="key"/> (32 bytes); the caller keeps and wipes its copy.</summary>
    internal KeystreamRandomSource(ReadOnlySpan<byte> key) => _keystream = new AesCtrKeystream(key, ZeroCounter);

    /// <summary>A stream under a key drawn from <paramref name="keySource"/> (the system CSPRNG in production), used for nothing else.</summary>
    public static KeystreamRandomSource WithFreshKey(IRandomSource keySource)
    {
        ArgumentNullException.ThrowIfNull(keySource);
        Span<byte> key = stackalloc byte[AesCtrKeystream.KeySize];
        try
        {
            keySource.Fill(key);
            return new KeystreamRandomSource(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <inheritdoc />
    public void Fill(Span<byte> destination)
    {
        lock (_lock)
        {
            _keystream.Apply<WriteOp>(_position, destination);
            _position = checked(_position + (ulong)destination.Length);
        }
    }

    /// <summary>Zeroes the key.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _keystream.Dispose();
        }
    }
}
