using System.Security.Cryptography;

namespace SecureFed.Crypto;

/// <summary>
/// Secret key material (private keys, shared secrets, derived keys, mask seeds, Shamir shares).
/// </summary>
/// <remarks>
/// <para>Guarantees: the bytes live in one pinned buffer (the garbage collector does not leave moved copies
/// behind) that is overwritten with zeros by <see cref="Dispose"/>; <see cref="Equals(SecretBytes)"/> runs in
/// time that depends only on the lengths, never on the contents; <see cref="ToString"/> prints
/// <c>[redacted]</c>. The only way to read the clear bytes is <see cref="Reveal"/>, so every export is easy to
/// find in review. After disposal every member except <see cref="Dispose"/>, <see cref="ToString"/> and
/// <see cref="GetHashCode"/> throws <see cref="ObjectDisposedException"/>.</para>
/// <para>Thread-safety: reads may run concurrently; disposing while another thread reads is a caller bug.</para>
/// </remarks>
public sealed class SecretBytes : IDisposable, IEquatable<SecretBytes>
{
    private readonly byte[] _buffer;
    private IDisposable? _engineKey;
    private bool _disposed;

    /// <summary>Copies <paramref name="value"/> into a new secret buffer. The caller still owns (and should
    /// clear) its own copy.</summary>
    public SecretBytes(ReadOnlySpan<byte> value)
    {
        _buffer = GC.AllocateUninitializedArray<byte>(value.Length, pinned: true);
        value.CopyTo(_buffer);
    }

    // Takes ownership of a pinned buffer (see Adopt); the flag only distinguishes this from the copying constructor.
    private SecretBytes(byte[] ownedPinnedBuffer, bool takeOwnership)
    {
        System.Diagnostics.Debug.Assert(takeOwnership);
        _buffer = ownedPinnedBuffer;
    }

    /// <summary>Number of secret bytes. Lengths are not secret.</summary>
    public int Length
    {
        get
        {
            ThrowIfDisposed();
            return _buffer.Length;
        }
    }

    /// <summary>Creates <paramref name="length"/> fresh random bytes from <paramref name="rng"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    public static SecretBytes Generate(int length, IRandomSource rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentNullException.ThrowIfNull(rng);
        var secret = Adopt(AllocatePinned(length));
        rng.Fill(secret._buffer);
        return secret;
    }

    /// <summary>
    /// Exposes the clear bytes. This is the one export point: prefer passing the <see cref="SecretBytes"/>
    /// itself to the crypto interfaces, and never log, persist or send what this returns unencrypted.
    /// The span is valid only until <see cref="Dispose"/>.
    /// </summary>
    public ReadOnlySpan<byte> Reveal()
    {
        ThrowIfDisposed();
        return _buffer;
    }

    /// <summary>Compares contents in fixed time (for equal lengths); different lengths are simply unequal.</summary>
    public bool Equals(SecretBytes? other)
    {
        ThrowIfDisposed();
        if (other is null)
        {
            return false;
        }

        other.ThrowIfDisposed();
        return CryptographicOperations.FixedTimeEquals(_buffer, other._buffer);
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SecretBytes other && Equals(other);

    /// <summary>Depends on the length only, so it reveals nothing about the contents.</summary>
    public override int GetHashCode() => _buffer.Length;

    /// <summary>Always <c>[redacted]</c>.</summary>
    public override string ToString() => "[redacted]";

    /// <summary>Overwrites the secret with zeros (and frees a native library's copy of it). Idempotent.</summary>
    public void Dispose()
    {
        IDisposable? engineKey;
        lock (_buffer)
        {
            engineKey = _engineKey;
            _engineKey = null;
            _disposed = true;
        }

        engineKey?.Dispose();
        CryptographicOperations.ZeroMemory(_buffer);
    }

    /// <summary>
    /// A native library's parsed form of this secret (an OpenSSL key), made once by <paramref name="create"/> and
    /// reused for every later call, so a private key used with many peers is imported once. It lives as long as this
    /// secret: <see cref="Dispose"/> disposes it, which must clear the library's copy. One engine per secret.
    /// </summary>
    internal T EngineKey<T>(Func<ReadOnlySpan<byte>, T> create)
        where T : class, IDisposable
    {
        lock (_buffer)
        {
            ThrowIfDisposed();
            if (_engineKey is T existing)
            {
                return existing;
            }

            var made = create(_buffer);
            _engineKey?.Dispose();
            _engineKey = made;
            return made;
        }
    }

    /// <summary>The live buffer, for implementations in this assembly that must hand a byte[] to a library.
    /// Never store or copy it.</summary>
    internal byte[] Buffer
    {
        get
        {
            ThrowIfDisposed();
            return _buffer;
        }
    }

    /// <summary>Whether the buffer is all zeros, without the disposed check (tests only).</summary>
    internal bool IsZeroedForTesting() => !_buffer.AsSpan().ContainsAnyExcept((byte)0);

    /// <summary>Takes ownership of a buffer allocated with <see cref="AllocatePinned"/>.</summary>
    internal static SecretBytes Adopt(byte[] pinnedBuffer) => new(pinnedBuffer, takeOwnership: true);

    /// <summary>A zeroed pinned buffer that <see cref="Adopt"/> can take over.</summary>
    internal static byte[] AllocatePinned(int length) => GC.AllocateArray<byte>(length, pinned: true);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
