using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>
/// The consortium's certificate authority: a self-signed ECDSA P-256 root (basic constraints CA with path
/// length 0, key usage keyCertSign|cRLSign, subject key identifier) that issues the coordinator and silo
/// certificates directly, with no intermediates.
/// </summary>
/// <remarks>
/// <para>Every certificate it issues has a fresh ECDSA P-256 key, a random 128-bit positive serial number,
/// basic constraints CA=false, key usage digitalSignature, subject and authority key identifiers, and the
/// subject <c>CN=&lt;name&gt;, O=&lt;consortium name&gt;</c>. Validity starts
/// <see cref="ClockSkewAllowance"/> before the injected clock's "now" (so a peer whose clock runs a little
/// behind still accepts it), never before the CA's own start; a lifetime that would outlast the CA is cut at
/// the CA's end (an explicit <see cref="CertificateIssueOptions.NotAfter"/> beyond it is refused instead).</para>
/// <para>Issued certificates come back WITH their private key, ready for Kestrel or SslStream (except
/// <see cref="IssueSiloForKey"/>, whose key stays with the silo); the caller owns and disposes them. Revocation is a
/// deny-list this CA signs (<see cref="DenyList"/>), not a CRL.</para>
/// <para>Thread-safety: all members are safe to call concurrently; signing is serialized under a lock.
/// Dispose releases the CA's private key.</para>
/// </remarks>
public sealed class ConsortiumCa : IDisposable
{
    /// <summary>The common name of the coordinator certificate.</summary>
    public const string CoordinatorCommonName = "securefed-coordinator";

    /// <summary>
    /// The start of the root certificate's common name; a label follows (<c>SecureFed consortium CA 3f9a1c2b</c>),
    /// so two consortia (or a CA and its replacement) never share a subject. The consortium name goes into O.
    /// </summary>
    public const string RootCommonName = "SecureFed consortium CA";

    /// <summary>The longest label <see cref="Create(string, TimeProvider, TimeSpan, string?)"/> accepts.</summary>
    public const int MaxLabelLength = 32;

    /// <summary>How far before "now" issued certificates start to be valid, to tolerate clock skew between peers.</summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    private const int MaxConsortiumNameLength = 64;
    private const string OrganizationOid = "2.5.4.10";

    private readonly Lock _gate = new();
    private readonly ECDsa _key;
    private readonly TimeProvider _time;
    private bool _disposed;

    private ConsortiumCa(string consortiumName, X509Certificate2 publicCertificate, ECDsa key, TimeProvider time)
    {
        ConsortiumName = consortiumName;
        Certificate = publicCertificate;
        _key = key;
        _time = time;
    }

    /// <summary>The consortium name (the O attribute of the root's subject).</summary>
    public string ConsortiumName { get; }

    /// <summary>
    /// The root certificate WITHOUT its private key: the trust anchor to hand to every peer. Owned by this
    /// instance and disposed with it; copy it (for example through <see cref="ExportCertificatePem"/>) to keep it longer.
    /// </summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Creates a new consortium root with a fresh key and a random 8-hex-digit label in its subject.</summary>
    /// <inheritdoc cref="Create(string, TimeProvider, TimeSpan, string?)"/>
    public static ConsortiumCa Create(string consortiumName, TimeProvider time, TimeSpan validity)
    {
        return Create(consortiumName, time, validity, label: null);
    }

    /// <summary>Creates a new consortium root with a fresh key.</summary>
    /// <param name="consortiumName">1 to 64 printable characters without leading or trailing spaces.</param>
    /// <param name="time">The clock that dates this root and every certificate it issues.</param>
    /// <param name="validity">The root's lifetime; positive.</param>
    /// <param name="label">
    /// What follows <see cref="RootCommonName"/> in the root's CN: 1 to <see cref="MaxLabelLength"/> letters, digits,
    /// '-', '_' or '.'; <see langword="null"/> picks 8 random hex digits. Two CAs with one subject would make every
    /// "not issued by the consortium CA" error ambiguous, and chain builders pick issuers by name.
    /// </param>
    /// <exception cref="ArgumentException">The name or label is empty, too long or contains unsuitable characters.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validity"/> is not positive.</exception>
    public static ConsortiumCa Create(string consortiumName, TimeProvider time, TimeSpan validity, string? label)
    {
        ValidateConsortiumName(consortiumName);
        ArgumentNullException.ThrowIfNull(time);
        ThrowIfNotPositive(validity, nameof(validity));
        label ??= Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        ValidateLabel(label);

        DateTimeOffset now = TruncateToSeconds(time.GetUtcNow());
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(consortiumName);
        subject.AddCommonName($"{RootCommonName} {label}");

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
                certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(
                X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

            X509Certificate2 root = request.Create(
                request.SubjectName,
                X509SignatureGenerator.CreateForECDsa(key),
                now - ClockSkewAllowance,
                now + validity,
                NewSerialNumber());
            return new ConsortiumCa(consortiumName, root, key, time);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads an existing root from PEM text, using the system clock.</summary>
    /// <inheritdoc cref="Load(string, string, TimeProvider)"/>
    public static ConsortiumCa Load(string certificatePem, string privateKeyPem)
    {
        return Load(certificatePem, privateKeyPem, TimeProvider.System);
    }

    /// <summary>Loads an existing root from PEM text so it can issue more certificates.</summary>
    /// <param name="certificatePem">The root certificate (the first CERTIFICATE block is used).</param>
    /// <param name="privateKeyPem">Its unencrypted PKCS#8 (or SEC1) ECDSA private key.</param>
    /// <param name="time">The clock that dates the certificates it issues.</param>
    /// <exception cref="CryptographicException">The text is not a certificate or key, the key does not match,
    /// or the certificate is not a CA certificate. Messages never include key material.</exception>
    public static ConsortiumCa Load(string certificatePem, string privateKeyPem, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        ArgumentNullException.ThrowIfNull(time);
        return LoadCore(certificatePem, privateKeyPem, time, "the consortium CA certificate", "the consortium CA private key");
    }

    /// <summary>Loads an existing root from a certificate file and a key file (as written by <see cref="ConsortiumLayout"/>).</summary>
    /// <param name="certificatePath">Path of the root certificate PEM file.</param>
    /// <param name="privateKeyPath">Path of its private key PEM file.</param>
    /// <param name="time">The clock that dates the certificates it issues.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or the pair is not a CA; the message names the file.</exception>
    public static ConsortiumCa LoadFromFiles(string certificatePath, string privateKeyPath, TimeProvider time)
    {
        return LoadFromFiles(certificatePath, privateKeyPath, time, allowInsecurePermissions: false);
    }

    /// <summary>As <see cref="LoadFromFiles(string, string, TimeProvider)"/>, refusing a key file other accounts can read unless <paramref name="allowInsecurePermissions"/>.</summary>
    /// <param name="certificatePath">Path of the root certificate PEM file.</param>
    /// <param name="privateKeyPath">Path of its private key PEM file.</param>
    /// <param name="time">The clock that dates the certificates it issues.</param>
    /// <param name="allowInsecurePermissions">Accept a group- or world-readable key file.</param>
    /// <exception cref="InvalidDataException">The key file is readable by group or others.</exception>
    public static ConsortiumCa LoadFromFiles(string certificatePath, string privateKeyPath, TimeProvider time, bool allowInsecurePermissions)
    {
        ArgumentNullException.ThrowIfNull(time);
        CertificateStore.CheckPrivateKeyFile(privateKeyPath, allowInsecurePermissions);
        string certificatePem = PemReading.ReadFile(certificatePath, "certificate");
        char[] keyPem = PemReading.ReadSecretFile(privateKeyPath, "private key");
        try
        {
            return LoadCore(
                certificatePem, keyPem, time, $"the certificate file '{certificatePath}'", $"the private key file '{privateKeyPath}'");
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
        finally
        {
            Array.Clear(keyPem);
        }
    }

    /// <summary>
    /// Issues the coordinator's TLS server certificate: CN=securefed-coordinator, EKU serverAuth only, SAN DNS
    /// names (always including <c>localhost</c>) and IP addresses (always including 127.0.0.1 and ::1).
    /// </summary>
    /// <param name="dnsNames">Extra host names; lower-cased, duplicates dropped, wildcards refused.</param>
    /// <param name="ipAddresses">Extra IP addresses; duplicates dropped.</param>
    /// <param name="validity">The lifetime; positive; cut at the root's end.</param>
    /// <returns>A certificate with its private key; the caller disposes it.</returns>
    public X509Certificate2 IssueCoordinator(IEnumerable<string> dnsNames, IEnumerable<IPAddress> ipAddresses, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(ipAddresses);
        ThrowIfNotPositive(validity, nameof(validity));

        var names = new List<string> { "localhost" };
        foreach (string name in dnsNames)
        {
            string normalized = SubjectAltNames.NormalizeDnsName(name, nameof(dnsNames));
            if (!names.Contains(normalized, StringComparer.Ordinal))
            {
                names.Add(normalized);
            }
        }

        var addresses = new List<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (IPAddress address in ipAddresses)
        {
            ArgumentNullException.ThrowIfNull(address, nameof(ipAddresses));
            if (!addresses.Contains(address))
            {
                addresses.Add(address);
            }
        }

        return IssueCustom(new CertificateIssueOptions
        {
            CommonName = CoordinatorCommonName,
            ExtendedKeyUsages = [IdentityOids.ServerAuth],
            DnsNames = names,
            IpAddresses = addresses,
            Validity = validity,
        });
    }

    /// <summary>
    /// Issues a silo's TLS client certificate: CN=&lt;id&gt;, EKU clientAuth only, SAN URI
    /// <c>securefed://silo/&lt;id&gt;</c> (the only place validators read the silo id from).
    /// </summary>
    /// <param name="id">The silo id.</param>
    /// <param name="validity">The lifetime; positive; cut at the root's end.</param>
    /// <returns>A certificate with its private key; the caller disposes it.</returns>
    public X509Certificate2 IssueSilo(SiloId id, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(id);
        ThrowIfNotPositive(validity, nameof(validity));
        return IssueCustom(SiloOptions(id, validity));
    }

    /// <summary>
    /// Issues a leaf certificate shaped by <paramref name="options"/>, including shapes the validators refuse
    /// (wrong or missing EKU, no SAN, expired). Meant for tests and tooling.
    /// </summary>
    /// <param name="options">What to put in the certificate.</param>
    /// <returns>A certificate with its private key; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The common name is empty or an OID is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The validity is not positive, the window is inverted, or an explicit
    /// window lies outside the root's validity.</exception>
    public X509Certificate2 IssueCustom(CertificateIssueOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.CommonName, nameof(options));
        ObjectDisposedException.ThrowIf(_disposed, this);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 issued = Sign(options, new CertificateRequest(Subject(options), key, HashAlgorithmName.SHA256));
        return PrivateKeys.Attach(issued, key);
    }

    /// <summary>
    /// Issues a silo certificate shaped exactly as <see cref="IssueSilo"/> does, for a public key the silo made
    /// itself (the CSR flow: the private key never leaves the silo). Nothing the request asked for besides the key
    /// is used; the caller has already checked the requested silo id (see <see cref="SiloCertificateRequest"/>).
    /// </summary>
    /// <param name="id">The silo id.</param>
    /// <param name="publicKey">The silo's ECDSA P-256 public key.</param>
    /// <param name="validity">The lifetime; positive; cut at the root's end.</param>
    /// <returns>The certificate, without a private key; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The key is not ECDSA P-256, or it is the CA's own key.</exception>
    public X509Certificate2 IssueSiloForKey(SiloId id, PublicKey publicKey, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(publicKey);
        ThrowIfNotPositive(validity, nameof(validity));
        ObjectDisposedException.ThrowIf(_disposed, this);
        SiloCertificateRequest.CheckKey(publicKey, $"the key for silo '{id}'");
        if (publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(Certificate.PublicKey.ExportSubjectPublicKeyInfo()))
        {
            throw new ArgumentException($"The key for silo '{id}' is the consortium CA's own key; a silo must make its own key.", nameof(publicKey));
        }

        var options = SiloOptions(id, validity);
        return Sign(options, new CertificateRequest(Subject(options), publicKey, HashAlgorithmName.SHA256));
    }

    /// <summary>Signs <paramref name="data"/> with the CA key (ECDSA P-256, SHA-256, IEEE P1363 encoding): for deny-lists.</summary>
    internal byte[] SignData(byte[] data)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key.SignData(data, HashAlgorithmName.SHA256);
        }
    }

    private X500DistinguishedName Subject(CertificateIssueOptions options)
    {
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(ConsortiumName);
        subject.AddCommonName(options.CommonName);
        return subject.Build();
    }

    private static CertificateIssueOptions SiloOptions(SiloId id, TimeSpan validity) => new()
    {
        CommonName = id.Value,
        ExtendedKeyUsages = [IdentityOids.ClientAuth],
        Uris = [id.ToSanUri()],
        Validity = validity,
    };

    private X509Certificate2 Sign(CertificateIssueOptions options, CertificateRequest request)
    {
        (DateTimeOffset notBefore, DateTimeOffset notAfter) = ChooseValidity(options);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        if (options.ExtendedKeyUsages.Count > 0)
        {
            var usages = new OidCollection();
            foreach (string oid in options.ExtendedKeyUsages)
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(oid, nameof(options));
                usages.Add(new Oid(oid));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, critical: false));
        }

        if (options.DnsNames.Count + options.IpAddresses.Count + options.Uris.Count > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string name in options.DnsNames)
            {
                san.AddDnsName(SubjectAltNames.NormalizeDnsName(name, nameof(options)));
            }

            foreach (IPAddress address in options.IpAddresses)
            {
                san.AddIpAddress(address);
            }

            foreach (Uri uri in options.Uris)
            {
                san.AddUri(uri);
            }

            request.CertificateExtensions.Add(san.Build(critical: false));
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(
            Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return request.Create(
                Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), notBefore, notAfter, NewSerialNumber());
        }
    }

    /// <summary>The root certificate as PEM (public; safe to distribute).</summary>
    public string ExportCertificatePem()
    {
        return Certificate.ExportCertificatePem();
    }

    /// <summary>
    /// The root's private key as unencrypted PKCS#8 PEM. This is the consortium's most sensitive secret:
    /// store it with owner-only permissions (see <see cref="CertificateStore.WritePrivateKey(string, X509Certificate2)"/>), never log it.
    /// </summary>
    public string ExportPrivateKeyPem()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key.ExportPkcs8PrivateKeyPem();
        }
    }

    /// <summary>The root with its private key, for writing key files inside this assembly.</summary>
    internal X509Certificate2 CopyWithPrivateKey()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Certificate.CopyWithPrivateKey(_key);
        }
    }

    /// <summary>Releases the private key and the root certificate instance.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _key.Dispose();
            Certificate.Dispose();
        }
    }

    /// <summary>Returns "ConsortiumCa(&lt;name&gt;, &lt;fingerprint&gt;)"; never key material.</summary>
    public override string ToString()
    {
        return _disposed ? $"ConsortiumCa({ConsortiumName}, disposed)" : $"ConsortiumCa({ConsortiumName}, {CertificateFingerprint.Sha256Hex(Certificate)})";
    }

    private static ConsortiumCa LoadCore(
        ReadOnlySpan<char> certificatePem, ReadOnlySpan<char> keyPem, TimeProvider time, string certificateDescription, string keyDescription)
    {
        X509Certificate2 certificate = PemReading.ParseCertificate(certificatePem, certificateDescription);
        try
        {
            ECDsa key = PemReading.ParseEcdsaKey(keyPem, keyDescription);
            try
            {
                if (!PrivateKeys.Matches(certificate, key))
                {
                    throw new CryptographicException($"The key in {keyDescription} does not belong to {certificateDescription}.");
                }

                return FromParts(certificate, key, time);
            }
            catch
            {
                key.Dispose();
                throw;
            }
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    private static ConsortiumCa FromParts(X509Certificate2 certificate, ECDsa key, TimeProvider time)
    {

        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        var usage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (constraints is not { CertificateAuthority: true } || usage is null || !usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
        {
            throw new CryptographicException(
                $"The certificate '{certificate.Subject}' is not a CA certificate (it needs basic constraints CA=true and key usage keyCertSign).");
        }

        string name = ReadOrganization(certificate) ?? certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return new ConsortiumCa(name, certificate, key, time);
    }

    private static string? ReadOrganization(X509Certificate2 certificate)
    {
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == OrganizationOid)
            {
                return rdn.GetSingleElementValue();
            }
        }

        return null;
    }

    private (DateTimeOffset NotBefore, DateTimeOffset NotAfter) ChooseValidity(CertificateIssueOptions options)
    {
        DateTimeOffset now = TruncateToSeconds(_time.GetUtcNow());
        DateTimeOffset caNotBefore = new(Certificate.NotBefore.ToUniversalTime());
        DateTimeOffset caNotAfter = new(Certificate.NotAfter.ToUniversalTime());

        DateTimeOffset notBefore;
        if (options.NotBefore is { } requestedStart)
        {
            notBefore = requestedStart;
        }
        else
        {
            notBefore = now - ClockSkewAllowance;
            if (notBefore < caNotBefore)
            {
                notBefore = caNotBefore;
            }
        }

        DateTimeOffset notAfter;
        if (options.NotAfter is { } requestedEnd)
        {
            notAfter = requestedEnd;
        }
        else
        {
            ThrowIfNotPositive(options.Validity, nameof(options.Validity));
            notAfter = now + options.Validity;

            // A leaf cannot be valid after its root anyway; asking for the CA's full lifetime (the same validity
            // for both, issued a moment later) is common and must not fail on a second boundary.
            if (notAfter > caNotAfter)
            {
                notAfter = caNotAfter;
            }
        }

        if (notAfter <= notBefore)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), $"The certificate would end ({notAfter:O}) before it starts ({notBefore:O}).");
        }

        if (notBefore < caNotBefore || notAfter > caNotAfter)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                $"The requested validity {notBefore:O} .. {notAfter:O} is not inside the consortium CA's validity " +
                $"{caNotBefore:O} .. {caNotAfter:O}; issue a shorter certificate or create a new consortium CA.");
        }

        return (notBefore, notAfter);
    }

    private static void ValidateConsortiumName(string consortiumName)
    {
        ArgumentNullException.ThrowIfNull(consortiumName);
        bool ok = consortiumName.Length is > 0 and <= MaxConsortiumNameLength
            && consortiumName.Trim().Length == consortiumName.Length
            && !consortiumName.Any(char.IsControl);
        if (!ok)
        {
            throw new ArgumentException(
                $"The consortium name must be 1 to {MaxConsortiumNameLength} printable characters without leading or trailing spaces.",
                nameof(consortiumName));
        }
    }

    private static void ValidateLabel(string label)
    {
        bool ok = label.Length is > 0 and <= MaxLabelLength
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        if (!ok)
        {
            throw new ArgumentException(
                $"The CA label must be 1 to {MaxLabelLength} letters, digits, '-', '_' or '.' (it goes into the CA's subject).", nameof(label));
        }
    }

    private static void ThrowIfNotPositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (was {value}).");
        }
    }

    // X.509 times have one-second resolution; truncating keeps issued dates equal to what the clock said.
    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value)
    {
        return new DateTimeOffset(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    // RFC 5280, section 4.1.2.2: positive, at most 20 octets, unpredictable. 128 random bits, top bit clear.
    private static byte[] NewSerialNumber()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }
}
