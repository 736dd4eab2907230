using System.Text.Json;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>
/// The public description of a consortium's certificate material, written as <c>manifest.json</c> by
/// <see cref="ConsortiumLayout.Init(string, int, IEnumerable{string}, TimeProvider, bool)"/>: consortium name,
/// silo ids, certificate fingerprints and validity. It never contains keys. Immutable.
/// </summary>
public sealed record ConsortiumManifest
{
    /// <summary>The manifest format this library writes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The manifest format version.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>The consortium name (the O attribute of every certificate).</summary>
    public required string ConsortiumName { get; init; }

    /// <summary>When the material was generated, by the clock given to Init.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The consortium root.</summary>
    public required ManifestCertificate Ca { get; init; }

    /// <summary>The coordinator's server certificate.</summary>
    public required ManifestCertificate Coordinator { get; init; }

    /// <summary>One entry per silo, in silo order.</summary>
    public required IReadOnlyList<ManifestCertificate> Silos { get; init; }

    /// <summary>Reads a manifest written by this library.</summary>
    /// <param name="path">The manifest.json file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid manifest; the message names it.</exception>
    public static ConsortiumManifest Load(string path)
    {
        string json = PemReading.ReadFile(path, "manifest");
        try
        {
            return JsonSerializer.Deserialize(json, ManifestJsonContext.Default.ConsortiumManifest)
                ?? throw new InvalidDataException($"The manifest file '{path}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The manifest file '{path}' is not a valid consortium manifest: {ex.Message}", ex);
        }
    }

    /// <summary>The manifest as indented JSON (camelCase properties, ISO 8601 dates).</summary>
    public string ToJson()
    {
        return JsonSerializer.Serialize(this, ManifestJsonContext.Default.ConsortiumManifest);
    }
}

/// <summary>One certificate in a <see cref="ConsortiumManifest"/>: public facts only. Immutable.</summary>
public sealed record ManifestCertificate
{
    /// <summary>The certificate's file name, relative to the manifest's directory.</summary>
    public required string File { get; init; }

    /// <summary>The certificate's subject distinguished name.</summary>
    public required string Subject { get; init; }

    /// <summary>SHA-256 of the DER encoding, lowercase hex (see <see cref="CertificateFingerprint.Sha256Hex"/>).</summary>
    public required string Sha256Fingerprint { get; init; }

    /// <summary>Start of validity (UTC).</summary>
    public required DateTimeOffset NotBefore { get; init; }

    /// <summary>End of validity (UTC).</summary>
    public required DateTimeOffset NotAfter { get; init; }

    /// <summary>The silo id, for silo certificates only.</summary>
    public string? SiloId { get; init; }

    /// <summary>The SAN DNS names, for the coordinator certificate only.</summary>
    public IReadOnlyList<string>? DnsNames { get; init; }

    /// <summary>The SAN IP addresses, for the coordinator certificate only.</summary>
    public IReadOnlyList<string>? IpAddresses { get; init; }
}
