using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>
/// Generates a consortium's complete certificate material into one directory (what <c>securefed certs init</c>
/// writes into <c>certs-dev/</c>): <c>ca.pem</c>, <c>ca.key.pem</c>, <c>coordinator.pem</c>,
/// <c>coordinator.key.pem</c>, <c>silo-1.pem</c> and <c>silo-1.key.pem</c> .. <c>silo-N.pem</c>
/// and <c>silo-N.key.pem</c> for silos <c>silo-1</c> .. <c>silo-N</c>, and <c>manifest.json</c> (public facts only).
/// </summary>
/// <remarks>
/// The root is valid for <see cref="CaValidity"/>, the coordinator and silo certificates for
/// <see cref="LeafValidity"/>. Key files get mode 0600 on Unix. All certificates are minted before the first
/// file is written, and the manifest is written last, so its presence marks complete material.
/// Not safe to run twice concurrently on the same directory.
/// </remarks>
public static class ConsortiumLayout
{
    /// <summary>The consortium name used when none is given.</summary>
    public const string DefaultConsortiumName = "securefed-dev";

    /// <summary>The most silos one Init generates.</summary>
    public const int MaxSilos = 1000;

    /// <summary>File name of the root certificate.</summary>
    public const string CaCertificateFile = "ca.pem";

    /// <summary>File name of the root's private key.</summary>
    public const string CaKeyFile = "ca.key.pem";

    /// <summary>File name of the coordinator certificate.</summary>
    public const string CoordinatorCertificateFile = "coordinator.pem";

    /// <summary>File name of the coordinator's private key.</summary>
    public const string CoordinatorKeyFile = "coordinator.key.pem";

    /// <summary>File name of the manifest.</summary>
    public const string ManifestFile = "manifest.json";

    /// <summary>Lifetime of the generated root.</summary>
    public static readonly TimeSpan CaValidity = TimeSpan.FromDays(3650);

    /// <summary>Lifetime of the generated coordinator and silo certificates.</summary>
    public static readonly TimeSpan LeafValidity = TimeSpan.FromDays(730);

    /// <summary>
    /// File name of a silo's certificate: <c>&lt;id&gt;.pem</c> when the id already starts with <c>silo-</c>
    /// (so the generated silo <c>silo-1</c> gives <c>silo-1.pem</c>), otherwise <c>silo-&lt;id&gt;.pem</c>, so a silo
    /// named <c>ca</c> or <c>coordinator</c> can never collide with the CA's or coordinator's files.
    /// </summary>
    /// <param name="id">The silo id.</param>
    public static string SiloCertificateFile(SiloId id) => SiloFileStem(id) + ".pem";

    /// <summary>File name of a silo's private key: the certificate's name with <c>.key.pem</c> (for example <c>silo-1.key.pem</c>).</summary>
    /// <param name="id">The silo id.</param>
    public static string SiloKeyFile(SiloId id) => SiloFileStem(id) + ".key.pem";

    /// <summary>The silo ids Init generates for <paramref name="silos"/> silos: <c>silo-1</c> .. <c>silo-N</c>.</summary>
    /// <param name="silos">The number of silos, 1 to <see cref="MaxSilos"/>.</param>
    public static IReadOnlyList<SiloId> SiloIds(int silos)
    {
        ValidateSiloCount(silos);
        return Enumerable.Range(1, silos).Select(i => SiloId.Parse(string.Create(CultureInfo.InvariantCulture, $"silo-{i}"))).ToList();
    }

    /// <summary>Generates the material for consortium <see cref="DefaultConsortiumName"/>.</summary>
    /// <inheritdoc cref="Init(string, int, IEnumerable{string}, TimeProvider, bool, string)"/>
    public static ConsortiumManifest Init(string outDir, int silos, IEnumerable<string> extraDnsNames, TimeProvider time, bool overwrite)
    {
        return Init(outDir, silos, extraDnsNames, time, overwrite, DefaultConsortiumName);
    }

    /// <summary>Generates a new consortium root and every certificate into <paramref name="outDir"/>.</summary>
    /// <param name="outDir">The directory; created if missing.</param>
    /// <param name="silos">How many silo certificates to issue, 1 to <see cref="MaxSilos"/>.</param>
    /// <param name="extraDnsNames">
    /// Extra names for the coordinator certificate besides <c>localhost</c>, 127.0.0.1 and ::1 (for example the
    /// compose service name <c>coordinator</c>). Entries that are IPv4 dotted quads or IPv6 addresses become IP SANs.
    /// </param>
    /// <param name="time">The clock that dates the certificates.</param>
    /// <param name="overwrite">
    /// Whether to replace existing material. Without it, any existing CA, coordinator, silo or manifest file
    /// makes Init throw before anything is written. With it, stale <c>silo-*.pem</c> files are deleted too, since
    /// they would no longer chain to the new root.
    /// </param>
    /// <param name="consortiumName">The consortium name (see <see cref="ConsortiumCa.Create(string, TimeProvider, TimeSpan, string?)"/>).</param>
    /// <returns>The manifest that was written.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="silos"/> is outside 1 .. <see cref="MaxSilos"/>.</exception>
    /// <exception cref="ArgumentException">A DNS name or the consortium name is not acceptable.</exception>
    /// <exception cref="IOException">Material exists and <paramref name="overwrite"/> is false; the message lists it.</exception>
    public static ConsortiumManifest Init(
        string outDir, int silos, IEnumerable<string> extraDnsNames, TimeProvider time, bool overwrite, string consortiumName)
    {
        return Init(outDir, silos, extraDnsNames, time, overwrite, consortiumName, caLabel: null);
    }

    /// <summary>As <see cref="Init(string, int, IEnumerable{string}, TimeProvider, bool, string)"/>, naming the CA.</summary>
    /// <param name="outDir">The directory; created if missing.</param>
    /// <param name="silos">How many silo certificates to issue.</param>
    /// <param name="extraDnsNames">Extra names for the coordinator certificate.</param>
    /// <param name="time">The clock that dates the certificates.</param>
    /// <param name="overwrite">Whether to replace existing material.</param>
    /// <param name="consortiumName">The consortium name.</param>
    /// <param name="caLabel">The label after "SecureFed consortium CA" in the root's CN; null: 8 random hex digits.</param>
    public static ConsortiumManifest Init(
        string outDir, int silos, IEnumerable<string> extraDnsNames, TimeProvider time, bool overwrite, string consortiumName, string? caLabel)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        ValidateSiloCount(silos);
        ArgumentNullException.ThrowIfNull(extraDnsNames);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(consortiumName);

        (List<string> dnsNames, List<IPAddress> ipAddresses) = SplitHostNames(extraDnsNames);
        IReadOnlyList<SiloId> siloIds = SiloIds(silos);

        List<string> existing = ExistingMaterial(outDir);
        if (existing.Count > 0 && !overwrite)
        {
            string listed = string.Join(", ", existing.Take(5)) + (existing.Count > 5 ? $" and {existing.Count - 5} more" : string.Empty);
            throw new IOException(
                $"Refusing to overwrite existing consortium material in '{outDir}' ({listed}). Replacing it creates a new CA, " +
                "so every deployed certificate stops being accepted; pass overwrite (the CLI's --force) to do so anyway.");
        }

        // Mint everything first: an invalid name or a crypto failure must not leave half-written material.
        using var ca = ConsortiumCa.Create(consortiumName, time, CaValidity, caLabel);
        using X509Certificate2 caWithKey = ca.CopyWithPrivateKey();
        using X509Certificate2 coordinator = ca.IssueCoordinator(dnsNames, ipAddresses, LeafValidity);
        var siloCertificates = new List<(SiloId Id, X509Certificate2 Certificate)>(silos);
        try
        {
            foreach (SiloId id in siloIds)
            {
                siloCertificates.Add((id, ca.IssueSilo(id, LeafValidity)));
            }

            Directory.CreateDirectory(outDir);
            foreach (string stale in existing)
            {
                File.Delete(Path.Combine(outDir, stale));
            }

            var manifest = new ConsortiumManifest
            {
                ConsortiumName = ca.ConsortiumName,
                CreatedAt = time.GetUtcNow(),
                Ca = Write(outDir, CaCertificateFile, CaKeyFile, caWithKey),
                Coordinator = Write(outDir, CoordinatorCertificateFile, CoordinatorKeyFile, coordinator) with
                {
                    DnsNames = ["localhost", .. dnsNames.Where(n => n != "localhost").Distinct(StringComparer.Ordinal)],
                    IpAddresses = [.. new[] { IPAddress.Loopback, IPAddress.IPv6Loopback }.Concat(ipAddresses).Distinct().Select(a => a.ToString())],
                },
                Silos = [.. siloCertificates.Select(s => Write(outDir, SiloCertificateFile(s.Id), SiloKeyFile(s.Id), s.Certificate) with { SiloId = s.Id.Value })],
            };

            File.WriteAllText(Path.Combine(outDir, ManifestFile), manifest.ToJson() + "\n");
            return manifest;
        }
        finally
        {
            foreach ((_, X509Certificate2 certificate) in siloCertificates)
            {
                certificate.Dispose();
            }
        }
    }

    private static ManifestCertificate Write(string outDir, string certificateFile, string keyFile, X509Certificate2 certificateWithKey)
    {
        CertificateStore.WritePrivateKey(Path.Combine(outDir, keyFile), certificateWithKey);
        CertificateStore.WriteCertificate(Path.Combine(outDir, certificateFile), certificateWithKey);
        return new ManifestCertificate
        {
            File = certificateFile,
            Subject = certificateWithKey.Subject,
            Sha256Fingerprint = CertificateFingerprint.Sha256Hex(certificateWithKey),
            NotBefore = new DateTimeOffset(certificateWithKey.NotBefore.ToUniversalTime()),
            NotAfter = new DateTimeOffset(certificateWithKey.NotAfter.ToUniversalTime()),
        };
    }

    private static List<string> ExistingMaterial(string outDir)
    {
        if (!Directory.Exists(outDir))
        {
            return [];
        }

        string[] fixedNames = [CaCertificateFile, CaKeyFile, CoordinatorCertificateFile, CoordinatorKeyFile, ManifestFile];
        return fixedNames
            .Where(name => File.Exists(Path.Combine(outDir, name)))
            .Concat(Directory.EnumerateFiles(outDir, "silo-*.pem").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
            .ToList();
    }

    private static (List<string> DnsNames, List<IPAddress> IpAddresses) SplitHostNames(IEnumerable<string> names)
    {
        var dnsNames = new List<string>();
        var ipAddresses = new List<IPAddress>();
        foreach (string name in names)
        {
            ArgumentNullException.ThrowIfNull(name, nameof(names));
            string trimmed = name.Trim();

            // IPAddress.TryParse also reads "10" as 0.0.0.10; only full dotted quads and IPv6 count as addresses.
            bool looksLikeAddress = trimmed.Contains(':', StringComparison.Ordinal) || trimmed.Count(c => c == '.') == 3;
            if (looksLikeAddress && IPAddress.TryParse(trimmed, out IPAddress? address))
            {
                ipAddresses.Add(address);
            }
            else
            {
                dnsNames.Add(SubjectAltNames.NormalizeDnsName(trimmed, nameof(names)));
            }
        }

        return (dnsNames, ipAddresses);
    }

    // Ids "x" and "silo-x" share a stem; Init only generates silo-N ids, so its files never collide.
    private static string SiloFileStem(SiloId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return id.Value.StartsWith("silo-", StringComparison.Ordinal) ? id.Value : "silo-" + id.Value;
    }

    private static void ValidateSiloCount(int silos)
    {
        if (silos is < 1 or > MaxSilos)
        {
            throw new ArgumentOutOfRangeException(nameof(silos), silos, $"silos must be between 1 and {MaxSilos} (was {silos}).");
        }
    }
}
