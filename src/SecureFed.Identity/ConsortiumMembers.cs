using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>What <see cref="ConsortiumMembers"/> wrote for one member.</summary>
/// <param name="Certificate">The new certificate's public facts (as in manifest.json).</param>
/// <param name="CertificatePath">The certificate file.</param>
/// <param name="KeyPath">The private key file, or <see langword="null"/> when the key stayed with the silo (CSR flow).</param>
/// <param name="Revoked">The replaced certificate's deny-list entry, for a rotation; otherwise <see langword="null"/>.</param>
public sealed record MemberIssued(ManifestCertificate Certificate, string CertificatePath, string? KeyPath, DenyListEntry? Revoked);

/// <summary>
/// Changes to an existing consortium, working on the folder <see cref="ConsortiumLayout.Init(string, int, IEnumerable{string}, TimeProvider, bool)"/>
/// wrote (<c>ca.pem</c>, <c>ca.key.pem</c>, <c>manifest.json</c>): one more member, a new coordinator certificate,
/// the CSR flow (<see cref="Request"/> at the silo, <see cref="Sign"/> at the CA), key rotation, and revocation
/// into the signed deny-list (<see cref="DenyList"/>).
/// </summary>
/// <remarks>
/// Nothing here touches another member's files: adding or rotating one member leaves every other certificate
/// valid. Existing certificate files are never replaced silently: replacing one needs <c>rotate</c>, which also
/// puts the old certificate on the deny-list (an old certificate that still chains to the CA would otherwise stay
/// usable by whoever holds its key). The CA key file is refused when other accounts can read it, unless allowed.
/// manifest.json, when present in the CA folder, is updated. Not safe to run concurrently on one folder.
/// </remarks>
public static class ConsortiumMembers
{
    /// <summary>File name ending of a signing request: <c>silo-1.csr.pem</c>.</summary>
    public const string RequestSuffix = ".csr.pem";

    /// <summary>Issues a certificate and key for one more silo (or a new one for an existing silo, with <paramref name="rotate"/>).</summary>
    /// <param name="caDir">The folder with ca.pem and ca.key.pem.</param>
    /// <param name="id">The silo id.</param>
    /// <param name="outDir">Where silo-ID.pem and silo-ID.key.pem go; null: <paramref name="caDir"/>.</param>
    /// <param name="time">The clock.</param>
    /// <param name="rotate">Replace an existing certificate of this silo in <paramref name="outDir"/> and revoke it.</param>
    /// <param name="denyListPath">The deny-list a rotation writes to; null: <c>caDir/revoked.txt</c>.</param>
    /// <param name="allowInsecureKey">Accept a CA key file other accounts can read.</param>
    /// <exception cref="IOException">The silo already has a certificate there and <paramref name="rotate"/> is false, or rotate is set and it has none.</exception>
    public static MemberIssued IssueSilo(string caDir, SiloId id, string? outDir, TimeProvider time, bool rotate = false, string? denyListPath = null, bool allowInsecureKey = false)
    {
        ArgumentNullException.ThrowIfNull(id);
        outDir ??= caDir;
        string certificatePath = Path.Combine(outDir, ConsortiumLayout.SiloCertificateFile(id));
        string keyPath = Path.Combine(outDir, ConsortiumLayout.SiloKeyFile(id));
        using ConsortiumCa ca = LoadCa(caDir, time, allowInsecureKey);
        X509Certificate2? previous = Previous(certificatePath, $"silo '{id}'", rotate, "certs issue --silo " + id);
        using (previous)
        {
            using X509Certificate2 issued = ca.IssueSilo(id, ConsortiumLayout.LeafValidity);
            Directory.CreateDirectory(outDir);
            CertificateStore.WritePrivateKey(keyPath, issued);
            CertificateStore.WriteCertificate(certificatePath, issued);
            DenyListEntry? revoked = previous is null ? null : Revoke(ca, caDir, denyListPath, previous, $"rotated: replaced by sha256:{CertificateFingerprint.Sha256Hex(issued)}", time);
            return new MemberIssued(UpdateManifest(caDir, certificatePath, issued, id), certificatePath, keyPath, revoked);
        }
    }

    /// <summary>Issues a new coordinator certificate and key (coordinator.pem, coordinator.key.pem); <paramref name="rotate"/> replaces and revokes an existing one.</summary>
    /// <param name="caDir">The folder with ca.pem and ca.key.pem.</param>
    /// <param name="extraNames">Extra DNS names or IP addresses besides localhost, 127.0.0.1 and ::1.</param>
    /// <param name="outDir">Where the files go; null: <paramref name="caDir"/>.</param>
    /// <param name="time">The clock.</param>
    /// <param name="rotate">Replace an existing coordinator certificate in <paramref name="outDir"/> and revoke it.</param>
    /// <param name="denyListPath">The deny-list a rotation writes to; null: <c>caDir/revoked.txt</c>.</param>
    /// <param name="allowInsecureKey">Accept a CA key file other accounts can read.</param>
    public static MemberIssued IssueCoordinator(string caDir, IEnumerable<string> extraNames, string? outDir, TimeProvider time, bool rotate = false, string? denyListPath = null, bool allowInsecureKey = false)
    {
        ArgumentNullException.ThrowIfNull(extraNames);
        outDir ??= caDir;
        var dns = new List<string>();
        var addresses = new List<IPAddress>();
        foreach (string name in extraNames)
        {
            string trimmed = name.Trim();
            bool looksLikeAddress = trimmed.Contains(':', StringComparison.Ordinal) || trimmed.Count(c => c == '.') == 3;
            if (looksLikeAddress && IPAddress.TryParse(trimmed, out IPAddress? address))
            {
                addresses.Add(address);
            }
            else
            {
                dns.Add(trimmed);
            }
        }

        string certificatePath = Path.Combine(outDir, ConsortiumLayout.CoordinatorCertificateFile);
        string keyPath = Path.Combine(outDir, ConsortiumLayout.CoordinatorKeyFile);
        using ConsortiumCa ca = LoadCa(caDir, time, allowInsecureKey);
        X509Certificate2? previous = Previous(certificatePath, "the coordinator", rotate, "certs issue --coordinator");
        using (previous)
        {
            using X509Certificate2 issued = ca.IssueCoordinator(dns, addresses, ConsortiumLayout.LeafValidity);
            Directory.CreateDirectory(outDir);
            CertificateStore.WritePrivateKey(keyPath, issued);
            CertificateStore.WriteCertificate(certificatePath, issued);
            DenyListEntry? revoked = previous is null ? null : Revoke(ca, caDir, denyListPath, previous, $"rotated: replaced by sha256:{CertificateFingerprint.Sha256Hex(issued)}", time);
            ManifestCertificate entry = UpdateManifest(caDir, certificatePath, issued, siloId: null, coordinatorNames:
            (["localhost", .. dns.Select(n => n.ToLowerInvariant()).Where(n => n != "localhost").Distinct(StringComparer.Ordinal)],
             [.. new[] { IPAddress.Loopback, IPAddress.IPv6Loopback }.Concat(addresses).Distinct().Select(a => a.ToString())]));
            return new MemberIssued(entry, certificatePath, keyPath, revoked);
        }
    }

    /// <summary>
    /// At the silo: makes its private key (<c>silo-ID.key.pem</c>, mode 0600) and a signing request
    /// (<c>silo-ID.csr.pem</c>) in <paramref name="outDir"/>. Only the request goes to the CA.
    /// </summary>
    /// <param name="id">The silo id to ask for.</param>
    /// <param name="outDir">The folder; created if missing.</param>
    /// <param name="overwrite">Replace an existing key (a new key needs a new certificate).</param>
    /// <returns>The request and key paths.</returns>
    /// <exception cref="IOException">A key exists and <paramref name="overwrite"/> is false.</exception>
    public static (string RequestPath, string KeyPath) Request(SiloId id, string outDir, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        string stem = Path.GetFileNameWithoutExtension(ConsortiumLayout.SiloCertificateFile(id));
        string requestPath = Path.Combine(outDir, stem + RequestSuffix);
        string keyPath = Path.Combine(outDir, ConsortiumLayout.SiloKeyFile(id));
        if (File.Exists(keyPath) && !overwrite)
        {
            throw new IOException(
                $"The key file '{keyPath}' exists; a new request makes a new key, which needs a new certificate. Pass --force to replace it (then have the CA sign with --rotate).");
        }

        string pem = SiloCertificateRequest.Create(id, out ECDsa key);
        using (key)
        {
            Directory.CreateDirectory(outDir);
            CertificateStore.WritePrivateKey(keyPath, key);
        }

        File.WriteAllText(requestPath, pem + "\n");
        return (requestPath, keyPath);
    }

    /// <summary>
    /// At the CA: checks a signing request (signature, ECDSA P-256, the silo id it asks for equals
    /// <paramref name="expectedId"/>, a key no other member or the CA holds) and writes the silo's certificate.
    /// </summary>
    /// <param name="caDir">The folder with ca.pem and ca.key.pem.</param>
    /// <param name="requestPath">The request file from <see cref="Request"/>.</param>
    /// <param name="expectedId">The silo id the CA operator expects (a request for another id is refused).</param>
    /// <param name="outDir">Where silo-ID.pem goes; null: <paramref name="caDir"/>.</param>
    /// <param name="time">The clock.</param>
    /// <param name="rotate">Replace an existing certificate of this silo in <paramref name="outDir"/> and revoke it.</param>
    /// <param name="denyListPath">The deny-list a rotation writes to; null: <c>caDir/revoked.txt</c>.</param>
    /// <param name="allowInsecureKey">Accept a CA key file other accounts can read.</param>
    /// <exception cref="InvalidDataException">The request is bad or asks for another id; the message names the file.</exception>
    public static MemberIssued Sign(string caDir, string requestPath, SiloId expectedId, string? outDir, TimeProvider time, bool rotate = false, string? denyListPath = null, bool allowInsecureKey = false)
    {
        ArgumentNullException.ThrowIfNull(expectedId);
        outDir ??= caDir;
        string description = $"the request file '{requestPath}'";
        (SiloId requested, PublicKey key) = SiloCertificateRequest.Read(PemReading.ReadFile(requestPath, "certificate request"), description);
        if (requested != expectedId)
        {
            throw new InvalidDataException(
                $"The request file '{requestPath}' asks for silo '{requested}', not '{expectedId}'; sign it only if '{requested}' is right (--silo {requested}).");
        }

        string certificatePath = Path.Combine(outDir, ConsortiumLayout.SiloCertificateFile(expectedId));
        using ConsortiumCa ca = LoadCa(caDir, time, allowInsecureKey);
        X509Certificate2? previous = Previous(certificatePath, $"silo '{expectedId}'", rotate, $"certs sign --silo {expectedId}");
        using (previous)
        {
            string? holder = KeyHolder(key, caDir, outDir);
            if (holder is not null)
            {
                throw new InvalidDataException(
                    $"The request file '{requestPath}' carries the same key as {holder}; every member (and every rotation) needs a fresh key: make a new request with 'securefed certs request --force'.");
            }

            using X509Certificate2 issued = ca.IssueSiloForKey(expectedId, key, ConsortiumLayout.LeafValidity);
            Directory.CreateDirectory(outDir);
            CertificateStore.WriteCertificate(certificatePath, issued);
            DenyListEntry? revoked = previous is null ? null : Revoke(ca, caDir, denyListPath, previous, $"rotated: replaced by sha256:{CertificateFingerprint.Sha256Hex(issued)}", time);
            return new MemberIssued(UpdateManifest(caDir, certificatePath, issued, expectedId), certificatePath, KeyPath: null, revoked);
        }
    }

    /// <summary>Adds an entry to the deny-list (created if missing), signed by the CA in <paramref name="caDir"/>.</summary>
    /// <param name="caDir">The folder with ca.pem and ca.key.pem.</param>
    /// <param name="kind">A certificate (by fingerprint) or a whole silo id.</param>
    /// <param name="value">The fingerprint or silo id.</param>
    /// <param name="reason">Free text for people.</param>
    /// <param name="denyListPath">The list file; null: <c>caDir/revoked.txt</c>.</param>
    /// <param name="time">The clock.</param>
    /// <param name="allowInsecureKey">Accept a CA key file other accounts can read.</param>
    /// <returns>The list as written.</returns>
    public static DenyList Revoke(string caDir, DenyListEntryKind kind, string value, string reason, string? denyListPath, TimeProvider time, bool allowInsecureKey = false)
    {
        using ConsortiumCa ca = LoadCa(caDir, time, allowInsecureKey);
        string path = denyListPath ?? Path.Combine(caDir, DenyList.DefaultFileName);
        DenyList list = (File.Exists(path) ? DenyList.Load(path, ca.Certificate) : DenyList.Empty(ca.Certificate, time.GetUtcNow()))
            .With(kind, value, time.GetUtcNow(), reason);
        list.Save(path, ca);
        return list;
    }

    private static ConsortiumCa LoadCa(string caDir, TimeProvider time, bool allowInsecureKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(caDir);
        ArgumentNullException.ThrowIfNull(time);
        string certificate = Path.Combine(caDir, ConsortiumLayout.CaCertificateFile);
        string key = Path.Combine(caDir, ConsortiumLayout.CaKeyFile);
        if (!File.Exists(certificate) || !File.Exists(key))
        {
            throw new FileNotFoundException(
                $"The CA folder '{caDir}' has no {(File.Exists(certificate) ? ConsortiumLayout.CaKeyFile : ConsortiumLayout.CaCertificateFile)}; point --ca-dir at the folder 'securefed certs init' wrote (it holds ca.pem and ca.key.pem).",
                File.Exists(certificate) ? key : certificate);
        }

        return ConsortiumCa.LoadFromFiles(certificate, key, time, allowInsecureKey);
    }

    private static X509Certificate2? Previous(string certificatePath, string who, bool rotate, string command)
    {
        bool exists = File.Exists(certificatePath);
        if (exists && !rotate)
        {
            throw new IOException(
                $"{Capitalize(who)} already has a certificate '{certificatePath}'. To replace it, run '{command} --rotate': the new certificate is written and the old one goes on the deny-list.");
        }

        if (!exists && rotate)
        {
            throw new IOException($"--rotate replaces an existing certificate, but '{certificatePath}' does not exist; leave out --rotate to issue a first one.");
        }

        return exists ? CertificateStore.LoadCertificate(certificatePath) : null;
    }

    private static DenyListEntry Revoke(ConsortiumCa ca, string caDir, string? denyListPath, X509Certificate2 previous, string reason, TimeProvider time)
    {
        string path = denyListPath ?? Path.Combine(caDir, DenyList.DefaultFileName);
        DenyList list = (File.Exists(path) ? DenyList.Load(path, ca.Certificate) : DenyList.Empty(ca.Certificate, time.GetUtcNow()))
            .With(DenyListEntryKind.Certificate, CertificateFingerprint.Sha256Hex(previous), time.GetUtcNow(), reason);
        list.Save(path, ca);
        return list.Entries[^1];
    }

    // A key already in use by the CA or by a certificate in either folder: a copied key, or a "rotation" that kept it.
    private static string? KeyHolder(PublicKey key, string caDir, string outDir)
    {
        byte[] spki = key.ExportSubjectPublicKeyInfo();
        foreach (string dir in new[] { caDir, outDir }.Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (string file in Directory.EnumerateFiles(dir, "*.pem").Where(f => !f.EndsWith(".key.pem", StringComparison.Ordinal) && !f.EndsWith(RequestSuffix, StringComparison.Ordinal)))
            {
                try
                {
                    using X509Certificate2 certificate = CertificateStore.LoadCertificate(file);
                    if (certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(spki))
                    {
                        return $"the certificate '{file}'";
                    }
                }
                catch (InvalidDataException)
                {
                    // Not a certificate file; nothing to compare.
                }
            }
        }

        return null;
    }

    private static ManifestCertificate UpdateManifest(
        string caDir, string certificatePath, X509Certificate2 certificate, SiloId? siloId,
        (IReadOnlyList<string> Dns, IReadOnlyList<string> Ips)? coordinatorNames = null)
    {
        var entry = new ManifestCertificate
        {
            File = Path.GetRelativePath(caDir, certificatePath),
            Subject = certificate.Subject,
            Sha256Fingerprint = CertificateFingerprint.Sha256Hex(certificate),
            NotBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime()),
            NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
            SiloId = siloId?.Value,
            DnsNames = coordinatorNames?.Dns,
            IpAddresses = coordinatorNames?.Ips,
        };
        string manifestPath = Path.Combine(caDir, ConsortiumLayout.ManifestFile);
        if (!File.Exists(manifestPath))
        {
            return entry;
        }

        ConsortiumManifest manifest = ConsortiumManifest.Load(manifestPath);
        manifest = siloId is null
            ? manifest with { Coordinator = entry }
            : manifest with { Silos = [.. manifest.Silos.Where(s => s.SiloId != siloId.Value), entry] };
        File.WriteAllText(manifestPath, manifest.ToJson() + "\n");
        return entry;
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : string.Concat(char.ToUpperInvariant(text[0]).ToString(), text.AsSpan(1));
}
