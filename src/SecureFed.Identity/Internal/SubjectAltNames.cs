using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Internal;

/// <summary>Reads SAN entries that the BCL does not expose (URIs) and checks host names before they are written.</summary>
internal static class SubjectAltNames
{
    private const string SubjectAltNameOid = "2.5.29.17";

    // GeneralName ::= CHOICE { ... uniformResourceIdentifier [6] IA5String ... } (RFC 5280, section 4.2.1.6)
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>The SAN URI entries of <paramref name="certificate"/>, as written; empty when it has no SAN.</summary>
    /// <exception cref="CryptographicException">The SAN extension is not valid DER.</exception>
    public static IReadOnlyList<string> ReadUris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            uris.AddRange(ReadUris(extension.RawData));
        }

        return uris;
    }

    /// <summary>The URI entries of one encoded SAN extension value (from a certificate or a signing request).</summary>
    /// <exception cref="CryptographicException">The value is not valid DER.</exception>
    public static IReadOnlyList<string> ReadUris(byte[] extensionValue)
    {
        var uris = new List<string>();
        try
        {
            var reader = new AsnReader(extensionValue, AsnEncodingRules.DER);
            AsnReader names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (names.HasData)
            {
                if (names.PeekTag().HasSameClassAndValue(UriTag))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("The subject alternative name extension is malformed.", ex);
        }

        return uris;
    }

    /// <summary>
    /// Lower-cases and checks a DNS name for a SAN: LDH labels of 1 to 63 characters, at most 253 characters
    /// in all, no wildcards.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not acceptable; the message names it.</exception>
    public static string NormalizeDnsName(string name, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(name, parameterName);
        string normalized = name.Trim().TrimEnd('.').ToLowerInvariant();
        if (!IsLdhHostName(normalized))
        {
            throw new ArgumentException(
                $"'{Shorten(name)}' is not a valid DNS name for a certificate: use letters, digits, '-' and '.' " +
                "(labels of 1 to 63 characters, at most 253 in all, no wildcards).",
                parameterName);
        }

        return normalized;
    }

    private static bool IsLdhHostName(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (char c in label)
            {
                if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static string Shorten(string value) => value.Length > 80 ? string.Concat(value.AsSpan(0, 80), "...") : value;
}
