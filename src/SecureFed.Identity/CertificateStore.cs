using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>
/// Reads and writes certificates and their private keys as PEM files: certificates as
/// <c>-----BEGIN CERTIFICATE-----</c>, keys as unencrypted PKCS#8 <c>-----BEGIN PRIVATE KEY-----</c>.
/// </summary>
/// <remarks>
/// Errors name the file and say what is wrong; no message ever contains key material. Key files are created
/// with mode 0600 (owner read/write only) on Unix; the key text is held in buffers that are cleared after use.
/// Only ECDSA keys are supported (the consortium PKI issues nothing else). Stateless and thread-safe.
/// </remarks>
public static class CertificateStore
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes <paramref name="certificate"/> (public part only) to <paramref name="path"/> as PEM, replacing the file.</summary>
    /// <param name="path">The destination file; its directory must exist.</param>
    /// <param name="certificate">The certificate.</param>
    public static void WriteCertificate(string path, X509Certificate2 certificate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(certificate);
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n", Encoding.ASCII);
    }

    /// <summary>
    /// Writes the ECDSA private key of <paramref name="certificateWithKey"/> to <paramref name="path"/> as
    /// unencrypted PKCS#8 PEM, replacing the file. On Unix the file has mode 0600 before any key byte is written.
    /// </summary>
    /// <param name="path">The destination file; its directory must exist.</param>
    /// <param name="certificateWithKey">A certificate that carries its ECDSA private key.</param>
    /// <exception cref="ArgumentException">The certificate has no ECDSA private key.</exception>
    public static void WritePrivateKey(string path, X509Certificate2 certificateWithKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(certificateWithKey);
        using ECDsa key = certificateWithKey.GetECDsaPrivateKey()
            ?? throw new ArgumentException(
                $"The certificate '{certificateWithKey.Subject}' has no ECDSA private key to write.", nameof(certificateWithKey));
        WriteKey(path, key);
    }

    /// <summary>Writes a bare ECDSA private key (the CSR flow's silo key) as <see cref="WritePrivateKey(string, X509Certificate2)"/> does.</summary>
    /// <param name="path">The destination file; its directory must exist.</param>
    /// <param name="key">The key.</param>
    public static void WritePrivateKey(string path, ECDsa key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(key);
        WriteKey(path, key);
    }

    /// <summary>Loads a certificate (without key) from a PEM file; the first CERTIFICATE block is used.</summary>
    /// <param name="certificatePath">The PEM file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The file holds no parsable certificate; the message names it.</exception>
    public static X509Certificate2 LoadCertificate(string certificatePath)
    {
        string pem = PemReading.ReadFile(certificatePath, "certificate");
        try
        {
            return PemReading.ParseCertificate(pem, $"the certificate file '{certificatePath}'");
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
    }

    /// <summary>Loads a certificate and its ECDSA private key from two PEM files, ready for TLS.</summary>
    /// <param name="certificatePath">The certificate PEM file.</param>
    /// <param name="privateKeyPath">The unencrypted PKCS#8 (or SEC1) private key PEM file.</param>
    /// <returns>A certificate with its private key; the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or the key does not match the certificate; the message names the files.</exception>
    /// <exception cref="IOException">The key file cannot be read by this user; the message names it.</exception>
    /// <exception cref="InvalidDataException">The key file is readable by group or others (see <see cref="CheckPrivateKeyFile"/>).</exception>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string privateKeyPath)
    {
        return LoadCertificateWithKey(certificatePath, privateKeyPath, allowInsecurePermissions: false);
    }

    /// <summary>As <see cref="LoadCertificateWithKey(string, string)"/>; with <paramref name="allowInsecurePermissions"/> a key file readable by group or others is accepted.</summary>
    /// <param name="certificatePath">The certificate PEM file.</param>
    /// <param name="privateKeyPath">The private key PEM file.</param>
    /// <param name="allowInsecurePermissions">Accept a key file other accounts can read (the configuration key AllowInsecureKeyPermissions).</param>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string privateKeyPath, bool allowInsecurePermissions)
    {
        using X509Certificate2 certificate = LoadCertificate(certificatePath);
        CheckPrivateKeyFile(privateKeyPath, allowInsecurePermissions);
        char[] keyPem = PemReading.ReadSecretFile(privateKeyPath, "private key");
        try
        {
            using ECDsa key = ParseKey(keyPem, privateKeyPath);
            if (!PrivateKeys.Matches(certificate, key))
            {
                throw new InvalidDataException(
                    $"The private key in '{privateKeyPath}' does not belong to the certificate in '{certificatePath}'.");
            }

            return PrivateKeys.Attach(certificate, key);
        }
        finally
        {
            Array.Clear(keyPem);
        }
    }

    /// <summary>
    /// Refuses a private key file that group or others may read or write (on Unix; elsewhere it checks nothing):
    /// such a key may already be copied, which is how a second machine ends up holding a silo's identity.
    /// </summary>
    /// <param name="privateKeyPath">The key file; a missing file is left to the reader to report.</param>
    /// <param name="allowInsecurePermissions">Accept it anyway (for example a secret mounted read-only for everyone inside a container).</param>
    /// <exception cref="InvalidDataException">The file's mode gives group or others access; the message names the file, its mode and the fix.</exception>
    public static void CheckPrivateKeyFile(string privateKeyPath, bool allowInsecurePermissions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(privateKeyPath);
        if (allowInsecurePermissions || OperatingSystem.IsWindows() || !File.Exists(privateKeyPath))
        {
            return;
        }

        UnixFileMode mode = File.GetUnixFileMode(privateKeyPath);
        const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & GroupOrOthers) != 0)
        {
            string octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');
            throw new InvalidDataException(
                $"The private key file '{privateKeyPath}' has mode 0{octal}: other accounts can read it. Run 'chmod 600 {privateKeyPath}' " +
                "(and consider the key exposed if others did read it), or set AllowInsecureKeyPermissions (CLI: --allow-insecure-key) to accept it.");
        }
    }

    private static ECDsa ParseKey(char[] keyPem, string privateKeyPath)
    {
        try
        {
            return PemReading.ParseEcdsaKey(keyPem, $"the private key file '{privateKeyPath}'");
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
    }

    private static void WriteKey(string path, ECDsa key)
    {
        char[] pem = new char[4096];
        byte[] bytes = [];
        try
        {
            if (!key.TryExportPkcs8PrivateKeyPem(pem, out int written))
            {
                throw new CryptographicException("The private key is too large to export.");
            }

            bytes = new byte[written + 1];
            int length = Encoding.ASCII.GetBytes(pem, 0, written, bytes, 0);
            bytes[length] = (byte)'\n';

            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerReadWrite;
            }

            using var stream = new FileStream(path, options);
            if (!OperatingSystem.IsWindows())
            {
                // UnixCreateMode only applies to a new file; an existing one keeps its mode unless changed here,
                // and it is changed before a single key byte lands in it.
                SafeFileHandle handle = stream.SafeFileHandle;
                File.SetUnixFileMode(handle, OwnerReadWrite);
            }

            stream.Write(bytes);
        }
        finally
        {
            Array.Clear(pem);
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
