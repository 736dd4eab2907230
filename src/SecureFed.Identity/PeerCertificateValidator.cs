using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>
/// Decides whether a peer's certificate belongs to the consortium, and in which role.
/// </summary>
/// <remarks>
/// <para>Rules, for both roles: the chain is built with <see cref="X509ChainTrustMode.CustomRootTrust"/> and the
/// consortium root as the ONLY trust anchor (the system store is never consulted), no certificate downloads,
/// and must be exactly leaf -> root (the root has path length 0). Validity is judged at the injected clock,
/// both for the leaf and for the root. Revocation is the consortium's signed <see cref="DenyList"/> (given through
/// <see cref="PeerRestrictions"/>), checked after the CA's rules; the platform's CRL/OCSP checks are off
/// (<see cref="X509RevocationMode.NoCheck"/>). Silo fingerprints may be pinned per id.
/// The leaf must not be a CA, a key usage extension (if any) must allow digitalSignature, and the extended key
/// usage extension must be present and name the role's purpose and not the other role's (nor
/// anyExtendedKeyUsage).</para>
/// <para>Silos (<see cref="ValidateSilo"/>): EKU clientAuth; the silo id is read from exactly one SAN URI
/// <c>securefed://silo/&lt;id&gt;</c>. The common name is never used as a fallback: a certificate without
/// that URI is refused with <see cref="PeerValidationFailure.MissingSiloId"/>.</para>
/// <para>Coordinator (<see cref="ValidateCoordinator"/>): EKU serverAuth. The host name is checked by the TLS
/// stack; the callbacks below refuse its <see cref="SslPolicyErrors.RemoteCertificateNameMismatch"/>.</para>
/// <para>Thread-safe. It keeps only the root's public encoding, so the caller may dispose the certificate it passed
/// in. A chain that built to the root is remembered by the leaf's fingerprint (the same bytes build the same chain),
/// so keep one validator for a process's life: checking the same peers every round then costs no chain builds.
/// Every other rule (validity at the clock, the root's validity, usage, silo id, deny-list, pins) applies on every
/// call.</para>
/// </remarks>
public sealed class PeerCertificateValidator
{
    private readonly PeerCertificateChecker _checker;

    /// <summary>Creates a validator that trusts <paramref name="consortiumRoot"/> and nothing else.</summary>
    /// <param name="consortiumRoot">The consortium root (ca.pem). If it carries a private key, the key is ignored.</param>
    /// <param name="time">The clock validity is judged at.</param>
    /// <exception cref="ArgumentException"><paramref name="consortiumRoot"/> is not a CA certificate.</exception>
    public PeerCertificateValidator(X509Certificate2 consortiumRoot, TimeProvider time)
        : this(consortiumRoot, time, PeerRestrictions.None)
    {
    }

    /// <summary>Creates a validator that trusts <paramref name="consortiumRoot"/> and nothing else, and also applies <paramref name="restrictions"/>.</summary>
    /// <param name="consortiumRoot">The consortium root (ca.pem). If it carries a private key, the key is ignored.</param>
    /// <param name="time">The clock validity is judged at.</param>
    /// <param name="restrictions">The deny-list and pins.</param>
    /// <exception cref="ArgumentException"><paramref name="consortiumRoot"/> is not a CA certificate.</exception>
    public PeerCertificateValidator(X509Certificate2 consortiumRoot, TimeProvider time, PeerRestrictions restrictions)
    {
        ArgumentNullException.ThrowIfNull(consortiumRoot);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(restrictions);
        _checker = new PeerCertificateChecker(consortiumRoot, time, restrictions);
        Restrictions = restrictions;
    }

    /// <summary>Chains built so far (a certificate checked again is answered from the remembered chain); for tests.</summary>
    internal int ChainBuilds => _checker.ChainBuilds;

    /// <summary>The deny-list and pins this validator applies.</summary>
    public PeerRestrictions Restrictions { get; }

    /// <summary>
    /// Validates a silo's client certificate. On success the result carries the silo id (from the SAN URI) and
    /// the certificate's SHA-256 fingerprint. For Kestrel, call it from
    /// <c>ClientCertificateValidation</c> or from the certificate authentication handler.
    /// </summary>
    /// <param name="clientCertificate">The certificate the silo presented, or <see langword="null"/> if none.</param>
    public PeerValidationResult ValidateSilo(X509Certificate2? clientCertificate)
    {
        return _checker.Check(clientCertificate, PeerRole.Silo);
    }

    /// <summary>Validates the coordinator's server certificate (chain and serverAuth; not the host name).</summary>
    /// <param name="serverCertificate">The certificate the coordinator presented, or <see langword="null"/> if none.</param>
    public PeerValidationResult ValidateCoordinator(X509Certificate2? serverCertificate)
    {
        return _checker.Check(serverCertificate, PeerRole.Coordinator);
    }

    /// <summary>
    /// A callback for a TLS server (<see cref="SslServerAuthenticationOptions.RemoteCertificateValidationCallback"/>)
    /// that accepts exactly the certificates <see cref="ValidateSilo"/> accepts. The platform's chain errors are
    /// ignored because the platform does not know the consortium root; the chain is rebuilt against it.
    /// </summary>
    /// <param name="onResult">Called with every result (for logging or metrics); may be <see langword="null"/>.</param>
    public RemoteCertificateValidationCallback CreateSiloCallback(Action<PeerValidationResult>? onResult = null)
    {
        return (_, certificate, _, _) =>
        {
            PeerValidationResult result = WithCertificate2(certificate, ValidateSilo);
            onResult?.Invoke(result);
            return result.IsValid;
        };
    }

    /// <summary>
    /// A callback for a TLS client connecting to the coordinator (<see cref="SslClientAuthenticationOptions"/>,
    /// <c>SocketsHttpHandler.SslOptions</c>): accepts exactly what <see cref="ValidateCoordinator"/> accepts,
    /// provided the certificate names the host connected to. The system trust store plays no part.
    /// </summary>
    /// <param name="onResult">Called with every result (for logging or metrics); may be <see langword="null"/>.</param>
    public RemoteCertificateValidationCallback CreateCoordinatorCallback(Action<PeerValidationResult>? onResult = null)
    {
        return (_, certificate, _, errors) => CheckCoordinator(certificate, errors, onResult);
    }

    /// <summary>
    /// The same check as <see cref="CreateCoordinatorCallback(Action{PeerValidationResult}?)"/>, shaped for
    /// <c>HttpClientHandler.ServerCertificateCustomValidationCallback</c>.
    /// </summary>
    /// <param name="onResult">Called with every result (for logging or metrics); may be <see langword="null"/>.</param>
    public Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool> CreateHttpClientHandlerCallback(
        Action<PeerValidationResult>? onResult = null)
    {
        return (_, certificate, _, errors) => CheckCoordinator(certificate, errors, onResult);
    }

    /// <summary>
    /// Shorthand for a client that validates the coordinator against <paramref name="consortiumRoot"/> only:
    /// <c>new PeerCertificateValidator(consortiumRoot, time).CreateCoordinatorCallback(onResult)</c>.
    /// </summary>
    /// <param name="consortiumRoot">The consortium root (ca.pem).</param>
    /// <param name="time">The clock validity is judged at.</param>
    /// <param name="onResult">Called with every result; may be <see langword="null"/>.</param>
    public static RemoteCertificateValidationCallback CreateCoordinatorCallback(
        X509Certificate2 consortiumRoot, TimeProvider time, Action<PeerValidationResult>? onResult = null)
    {
        return new PeerCertificateValidator(consortiumRoot, time).CreateCoordinatorCallback(onResult);
    }

    private bool CheckCoordinator(X509Certificate? certificate, SslPolicyErrors errors, Action<PeerValidationResult>? onResult)
    {
        PeerValidationResult result = WithCertificate2(certificate, ValidateCoordinator);
        if (result.IsValid && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            result = PeerValidationResult.Refused(
                PeerValidationFailure.NameMismatch,
                $"The coordinator certificate '{result.Subject}' (sha256 {result.Sha256Fingerprint}) does not name the host that was connected to.",
                result.Subject,
                result.Sha256Fingerprint);
        }

        onResult?.Invoke(result);
        return result.IsValid;
    }

    private static PeerValidationResult WithCertificate2(X509Certificate? certificate, Func<X509Certificate2?, PeerValidationResult> validate)
    {
        switch (certificate)
        {
            case null:
                return validate(null);
            case X509Certificate2 certificate2:
                return validate(certificate2);
            default:
                using (X509Certificate2 copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()))
                {
                    return validate(copy);
                }
        }
    }
}
