using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Internal;

/// <summary>Joins a certificate to its ECDSA private key in a form TLS stacks accept.</summary>
internal static class PrivateKeys
{
    /// <summary>
    /// Returns a new certificate instance carrying <paramref name="key"/>. The caller keeps ownership of both
    /// arguments (the result holds its own reference to the key).
    /// </summary>
    /// <remarks>
    /// On Linux, OpenSSL-backed SslStream and Kestrel use an ephemeral key from CopyWithPrivateKey as is (the
    /// loopback handshake tests check this). Windows SChannel refuses ephemeral keys and macOS wants keychain
    /// keys, so elsewhere the pair goes through a PKCS#12 export/import; that path is not exercised by the
    /// tests on this platform.
    /// </remarks>
    public static X509Certificate2 Attach(X509Certificate2 certificate, ECDsa key)
    {
        X509Certificate2 withKey = certificate.CopyWithPrivateKey(key);
        if (OperatingSystem.IsLinux())
        {
            return withKey;
        }

        byte[] pkcs12 = [];
        try
        {
            pkcs12 = withKey.Export(X509ContentType.Pkcs12);
            return X509CertificateLoader.LoadPkcs12(pkcs12, password: null, X509KeyStorageFlags.Exportable);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs12);
            withKey.Dispose();
        }
    }

    /// <summary>Whether <paramref name="key"/> is the private half of the certificate's public key.</summary>
    public static bool Matches(X509Certificate2 certificate, ECDsa key)
    {
        using ECDsa? publicKey = certificate.GetECDsaPublicKey();
        if (publicKey is null)
        {
            return false;
        }

        return publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo());
    }
}
