using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Crypto.Internal;

namespace SecureFed.Crypto;

/// <summary>
/// The set of primitive implementations SecureFed uses, so callers depend on the operation interfaces only.
/// <see cref="Default"/> is X25519 (the system's OpenSSL where found, else BouncyCastle), HKDF-SHA256, ChaCha20-Poly1305, AES-CTR masks
/// (AES-128 or AES-256 by <see cref="MaskGeneratorFor"/>; AES-NI when present), Shamir over GF(2^8) and GF(2^16), and ECDSA P-256 signatures. Every member is thread-safe.
/// </summary>
public sealed class CryptoProvider
{
    private readonly IMaskGenerator _aes128Masks;

    private CryptoProvider()
    {
        KeyAgreement = (IKeyAgreement?)OpenSslX25519KeyAgreement.TryCreate() ?? new BouncyCastleX25519KeyAgreement();
        KeyDerivation = new HkdfSha256KeyDerivation();
        Aead = new ChaCha20Poly1305Aead();
        MaskGenerator = new AesCtrMaskGenerator();
        _aes128Masks = new AesCtrMaskGenerator(name: MaskPrgs.Aes128Ctr);
        SecretSharing = new ShamirSecretSharing<Gf256ShamirField, byte>();
        WideSecretSharing = new ShamirSecretSharing<Gf65536ShamirField, ushort>();
    }

    /// <summary>The default provider.</summary>
    public static CryptoProvider Default { get; } = new();

    /// <summary>X25519 key agreement.</summary>
    public IKeyAgreement KeyAgreement { get; }

    /// <summary>HKDF-SHA256 key derivation.</summary>
    public IKeyDerivation KeyDerivation { get; }

    /// <summary>ChaCha20-Poly1305 authenticated encryption.</summary>
    public IAead Aead { get; }

    /// <summary>The AES-256-CTR mask generator.</summary>
    public IMaskGenerator MaskGenerator { get; }

    /// <summary>The mask generator named <paramref name="name"/> (a <see cref="MaskPrgs"/> value).</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="MaskPrgs.All"/>.</exception>
    public IMaskGenerator MaskGeneratorFor(string name) => name switch
    {
        MaskPrgs.Aes256Ctr => MaskGenerator,
        MaskPrgs.Aes128Ctr => _aes128Masks,
        _ => throw new ArgumentException($"mask PRG '{name}' must be one of {string.Join(", ", MaskPrgs.All)}", nameof(name)),
    };

    /// <summary>Shamir secret sharing over GF(2^8): at most 255 shares.</summary>
    public ISecretSharing SecretSharing { get; }

    /// <summary>Shamir secret sharing over GF(2^16): at most 65535 shares, secrets of an even length.</summary>
    public ISecretSharing WideSecretSharing { get; }

    /// <summary>
    /// The sharing for an index space of <paramref name="maxIndex"/> shares: GF(2^8) up to 255, so every plan that
    /// fitted it before keeps exactly the same shares (and interoperates with parties that know only GF(2^8));
    /// GF(2^16) beyond.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxIndex"/> is not in 1..65535.</exception>
    public ISecretSharing SecretSharingFor(int maxIndex)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIndex, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxIndex, WideSecretSharing.MaxShares);
        return maxIndex <= SecretSharing.MaxShares ? SecretSharing : WideSecretSharing;
    }

    /// <summary>A signer over a P-256 private key. The caller keeps ownership of <paramref name="privateKey"/>
    /// and must keep it alive while the signer is used.</summary>
    /// <exception cref="ArgumentException">The key is not on P-256.</exception>
    public ISigner CreateSigner(ECDsa privateKey) => new EcdsaP256Signer(privateKey, ownsKey: false);

    /// <summary>A signer over the P-256 private key of <paramref name="certificate"/>; the signer owns the key
    /// object it extracts (dispose the signer).</summary>
    /// <exception cref="ArgumentException">The certificate has no ECDSA private key or it is not on P-256.</exception>
    public ISigner CreateSigner(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException(
            $"Certificate {certificate.Thumbprint} has no ECDSA private key.", nameof(certificate));
        return Own(key, static k => new EcdsaP256Signer(k, ownsKey: true));
    }

    /// <summary>A verifier over a P-256 public key. The caller keeps ownership of <paramref name="publicKey"/>.</summary>
    /// <exception cref="ArgumentException">The key is not on P-256.</exception>
    public ISignatureVerifier CreateVerifier(ECDsa publicKey) => new EcdsaP256Verifier(publicKey, ownsKey: false);

    /// <summary>A verifier over the P-256 public key of <paramref name="certificate"/>. Validating the certificate
    /// itself (chain to the consortium CA, EKU, identity) is the caller's job.</summary>
    /// <exception cref="ArgumentException">The certificate has no ECDSA public key or it is not on P-256.</exception>
    public ISignatureVerifier CreateVerifier(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var key = certificate.GetECDsaPublicKey() ?? throw new ArgumentException(
            $"Certificate {certificate.Thumbprint} has no ECDSA public key.", nameof(certificate));
        return Own(key, static k => new EcdsaP256Verifier(k, ownsKey: true));
    }

    /// <summary>A verifier over a DER SubjectPublicKeyInfo (as from <see cref="ISigner.ExportSubjectPublicKeyInfo"/>).</summary>
    /// <exception cref="ArgumentException">The bytes are not a P-256 public key.</exception>
    public ISignatureVerifier CreateVerifier(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out int read);
            if (read != subjectPublicKeyInfo.Length)
            {
                throw new ArgumentException("Trailing bytes after the SubjectPublicKeyInfo.", nameof(subjectPublicKeyInfo));
            }
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new ArgumentException("The bytes are not an EC SubjectPublicKeyInfo.", nameof(subjectPublicKeyInfo), ex);
        }
        catch
        {
            key.Dispose();
            throw;
        }

        return Own(key, static k => new EcdsaP256Verifier(k, ownsKey: true));
    }

    // Disposes the key if construction fails, so an exception does not leak it.
    private static T Own<T>(ECDsa key, Func<ECDsa, T> create)
    {
        try
        {
            return create(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
