using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity;

/// <summary>Certificate fingerprints as used in the manifest, the audit ledger, deny-lists, pins and logs.</summary>
public static class CertificateFingerprint
{
    /// <summary>The prefix fingerprints carry where they are typed by people (pins, deny-lists).</summary>
    public const string Prefix = "sha256:";

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

    /// <summary>
    /// Reads a fingerprint as a person may type it: optional <c>sha256:</c> prefix, upper or lower case, with or
    /// without ':' separators (as openssl prints them). The result is the 64-character lowercase form of
    /// <see cref="Sha256Hex"/>.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="fingerprint">The normalized fingerprint.</param>
    public static bool TryParse(string? text, [NotNullWhen(true)] out string? fingerprint)
    {
        fingerprint = null;
        if (text is null)
        {
            return false;
        }

        string value = text.Trim();
        if (value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            value = value[Prefix.Length..];
        }

        value = value.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
        if (value.Length != 64 || !value.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        fingerprint = value;
        return true;
    }
}
