using System.Net;

namespace SecureFed.Identity;

/// <summary>
/// Everything about a leaf certificate that <see cref="ConsortiumCa.IssueCustom"/> lets a caller choose. Meant
/// for tests and tooling that need deliberately unusual certificates (a silo certificate with serverAuth, one
/// without a SAN, an expired one); production code uses <see cref="ConsortiumCa.IssueCoordinator"/> and
/// <see cref="ConsortiumCa.IssueSilo"/>.
/// </summary>
/// <remarks>
/// Whatever is chosen here, the certificate is an end-entity certificate (basic constraints CA=false), has
/// key usage digitalSignature, an ECDSA P-256 key, a subject key identifier and an authority key identifier.
/// Immutable record; safe to share.
/// </remarks>
public sealed record CertificateIssueOptions
{
    /// <summary>The subject common name (CN). The subject also carries O=&lt;consortium name&gt;.</summary>
    public required string CommonName { get; init; }

    /// <summary>Extended key usage OIDs (see <see cref="IdentityOids"/>); empty means no EKU extension at all.</summary>
    public IReadOnlyList<string> ExtendedKeyUsages { get; init; } = [];

    /// <summary>SAN DNS names. With no DNS names, IP addresses and URIs, no SAN extension is written.</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    /// <summary>SAN IP addresses.</summary>
    public IReadOnlyList<IPAddress> IpAddresses { get; init; } = [];

    /// <summary>SAN URIs, written as given (for example <c>securefed://silo/silo-1</c>).</summary>
    public IReadOnlyList<Uri> Uris { get; init; } = [];

    /// <summary>
    /// The validity start; default: the CA's clock minus <see cref="ConsortiumCa.ClockSkewAllowance"/>, but
    /// never before the CA's own start.
    /// </summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>
    /// The validity end; default: the CA's clock plus <see cref="Validity"/>, cut at the CA's own end. An explicit
    /// value after the CA's end is refused.
    /// </summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>The lifetime used when <see cref="NotAfter"/> is not set; default one day.</summary>
    public TimeSpan Validity { get; init; } = TimeSpan.FromDays(1);
}
