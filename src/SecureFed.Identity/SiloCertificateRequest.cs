using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>
/// The certificate signing request (PKCS#10) of the CSR flow: a silo makes its own ECDSA P-256 key and a request
/// naming its silo id (CN and SAN URI <c>securefed://silo/&lt;id&gt;</c>); the CA checks it and signs only the key
/// and the id (<see cref="ConsortiumCa.IssueSiloForKey"/>), so the silo's private key never leaves the silo.
/// </summary>
/// <remarks>Stateless and thread-safe. Messages name the request and never quote key material.</remarks>
public static class SiloCertificateRequest
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>Makes a fresh ECDSA P-256 key and a signed request for <paramref name="id"/>.</summary>
    /// <param name="id">The silo id to ask for.</param>
    /// <param name="key">The new private key; the caller stores it (owner-only) and disposes it.</param>
    /// <returns>The request as PEM (<c>-----BEGIN CERTIFICATE REQUEST-----</c>): public, safe to send to the CA.</returns>
    public static string Create(SiloId id, out ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(id);
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(id.Value);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(id.ToSanUri());
        request.CertificateExtensions.Add(san.Build(critical: false));
        return request.CreateSigningRequestPem();
    }

    /// <summary>
    /// Reads a request: its self-signature must verify (the sender holds the key), the key must be ECDSA P-256,
    /// and it must name exactly one silo id in a SAN URI (or, without one, in the CN).
    /// </summary>
    /// <param name="pem">The request PEM.</param>
    /// <param name="description">How errors name the request (for example "the request file 'x.csr.pem'").</param>
    /// <returns>The requested silo id and the public key.</returns>
    /// <exception cref="InvalidDataException">The request is malformed, badly signed, of another key type, or names no valid silo id.</exception>
    public static (SiloId Id, PublicKey Key) Read(string pem, string description)
    {
        ArgumentNullException.ThrowIfNull(pem);
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException)
        {
            throw new InvalidDataException(
                $"{Capitalize(description)} is not a valid signed certificate request (expected '-----BEGIN CERTIFICATE REQUEST-----' whose signature verifies); make it again with 'securefed certs request'.");
        }

        try
        {
            CheckKey(request.PublicKey, description);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException(ex.Message);
        }

        return (RequestedId(request, description), request.PublicKey);
    }

    /// <summary>Whether <paramref name="key"/> is the one kind of key the consortium issues for: ECDSA on P-256.</summary>
    /// <exception cref="ArgumentException">It is not; the message names <paramref name="description"/>.</exception>
    internal static void CheckKey(PublicKey key, string description)
    {
        using ECDsa? ecdsa = key.GetECDsaPublicKey();
        string? curve = ecdsa?.ExportParameters(false).Curve.Oid.Value;
        if (ecdsa is null || curve != ECCurve.NamedCurves.nistP256.Oid.Value)
        {
            string what = ecdsa is null ? $"a {key.Oid.FriendlyName ?? key.Oid.Value} key" : $"an ECDSA key on {ecdsa.ExportParameters(false).Curve.Oid.FriendlyName ?? curve ?? "an explicit curve"}";
            throw new ArgumentException(
                $"{Capitalize(description)} carries {what}; the consortium accepts ECDSA P-256 keys only (make the request with 'securefed certs request').");
        }
    }

    private static SiloId RequestedId(CertificateRequest request, string description)
    {
        var uris = new List<string>();
        foreach (X509Extension extension in request.CertificateExtensions)
        {
            if (extension.Oid?.Value == SubjectAltNameOid)
            {
                try
                {
                    uris.AddRange(SubjectAltNames.ReadUris(extension.RawData));
                }
                catch (CryptographicException)
                {
                    throw new InvalidDataException($"{Capitalize(description)} has a malformed subject alternative name extension.");
                }
            }
        }

        var ids = uris.Where(u => u.StartsWith(SiloId.SanUriPrefix, StringComparison.Ordinal)).Select(u => u[SiloId.SanUriPrefix.Length..]).ToList();
        if (ids.Count == 0)
        {
            string cn = request.SubjectName.EnumerateRelativeDistinguishedNames()
                .Where(r => !r.HasMultipleElements && r.GetSingleElementType().Value == "2.5.4.3")
                .Select(r => r.GetSingleElementValue() ?? "").FirstOrDefault() ?? "";
            ids.Add(cn);
        }

        if (ids.Count > 1)
        {
            throw new InvalidDataException($"{Capitalize(description)} asks for {ids.Count} silo ids; exactly one is allowed.");
        }

        if (!SiloId.TryParse(ids[0], out SiloId? id))
        {
            throw new InvalidDataException($"{Capitalize(description)} names no valid silo id (SAN URI '{SiloId.SanUriPrefix}<id>' or CN).");
        }

        return id;
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : string.Concat(char.ToUpperInvariant(text[0]).ToString(), text.AsSpan(1));
}
