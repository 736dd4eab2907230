using System.Security.Cryptography;

namespace SecureFed.Crypto.Internal;

/// <summary>Shared checks for the P-256 signer and verifier.</summary>
internal static class EcdsaP256
{
    public const string AlgorithmName = "ECDSA-P256-SHA256";
    public const int SignatureSize = 64;
    private const string P256Oid = "1.2.840.10045.3.1.7";

    public static void RequireP256(ECDsa key, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(key, parameterName);
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        bool isP256 = curve.IsNamed &&
            (curve.Oid.Value == P256Oid || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "secp256r1");
        if (!isP256)
        {
            throw new ArgumentException(
                $"The key must be on NIST P-256; got a {key.KeySize}-bit key on {curve.Oid.FriendlyName ?? curve.Oid.Value ?? "an explicit curve"}.",
                parameterName);
        }
    }
}

/// <summary>ECDSA P-256 / SHA-256 signer over a BCL <see cref="ECDsa"/> key.</summary>
internal sealed class EcdsaP256Signer : ISigner
{
    private readonly ECDsa _key;
    private readonly bool _ownsKey;
    private readonly Lock _lock = new();

    public EcdsaP256Signer(ECDsa key, bool ownsKey)
    {
        EcdsaP256.RequireP256(key, nameof(key));
        _key = key;
        _ownsKey = ownsKey;
    }

    public string Algorithm => EcdsaP256.AlgorithmName;

    public byte[] ExportSubjectPublicKeyInfo()
    {
        lock (_lock)
        {
            return _key.ExportSubjectPublicKeyInfo();
        }
    }

    public byte[] Sign(ReadOnlySpan<byte> payload)
    {
        // ECDsa instances are not documented as thread-safe.
        lock (_lock)
        {
            return _key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    public void Dispose()
    {
        if (_ownsKey)
        {
            _key.Dispose();
        }
    }
}

/// <summary>ECDSA P-256 / SHA-256 verifier over a BCL <see cref="ECDsa"/> public key.</summary>
internal sealed class EcdsaP256Verifier : ISignatureVerifier
{
    private readonly ECDsa _key;
    private readonly bool _ownsKey;
    private readonly Lock _lock = new();

    public EcdsaP256Verifier(ECDsa key, bool ownsKey)
    {
        EcdsaP256.RequireP256(key, nameof(key));
        _key = key;
        _ownsKey = ownsKey;
    }

    public string Algorithm => EcdsaP256.AlgorithmName;

    public bool Verify(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != EcdsaP256.SignatureSize)
        {
            return false;
        }

        lock (_lock)
        {
            return _key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    public void Dispose()
    {
        if (_ownsKey)
        {
            _key.Dispose();
        }
    }
}
