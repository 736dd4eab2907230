using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// X25519 through the system's OpenSSL libcrypto (the library .NET itself uses for TLS and ECDSA on Linux), whose
/// constant-time ladder runs about three times faster than BouncyCastle's managed one (60 against 170 us per agreement
/// on the 2-core CI machine). A secure-aggregation client
/// does two agreements per neighbour per round, which at 100 silos was the largest cost of a round after the masks.
/// <see cref="TryCreate"/> returns null where libcrypto 3 or 1.1.1 is not found, and the provider falls back to
/// <see cref="BouncyCastleX25519KeyAgreement"/>; the two give the same bytes (RFC 7748 vectors in the tests).
/// </summary>
/// <remarks>
/// A private key is imported into OpenSSL once (the import computes its public key, as costly as an agreement) and
/// kept with its <see cref="SecretBytes"/>, whose disposal frees it; OpenSSL clears a private key's memory when it
/// frees the key. A peer's public key lives in OpenSSL for the length of one call. A failed derivation (OpenSSL
/// refuses an all-zero result, RFC 7748 section 6.1) clears this thread's OpenSSL error queue, so no error is left for
/// .NET's own calls.
/// </remarks>
internal sealed unsafe class OpenSslX25519KeyAgreement : IKeyAgreement
{
    private const int Size = X25519Rules.Size;
    private const int NidX25519 = 1034; // EVP_PKEY_X25519 in obj_mac.h

    private static readonly string[] LibraryNames = ["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.3.dylib"];

    private readonly delegate* unmanaged<int, nint, byte*, nuint, nint> _newRawPrivateKey;
    private readonly delegate* unmanaged<int, nint, byte*, nuint, nint> _newRawPublicKey;
    private readonly delegate* unmanaged<nint, byte*, nuint*, int> _getRawPublicKey;
    private readonly delegate* unmanaged<nint, void> _freeKey;
    private readonly delegate* unmanaged<nint, nint, nint> _newContext;
    private readonly delegate* unmanaged<nint, void> _freeContext;
    private readonly delegate* unmanaged<nint, int> _deriveInit;
    private readonly delegate* unmanaged<nint, nint, int> _deriveSetPeer;
    private readonly delegate* unmanaged<nint, byte*, nuint*, int> _derive;
    private readonly delegate* unmanaged<void> _clearErrors;
    private readonly X25519Rules.Multiply _multiply;

    private OpenSslX25519KeyAgreement(nint library)
    {
        _newRawPrivateKey = (delegate* unmanaged<int, nint, byte*, nuint, nint>)NativeLibrary.GetExport(library, "EVP_PKEY_new_raw_private_key");
        _newRawPublicKey = (delegate* unmanaged<int, nint, byte*, nuint, nint>)NativeLibrary.GetExport(library, "EVP_PKEY_new_raw_public_key");
        _getRawPublicKey = (delegate* unmanaged<nint, byte*, nuint*, int>)NativeLibrary.GetExport(library, "EVP_PKEY_get_raw_public_key");
        _freeKey = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "EVP_PKEY_free");
        _newContext = (delegate* unmanaged<nint, nint, nint>)NativeLibrary.GetExport(library, "EVP_PKEY_CTX_new");
        _freeContext = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "EVP_PKEY_CTX_free");
        _deriveInit = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(library, "EVP_PKEY_derive_init");
        _deriveSetPeer = (delegate* unmanaged<nint, nint, int>)NativeLibrary.GetExport(library, "EVP_PKEY_derive_set_peer");
        _derive = (delegate* unmanaged<nint, byte*, nuint*, int>)NativeLibrary.GetExport(library, "EVP_PKEY_derive");
        _clearErrors = (delegate* unmanaged<void>)NativeLibrary.GetExport(library, "ERR_clear_error");
        _multiply = (own, peer, shared) => Derive(own.EngineKey(ImportPrivateKey).Handle, peer, shared.Writable);
    }

    /// <summary>The engine on this machine, or null when no usable libcrypto is found (or it fails the RFC 7748
    /// section 5.2 test vector).</summary>
    public static OpenSslX25519KeyAgreement? TryCreate()
    {
        foreach (var name in LibraryNames)
        {
            if (!NativeLibrary.TryLoad(name, typeof(OpenSslX25519KeyAgreement).Assembly, null, out nint library))
            {
                continue;
            }

            try
            {
                var engine = new OpenSslX25519KeyAgreement(library);
                if (engine.PassesSelfTest())
                {
                    return engine; // the library stays loaded for the process, like .NET's own handle to it
                }
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or CryptographicException)
            {
                // An OpenSSL without the raw-key API (before 1.1.1): try the next name, then fall back.
            }

            NativeLibrary.Free(library);
        }

        return null;
    }

    public X25519KeyPair Generate(IRandomSource rng) => X25519Rules.Generate(this, rng);

    public byte[] DerivePublicKey(SecretBytes privateKey)
    {
        X25519Rules.RequirePrivateKey(privateKey);
        var publicKey = new byte[Size];
        var key = privateKey.EngineKey(ImportPrivateKey);
        nuint length = Size;
        fixed (byte* output = publicKey)
        {
            if (_getRawPublicKey(key.Handle, output, &length) != 1 || length != Size)
            {
                throw Failure("could not derive an X25519 public key");
            }
        }

        return publicKey;
    }

    public SecretBytes Agree(SecretBytes privateKey, ReadOnlySpan<byte> peerPublicKey) =>
        X25519Rules.Agree(privateKey, peerPublicKey, _multiply);

    // False when OpenSSL refuses the result, which its X25519 does for exactly the all-zero one.
    private bool Derive(nint own, ReadOnlySpan<byte> peerPublicKey, Span<byte> shared)
    {
        nint peer = 0;
        nint context = 0;
        try
        {
            fixed (byte* p = peerPublicKey)
            {
                peer = _newRawPublicKey(NidX25519, 0, p, Size);
            }

            if (peer == 0)
            {
                throw Failure("could not load the peer's X25519 public key");
            }

            context = _newContext(own, 0);
            if (context == 0 || _deriveInit(context) != 1 || _deriveSetPeer(context, peer) != 1)
            {
                throw Failure("could not set up an X25519 agreement");
            }

            nuint length = Size;
            fixed (byte* output = shared)
            {
                if (_derive(context, output, &length) != 1 || length != Size)
                {
                    _clearErrors();
                    return false;
                }
            }

            return true;
        }
        finally
        {
            if (context != 0)
            {
                _freeContext(context);
            }

            if (peer != 0)
            {
                _freeKey(peer);
            }
        }
    }

    private NativeKey ImportPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        nint key;
        fixed (byte* p = privateKey)
        {
            key = _newRawPrivateKey(NidX25519, 0, p, Size);
        }

        return key != 0 ? new NativeKey(key, _freeKey) : throw Failure("could not load an X25519 private key");
    }

    private CryptographicException Failure(string what)
    {
        _clearErrors();
        return new CryptographicException($"OpenSSL {what}.");
    }

    // RFC 7748 section 5.2, the first X25519 test vector.
    private bool PassesSelfTest()
    {
        var scalar = Convert.FromHexString("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
        var point = Convert.FromHexString("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
        var expected = Convert.FromHexString("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
        Span<byte> output = stackalloc byte[Size];
        using var key = ImportPrivateKey(scalar);
        return Derive(key.Handle, point, output) && output.SequenceEqual(expected);
    }

    /// <summary>An imported private key; disposing frees it (OpenSSL zeroes the key bytes). A secret never disposed
    /// still frees its copy when collected.</summary>
    private sealed class NativeKey(nint handle, delegate* unmanaged<nint, void> free) : IDisposable
    {
        private nint _handle = handle;

        ~NativeKey() => Release();

        public nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(NativeKey));

        public void Dispose()
        {
            Release();
            GC.SuppressFinalize(this);
        }

        private void Release()
        {
            nint handle = Interlocked.Exchange(ref _handle, 0);
            if (handle != 0)
            {
                free(handle);
            }
        }
    }

}
