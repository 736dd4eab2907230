using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity;

/// <summary>Certificate fingerprints as used in the manifest, the audit ledger and logs.</summary>
public static class CertificateFingerprint
{
    /// <summary>
    /// The SHA-256 digest of the certificate's DER encoding as 64 lowercase hexadecimal characters, without
    /// separators. Public information: it identifies a certificate and reveals nothing about its key.
    /// </summary>
    /// <param name="certificate">The certificate.</param>
    public static string Sha256Hex(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawDataMemory.Span));
    }
}
