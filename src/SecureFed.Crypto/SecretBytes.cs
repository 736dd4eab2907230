using System.Security.Cryptography;

namespace SecureFed.Crypto;

/// <summary>
/// Secret key material (private keys, shared secrets, derived keys, mask seeds, Shamir shares).
/// </summary>
/// <remarks>
/// <para>Guarantees: the bytes live in pinned memory (the garbage collector does not leave moved copies behind): a
/// slice of a pinned slab this thread's small secrets share (one pinned allocation per 16 KiB, never a slice handed
/// out twice), or a pinned array of their own above 512 bytes; <see cref="Dispose"/> overwrites them with zeros;
/// <see cref="Equals(SecretBytes)"/> runs in time that depends only on the lengths, never on the contents;
/// <see cref="ToString"/> prints <c>[redacted]</c>. The only way to read the clear bytes is <see cref="Reveal"/>, so
/// every export is easy to find in review. After disposal every member except <see cref="Dispose"/>, <see cref="ToString"/> and
/// <see cref="GetHashCode"/> throws <see cref="ObjectDisposedException"/>.</para>
/// <para>Thread-safety: reads may run concurrently; disposing while another thread reads is a caller bug.</para>
/// </remarks>
public sealed class SecretBytes : IDisposable, IEquatable<SecretBytes>
{
    // Secrets up to this size share pinned slabs; larger ones get a pinned array of their own.
    private const int MaxSlabbed = 512;

    // One pinned allocation per this many bytes of small secrets. Each pinned allocation takes the GC's slow path
    // (and, while a background collection runs, yields the thread first): with a pinned array per 32-byte key, seed
    // and share, the masked-input stage of 300 in-process silos took 10.3 s instead of about 6, and the unmask of 1000
    // silos at 10% dropout 187 s instead of 2.6.
    private const int SlabBytes = 16 * 1024;

    [ThreadStatic]
    private static byte[]? t_slab;

    [ThreadStatic]
    private static int t_slabUsed;

    private readonly byte[] _buffer;
    private readonly int _offset;
    private readonly int _length;
    private IDisposable? _engineKey;
    private bool _disposed;

    /// <summary>Copies <paramref name="value"/> into a new secret buffer. The caller still owns (and should
    /// clear) its own copy.</summary>
    public SecretBytes(ReadOnlySpan<byte> value)
    {
        (_buffer, _offset) = Carve(value.Length);
        _length = value.Length;
        value.CopyTo(_buffer.AsSpan(_offset, _length));
    }

    // Takes ownership of a carved place (see Allocate).
    private SecretBytes(byte[] pinnedBuffer, int offset, int length)
    {
        _buffer = pinnedBuffer;
        _offset = offset;
        _length = length;
    }

    /// <summary>Number of secret bytes. Lengths are not secret.</summary>
    public int Length
    {
        get
        {
            ThrowIfDisposed();
            return _length;
        }
    }

    /// <summary>Creates <paramref name="length"/> fresh random bytes from <paramref name="rng"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    public static SecretBytes Generate(int length, IRandomSource rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentNullException.ThrowIfNull(rng);
        var secret = Allocate(length);
        rng.Fill(secret.Writable);
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
        return _buffer.AsSpan(_offset, _length);
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
        return CryptographicOperations.FixedTimeEquals(Reveal(), other.Reveal());
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SecretBytes other && Equals(other);

    /// <summary>Depends on the length only, so it reveals nothing about the contents.</summary>
    public override int GetHashCode() => _length;

    /// <summary>Always <c>[redacted]</c>.</summary>
    public override string ToString() => "[redacted]";

    /// <summary>Overwrites the secret with zeros (and frees a native library's copy of it). Idempotent.</summary>
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _engineKey, null)?.Dispose();
        CryptographicOperations.ZeroMemory(_buffer.AsSpan(_offset, _length));
    }

    /// <summary>
    /// A native library's parsed form of this secret (an OpenSSL key), made once by <paramref name="create"/> and
    /// reused for every later call, so a private key used with many peers is imported once. It lives as long as this
    /// secret: <see cref="Dispose"/> disposes it, which must clear the library's copy. One engine per secret.
    /// </summary>
    internal T EngineKey<T>(Func<ReadOnlySpan<byte>, T> create)
        where T : class, IDisposable
    {
        ThrowIfDisposed();
        if (Volatile.Read(ref _engineKey) is T existing)
        {
            return existing;
        }

        var made = create(Reveal());
        if (Interlocked.CompareExchange(ref _engineKey, made, null) is T raced)
        {
            made.Dispose(); // another thread imported it first
            return raced;
        }

        if (Volatile.Read(ref _disposed))
        {
            // Disposed while importing: the copy must not outlive the secret.
            Interlocked.Exchange(ref _engineKey, null)?.Dispose();
            ThrowIfDisposed();
        }

        return made;
    }

    /// <summary>The live bytes, for implementations in this assembly that fill a new secret. Never store or copy it.</summary>
    internal Span<byte> Writable
    {
        get
        {
            ThrowIfDisposed();
            return _buffer.AsSpan(_offset, _length);
        }
    }

    /// <summary>The live buffer and where this secret sits in it, for implementations in this assembly that must hand a
    /// byte[] and an offset to a library (the buffer holds other secrets too). Never store or copy it.</summary>
    internal (byte[] Array, int Offset) Buffer
    {
        get
        {
            ThrowIfDisposed();
            return (_buffer, _offset);
        }
    }

    /// <summary>Whether the bytes are all zeros, without the disposed check (tests only).</summary>
    internal bool IsZeroedForTesting() => !_buffer.AsSpan(_offset, _length).ContainsAnyExcept((byte)0);

    /// <summary>A zeroed secret of <paramref name="length"/> bytes for this assembly to fill through <see cref="Writable"/>.</summary>
    internal static SecretBytes Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var (buffer, offset) = Carve(length);
        return new SecretBytes(buffer, offset, length);
    }

    private static byte[] AllocatePinned(int length) => GC.AllocateArray<byte>(length, pinned: true);

    // A zeroed, pinned place for a secret: a slice of this thread's slab for small ones (never handed out twice; the
    // slab is collected once every secret in it is), an array of its own for large ones. Slices start 16-byte aligned
    // within the slab so round keys and lanes read whole.
    private static (byte[] Buffer, int Offset) Carve(int length)
    {
        if (length > MaxSlabbed)
        {
            return (AllocatePinned(length), 0);
        }

        int size = (length + 15) & ~15;
        if (t_slab is null || t_slabUsed + size > SlabBytes)
        {
            t_slab = AllocatePinned(SlabBytes);
            t_slabUsed = 0;
        }

        int offset = t_slabUsed;
        t_slabUsed += size;
        return (t_slab, offset);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
