using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureFed.Identity.Internal;

/// <summary>Reads PEM files and text with errors that name the file and never quote its contents.</summary>
internal static class PemReading
{
    // Far above any certificate or key this library writes; stops a wrong path (a disk image, /dev/zero)
    // from being read into memory.
    private const long MaxFileBytes = 1024 * 1024;

    /// <summary>Reads a certificate file as text.</summary>
    public static string ReadFile(string path, string what)
    {
        byte[] bytes = ReadBytes(path, what);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Reads a secret file into a char array that the caller must clear; the raw bytes are zeroed here.</summary>
    public static char[] ReadSecretFile(string path, string what)
    {
        byte[] bytes = ReadBytes(path, what);
        try
        {
            return Encoding.UTF8.GetChars(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Parses the first CERTIFICATE block of <paramref name="pem"/>.</summary>
    /// <exception cref="CryptographicException">No parsable certificate; the message uses <paramref name="description"/>.</exception>
    public static X509Certificate2 ParseCertificate(ReadOnlySpan<char> pem, string description)
    {
        try
        {
            return X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new CryptographicException(
                $"{Capitalize(description)} is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block).", ex);
        }
    }

    /// <summary>Parses an unencrypted ECDSA private key (PKCS#8 or SEC1 PEM).</summary>
    /// <exception cref="CryptographicException">No usable key; the message uses <paramref name="description"/> and quotes nothing.</exception>
    public static ECDsa ParseEcdsaKey(ReadOnlySpan<char> pem, string description)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            return key;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            // The inner exception is dropped on purpose: only our message, which quotes nothing, travels on.
            throw new CryptographicException(
                $"{Capitalize(description)} is not an unencrypted ECDSA private key in PEM form " +
                "(expected '-----BEGIN PRIVATE KEY-----' or '-----BEGIN EC PRIVATE KEY-----').");
        }
    }

    private static byte[] ReadBytes(string path, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"The {what} file '{path}' does not exist.", path);
        }

        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"The {what} file '{path}' is {info.Length} bytes, more than the {MaxFileBytes} a PEM file may have.");
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new IOException(
                $"The {what} file '{path}' cannot be read by this user (permission denied); give the account that runs SecureFed read access to it (and, for a key, nobody else).");
        }
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : string.Concat(char.ToUpperInvariant(text[0]).ToString(), text.AsSpan(1));
}
