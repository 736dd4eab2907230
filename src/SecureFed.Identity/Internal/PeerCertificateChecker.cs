using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Internal;

/// <summary>
/// The checks behind <see cref="PeerCertificateValidator"/>: chain to the one consortium root, validity at the
/// injected clock, role (EKU, not a CA) and, for silos, the silo id from the SAN URI.
/// Safe to use from many threads (each chain build has its own chain; they share one parsed, key-less root, which a
/// build only reads: parsing it again for every build was a third of a cold peer's cost). A chain that built to the
/// root is remembered by the leaf's SHA-256 fingerprint with the root's validity window: the same bytes build the same
/// chain, so a peer seen every round (each of 1000 silos checks its 129 neighbours every round) is not rebuilt every
/// round. Validity, usage, silo id, deny-list and pins are still checked on every call.
/// </summary>
internal sealed class PeerCertificateChecker
{
    // Chain statuses that mean "not issued by our root". Anything else non-zero (apart from time, checked
    // separately with a clearer message) is reported as Other.
    private const X509ChainStatusFlags UntrustedFlags =
        X509ChainStatusFlags.UntrustedRoot
        | X509ChainStatusFlags.PartialChain
        | X509ChainStatusFlags.NotSignatureValid
        | X509ChainStatusFlags.Cyclic
        | X509ChainStatusFlags.InvalidBasicConstraints
        | X509ChainStatusFlags.ExplicitDistrust;

    private const X509ChainStatusFlags TimeFlags = X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested;

    /// <summary>Chains remembered at most; past it the cache starts again (a consortium has far fewer members).</summary>
    private const int MaxRememberedChains = 16_384;

    private readonly byte[] _rootDer;
    private readonly X509Certificate2 _root;
    private readonly string _rootDescription;
    private readonly TimeProvider _time;
    private readonly PeerRestrictions _restrictions;
    private readonly ConcurrentDictionary<string, RootWindow> _builtChains = new(StringComparer.Ordinal);
    private int _chainBuilds;

    public PeerCertificateChecker(X509Certificate2 consortiumRoot, TimeProvider time, PeerRestrictions restrictions)
    {
        var constraints = consortiumRoot.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is not { CertificateAuthority: true })
        {
            throw new ArgumentException(
                $"The trust anchor '{consortiumRoot.Subject}' is not a CA certificate; pass the consortium root (ca.pem).",
                nameof(consortiumRoot));
        }

        // Only the public encoding is kept: a root passed with its private key does not leave the key here,
        // and the caller may dispose its instance.
        _rootDer = consortiumRoot.RawData;
        _root = X509CertificateLoader.LoadCertificate(_rootDer);
        _rootDescription = $"'{consortiumRoot.Subject}' (sha256 {CertificateFingerprint.Sha256Hex(consortiumRoot)})";
        _time = time;
        _restrictions = restrictions;
    }

    public PeerValidationResult Check(X509Certificate2? certificate, PeerRole role)
    {
        string what = role == PeerRole.Silo ? "silo" : "coordinator";
        if (certificate is null)
        {
            return PeerValidationResult.Refused(PeerValidationFailure.NoCertificate, $"The {what} presented no certificate.");
        }

        string subject = certificate.Subject;
        string fingerprint = CertificateFingerprint.Sha256Hex(certificate);
        string described = $"The {what} certificate '{subject}' (sha256 {fingerprint})";

        PeerValidationResult Refuse(PeerValidationFailure failure, string reason) =>
            PeerValidationResult.Refused(failure, $"{described} {reason}", subject, fingerprint);

        if (certificate.RawDataMemory.Span.SequenceEqual(_rootDer))
        {
            return Refuse(PeerValidationFailure.WrongUsage, "is the consortium root itself, which is not a peer certificate.");
        }

        DateTime at = _time.GetUtcNow().UtcDateTime;
        PeerValidationResult? refusal = _builtChains.TryGetValue(fingerprint, out RootWindow root)
            ? CheckRootTime(root, at, Refuse)
            : CheckChain(certificate, fingerprint, at, Refuse);
        refusal ??= CheckTime(certificate, at, Refuse);
        refusal ??= CheckUsage(certificate, role, Refuse);
        if (refusal is not null)
        {
            return refusal;
        }

        SiloId? siloId = null;
        if (role == PeerRole.Silo && ExtractSiloId(certificate, Refuse, out siloId) is { } missing)
        {
            return missing;
        }

        if (CheckRestrictions(fingerprint, siloId, Refuse) is { } restricted)
        {
            return restricted;
        }

        return siloId is null
            ? PeerValidationResult.Accepted($"{described} is valid.", subject, fingerprint, siloId: null)
            : PeerValidationResult.Accepted($"{described} identifies silo '{siloId}'.", subject, fingerprint, siloId);
    }

    private PeerValidationResult? CheckRestrictions(
        string fingerprint, SiloId? siloId, Func<PeerValidationFailure, string, PeerValidationResult> refuse)
    {
        if (_restrictions.DenyList is { } source)
        {
            DenyList list;
            try
            {
                list = source.Current();
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                // Fail closed: an untrusted list might have named this very certificate.
                return refuse(PeerValidationFailure.Revoked, $"cannot be checked against the deny-list, so it is refused: {ex.Message}");
            }

            if (list.Find(fingerprint, siloId) is { } entry)
            {
                string what = entry.Kind == DenyListEntryKind.Silo ? $"silo id '{entry.Value}'" : "certificate";
                string why = entry.Reason.Length > 0 ? $" ({entry.Reason})" : "";
                return refuse(
                    PeerValidationFailure.Revoked,
                    $"is revoked: its {what} is on the consortium's deny-list since {entry.RevokedAt:u}{why}; the member needs a new certificate ('securefed certs issue --rotate' or 'certs sign --rotate').");
            }
        }

        if (siloId is not null && _restrictions.PinnedFingerprints.TryGetValue(siloId.Value, out IReadOnlySet<string>? pins) && !pins.Contains(fingerprint))
        {
            return refuse(
                PeerValidationFailure.PinMismatch,
                $"is not the certificate pinned for silo '{siloId}' in Members (pinned: {string.Join(", ", pins.Select(p => CertificateFingerprint.Prefix + p))}); " +
                $"if the silo rotated its key, pin 'sha256:{fingerprint}' instead.");
        }

        return null;
    }

    /// <summary>How many chains were built (not answered from the cache); for tests.</summary>
    internal int ChainBuilds => Volatile.Read(ref _chainBuilds);

    private PeerValidationResult? CheckChain(
        X509Certificate2 certificate, string fingerprint, DateTime at, Func<PeerValidationFailure, string, PeerValidationResult> refuse)
    {
        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.Add(_root);
        // No CRL or OCSP: the consortium revokes through its signed deny-list, checked after the chain (CheckRestrictions).
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = at;
        policy.VerificationTimeIgnored = false;

        try
        {
            Interlocked.Increment(ref _chainBuilds);
            chain.Build(certificate);
            X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
            foreach (X509ChainStatus status in chain.ChainStatus)
            {
                flags |= status.Status;
            }

            foreach (X509ChainElement element in chain.ChainElements)
            {
                foreach (X509ChainStatus status in element.ChainElementStatus)
                {
                    flags |= status.Status;
                }
            }

            // Path length 0: the only acceptable chain is leaf -> our root, whatever the platform found.
            bool endsAtRoot = chain.ChainElements.Count == 2
                && chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(_rootDer);
            if ((flags & UntrustedFlags) != 0 || !endsAtRoot)
            {
                return refuse(
                    PeerValidationFailure.UntrustedIssuer,
                    $"was not issued by the consortium CA {_rootDescription} (issuer '{certificate.Issuer}'; chain status: {flags}); " +
                    "check that both sides use the same ca.pem.");
            }

            X509ChainStatusFlags other = flags & ~TimeFlags;
            if (other != X509ChainStatusFlags.NoError)
            {
                return refuse(PeerValidationFailure.Other, $"failed chain validation: {other}.");
            }

            X509Certificate2 chainRoot = chain.ChainElements[1].Certificate;
            var window = new RootWindow(chainRoot.NotBefore.ToUniversalTime(), chainRoot.NotAfter.ToUniversalTime());
            if (CheckRootTime(window, at, refuse) is { } refusal)
            {
                return refusal;
            }

            if (_builtChains.Count >= MaxRememberedChains)
            {
                _builtChains.Clear();
            }

            _builtChains[fingerprint] = window;
            return null;
        }
        catch (CryptographicException ex)
        {
            return refuse(PeerValidationFailure.Other, $"could not be checked: {ex.Message}");
        }
        finally
        {
            foreach (X509ChainElement element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    private static PeerValidationResult? CheckRootTime(
        RootWindow root, DateTime at, Func<PeerValidationFailure, string, PeerValidationResult> refuse)
    {
        if (at > root.NotAfter)
        {
            return refuse(PeerValidationFailure.Expired, $"chains to a consortium CA that expired at {root.NotAfter:O}.");
        }

        if (at < root.NotBefore)
        {
            return refuse(PeerValidationFailure.NotYetValid, $"chains to a consortium CA that is valid only from {root.NotBefore:O}.");
        }

        return null;
    }

    private static PeerValidationResult? CheckTime(
        X509Certificate2 certificate, DateTime at, Func<PeerValidationFailure, string, PeerValidationResult> refuse)
    {
        DateTime notBefore = certificate.NotBefore.ToUniversalTime();
        DateTime notAfter = certificate.NotAfter.ToUniversalTime();
        if (at > notAfter)
        {
            return refuse(PeerValidationFailure.Expired, $"expired at {notAfter:O} (validator clock {at:O}).");
        }

        if (at < notBefore)
        {
            return refuse(PeerValidationFailure.NotYetValid, $"is valid only from {notBefore:O} (validator clock {at:O}).");
        }

        return null;
    }

    private static PeerValidationResult? CheckUsage(
        X509Certificate2 certificate, PeerRole role, Func<PeerValidationFailure, string, PeerValidationResult> refuse)
    {
        if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is { CertificateAuthority: true })
        {
            return refuse(PeerValidationFailure.WrongUsage, "is a CA certificate, not a peer certificate.");
        }

        if (certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } keyUsage
            && !keyUsage.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))
        {
            return refuse(PeerValidationFailure.WrongUsage, $"has key usage {keyUsage.KeyUsages} without digitalSignature, which TLS needs.");
        }

        (string required, string requiredName, string forbidden, string forbiddenName) = role == PeerRole.Silo
            ? (IdentityOids.ClientAuth, "clientAuth", IdentityOids.ServerAuth, "serverAuth")
            : (IdentityOids.ServerAuth, "serverAuth", IdentityOids.ClientAuth, "clientAuth");

        // A certificate without an EKU extension is valid for every purpose under RFC 5280, so the chain engine
        // would accept it; the consortium requires the extension and the role's purpose explicitly.
        if (certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } eku)
        {
            return refuse(PeerValidationFailure.WrongUsage, $"has no extended key usage extension; it needs {requiredName}.");
        }

        var usages = eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        if (!usages.Contains(required))
        {
            return refuse(PeerValidationFailure.WrongUsage, $"lacks the {requiredName} extended key usage.");
        }

        // Role separation: one certificate must not be able to act both as a silo and as the coordinator.
        if (usages.Contains(forbidden) || usages.Contains(IdentityOids.AnyExtendedKeyUsage))
        {
            return refuse(
                PeerValidationFailure.WrongUsage,
                $"also allows {(usages.Contains(forbidden) ? forbiddenName : "anyExtendedKeyUsage")}; a {(role == PeerRole.Silo ? "silo" : "coordinator")} certificate must carry {requiredName} only.");
        }

        return null;
    }

    private static PeerValidationResult? ExtractSiloId(
        X509Certificate2 certificate, Func<PeerValidationFailure, string, PeerValidationResult> refuse, out SiloId? siloId)
    {
        siloId = null;
        IReadOnlyList<string> uris;
        try
        {
            uris = SubjectAltNames.ReadUris(certificate);
        }
        catch (CryptographicException)
        {
            return refuse(PeerValidationFailure.MissingSiloId, "has a malformed subject alternative name extension.");
        }

        // The silo id comes from the SAN URI only; the CN is informational and never used as a fallback, so a
        // certificate minted for another purpose cannot be read as a silo identity.
        var candidates = uris.Where(u => u.StartsWith(SiloId.SanUriPrefix, StringComparison.Ordinal)).ToList();
        if (candidates.Count == 0)
        {
            return refuse(PeerValidationFailure.MissingSiloId, $"has no '{SiloId.SanUriPrefix}<id>' subject alternative name URI.");
        }

        if (candidates.Count > 1)
        {
            return refuse(PeerValidationFailure.MissingSiloId, $"carries {candidates.Count} silo id URIs; exactly one is required.");
        }

        if (!SiloId.TryParse(candidates[0][SiloId.SanUriPrefix.Length..], out siloId))
        {
            return refuse(PeerValidationFailure.MissingSiloId, "carries a malformed silo id in its subject alternative name URI.");
        }

        return null;
    }

    /// <summary>The validity window of the root a remembered chain ended at (UTC).</summary>
    private readonly record struct RootWindow(DateTime NotBefore, DateTime NotAfter);
}
