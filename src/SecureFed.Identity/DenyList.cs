using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SecureFed.Identity.Internal;

namespace SecureFed.Identity;

/// <summary>What a deny-list entry refuses: one certificate (by fingerprint) or every certificate of a silo id.</summary>
public enum DenyListEntryKind
{
    /// <summary>One certificate, by its SHA-256 fingerprint (a rotated or leaked key, or a coordinator certificate).</summary>
    Certificate,

    /// <summary>Every certificate naming this silo id (a member that left the consortium).</summary>
    Silo,
}

/// <summary>One line of a <see cref="DenyList"/>. Immutable.</summary>
/// <param name="Kind">What it refuses.</param>
/// <param name="Value">The 64-hex-digit fingerprint, or the silo id.</param>
/// <param name="RevokedAt">When the CA operator revoked it.</param>
/// <param name="Reason">Free text for people (one line, printable, at most 120 characters).</param>
public sealed record DenyListEntry(DenyListEntryKind Kind, string Value, DateTimeOffset RevokedAt, string Reason)
{
    /// <summary>The entry as written in the file: <c>sha256:&lt;hex&gt;</c> or <c>silo:&lt;id&gt;</c>.</summary>
    public string Target => Kind == DenyListEntryKind.Certificate ? CertificateFingerprint.Prefix + Value : "silo:" + Value;
}

/// <summary>A source of the current deny-list: a fixed <see cref="DenyList"/> or a file re-read when it changes (<see cref="DenyListFile"/>).</summary>
public interface IDenyListSource
{
    /// <summary>The list in force now.</summary>
    /// <exception cref="InvalidDataException">The list cannot be trusted (bad signature, another CA, malformed); callers refuse every peer.</exception>
    DenyList Current();
}

/// <summary>
/// The consortium's revocation list: certificate fingerprints and silo ids that the coordinator and every silo
/// refuse even though the certificate chains to the consortium CA. Written by <c>securefed certs revoke</c>.
/// </summary>
/// <remarks>
/// <para>The file is plain text a person can read and diff, signed by the consortium CA's key:</para>
/// <code>
/// securefed-deny-list 1
/// ca sha256:&lt;CA fingerprint&gt;
/// issued 2031-03-14T09:26:53Z
/// revoke sha256:&lt;fingerprint&gt; 2031-03-14T09:26:53Z rotated
/// revoke silo:silo-3 2031-03-14T09:26:53Z left the consortium
/// signature &lt;base64 ECDSA P-256 SHA-256 (IEEE P1363) over every byte above this line&gt;
/// </code>
/// <para>Why signed: the CA operator hands one file to the coordinator and every silo (by mail, a share, a
/// config repository); the signature means nobody on the way can drop an entry (un-revoke a stolen key) or add
/// one (lock a member out), and a list made by another consortium's CA is refused. It does not stop an old, validly
/// signed list from being put back: compare the <c>issued</c> date and the entries (<c>securefed certs revoke --list</c>).</para>
/// <para>Anything wrong with the file makes it untrusted as a whole; hosts then refuse every peer (fail closed)
/// rather than accept a peer the list might have named. Immutable and thread-safe.</para>
/// </remarks>
public sealed class DenyList : IDenyListSource
{
    /// <summary>The default file name, next to ca.pem.</summary>
    public const string DefaultFileName = "revoked.txt";

    private const string Magic = "securefed-deny-list 1";
    private const string SignaturePrefix = "signature ";
    private const int MaxReasonLength = 120;

    private readonly Dictionary<string, DenyListEntry> _certificates;
    private readonly Dictionary<string, DenyListEntry> _silos;

    private DenyList(string caFingerprint, DateTimeOffset issuedAt, IReadOnlyList<DenyListEntry> entries)
    {
        CaFingerprint = caFingerprint;
        IssuedAt = issuedAt;
        Entries = entries;
        _certificates = entries.Where(e => e.Kind == DenyListEntryKind.Certificate).ToDictionary(e => e.Value, StringComparer.Ordinal);
        _silos = entries.Where(e => e.Kind == DenyListEntryKind.Silo).ToDictionary(e => e.Value, StringComparer.Ordinal);
    }

    /// <summary>The fingerprint of the CA that signed the list.</summary>
    public string CaFingerprint { get; }

    /// <summary>When the list was last signed.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The entries, in the order they were added.</summary>
    public IReadOnlyList<DenyListEntry> Entries { get; }

    /// <summary>An empty list for <paramref name="ca"/>, to add entries to.</summary>
    public static DenyList Empty(X509Certificate2 ca, DateTimeOffset issuedAt)
    {
        ArgumentNullException.ThrowIfNull(ca);
        return new DenyList(CertificateFingerprint.Sha256Hex(ca), Truncate(issuedAt), []);
    }

    /// <summary>Reads and verifies a list file against the consortium root.</summary>
    /// <param name="path">The file.</param>
    /// <param name="ca">The consortium root (ca.pem).</param>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">The file is malformed, signed by another CA or its signature fails; the message names it.</exception>
    public static DenyList Load(string path, X509Certificate2 ca)
    {
        string text = PemReading.ReadFile(path, "deny-list");
        return Parse(text, ca, $"the deny-list '{path}'");
    }

    /// <summary>Parses and verifies list text.</summary>
    /// <param name="text">The file's text.</param>
    /// <param name="ca">The consortium root.</param>
    /// <param name="description">How errors name the list.</param>
    /// <exception cref="InvalidDataException">Malformed, signed by another CA, or the signature fails.</exception>
    public static DenyList Parse(string text, X509Certificate2 ca, string description)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ca);
        string caFingerprint = CertificateFingerprint.Sha256Hex(ca);
        string Fix(string what) => $"{Capitalize(description)} {what}; make it again with 'securefed certs revoke' at the CA.";

        int signatureAt = text.LastIndexOf("\n" + SignaturePrefix, StringComparison.Ordinal);
        if (!text.StartsWith(Magic + "\n", StringComparison.Ordinal) || signatureAt < 0)
        {
            throw new InvalidDataException(Fix($"is not a SecureFed deny-list (it must start with '{Magic}' and end with a signature line)"));
        }

        string body = text[..(signatureAt + 1)];
        string signatureText = text[(signatureAt + 1 + SignaturePrefix.Length)..].Trim();
        string[] lines = body.Split('\n', StringSplitOptions.None)[..^1];
        if (lines.Length < 3 || !lines[1].StartsWith("ca ", StringComparison.Ordinal) || !lines[2].StartsWith("issued ", StringComparison.Ordinal))
        {
            throw new InvalidDataException(Fix("lacks its 'ca' and 'issued' lines"));
        }

        if (!CertificateFingerprint.TryParse(lines[1][3..], out string? signedBy))
        {
            throw new InvalidDataException(Fix("has a malformed 'ca' line"));
        }

        if (signedBy != caFingerprint)
        {
            throw new InvalidDataException(
                $"{Capitalize(description)} was signed by the CA sha256:{signedBy}, but this consortium's CA ('{ca.Subject}') is sha256:{caFingerprint}; use the list made by your consortium's CA.");
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(signatureText);
        }
        catch (FormatException)
        {
            throw new InvalidDataException(Fix("has a malformed signature line"));
        }

        using (ECDsa? key = ca.GetECDsaPublicKey())
        {
            if (key is null || !key.VerifyData(Encoding.UTF8.GetBytes(body), signature, HashAlgorithmName.SHA256))
            {
                throw new InvalidDataException(
                    $"{Capitalize(description)} does not carry a valid signature of the consortium CA sha256:{caFingerprint} (it was edited after signing, or damaged); get the list from the CA again.");
            }
        }

        if (!TryParseTime(lines[2]["issued ".Length..], out DateTimeOffset issuedAt))
        {
            throw new InvalidDataException(Fix("has a malformed 'issued' line"));
        }

        var entries = new List<DenyListEntry>();
        for (int i = 3; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            entries.Add(ParseEntry(line) ?? throw new InvalidDataException(Fix($"has a malformed line {i + 1}")));
        }

        return new DenyList(caFingerprint, issuedAt, entries);
    }

    /// <summary>The entry that refuses a certificate with this fingerprint (and, for silos, this id); null if none.</summary>
    /// <param name="fingerprint">The certificate's fingerprint (<see cref="CertificateFingerprint.Sha256Hex"/>).</param>
    /// <param name="siloId">The silo id the certificate names, or <see langword="null"/> for the coordinator.</param>
    public DenyListEntry? Find(string fingerprint, SiloId? siloId)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        if (_certificates.TryGetValue(fingerprint, out DenyListEntry? byCertificate))
        {
            return byCertificate;
        }

        return siloId is not null && _silos.TryGetValue(siloId.Value, out DenyListEntry? bySilo) ? bySilo : null;
    }

    /// <summary>This list with one more entry; an entry for the same target is replaced (unchanged if it is already there).</summary>
    /// <param name="kind">What to refuse.</param>
    /// <param name="value">A fingerprint (any form <see cref="CertificateFingerprint.TryParse"/> reads) or a silo id.</param>
    /// <param name="revokedAt">When.</param>
    /// <param name="reason">Free text; control characters are replaced and it is cut at 120 characters.</param>
    /// <exception cref="ArgumentException">The value is not a fingerprint or silo id.</exception>
    public DenyList With(DenyListEntryKind kind, string value, DateTimeOffset revokedAt, string reason)
    {
        ArgumentNullException.ThrowIfNull(value);
        string normalized = kind switch
        {
            DenyListEntryKind.Certificate => CertificateFingerprint.TryParse(value, out string? fp) ? fp
                : throw new ArgumentException($"'{Shorten(value)}' is not a SHA-256 fingerprint (64 hex digits, optionally 'sha256:' first).", nameof(value)),
            DenyListEntryKind.Silo => SiloId.Parse(value).Value,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown deny-list entry kind"),
        };
        var entry = new DenyListEntry(kind, normalized, Truncate(revokedAt), CleanReason(reason));
        return new DenyList(CaFingerprint, Truncate(revokedAt), [.. Entries.Where(e => e.Kind != kind || e.Value != normalized), entry]);
    }

    /// <summary>The list as signed text, signed by <paramref name="ca"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="ca"/> is not the CA the list belongs to.</exception>
    public string ToSignedText(ConsortiumCa ca)
    {
        ArgumentNullException.ThrowIfNull(ca);
        string caFingerprint = CertificateFingerprint.Sha256Hex(ca.Certificate);
        if (caFingerprint != CaFingerprint)
        {
            throw new ArgumentException($"The deny-list belongs to the CA sha256:{CaFingerprint}, not to sha256:{caFingerprint}.", nameof(ca));
        }

        var body = new StringBuilder();
        body.Append(Magic).Append('\n');
        body.Append("ca ").Append(CertificateFingerprint.Prefix).Append(CaFingerprint).Append('\n');
        body.Append("issued ").Append(FormatTime(IssuedAt)).Append('\n');
        foreach (DenyListEntry entry in Entries)
        {
            body.Append("revoke ").Append(entry.Target).Append(' ').Append(FormatTime(entry.RevokedAt));
            if (entry.Reason.Length > 0)
            {
                body.Append(' ').Append(entry.Reason);
            }

            body.Append('\n');
        }

        string text = body.ToString();
        byte[] signature = ca.SignData(Encoding.UTF8.GetBytes(text));
        return text + SignaturePrefix + Convert.ToBase64String(signature) + "\n";
    }

    /// <summary>Signs and writes the list to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    public void Save(string path, ConsortiumCa ca)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string text = ToSignedText(ca);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temporary, path, overwrite: true);
    }

    /// <inheritdoc />
    public DenyList Current() => this;

    private static DenyListEntry? ParseEntry(string line)
    {
        string[] parts = line.Split(' ', 4);
        if (parts.Length < 3 || parts[0] != "revoke" || !TryParseTime(parts[2], out DateTimeOffset at))
        {
            return null;
        }

        string reason = parts.Length == 4 ? parts[3] : "";
        if (parts[1].StartsWith(CertificateFingerprint.Prefix, StringComparison.Ordinal) && CertificateFingerprint.TryParse(parts[1], out string? fingerprint))
        {
            return new DenyListEntry(DenyListEntryKind.Certificate, fingerprint, at, reason);
        }

        return parts[1].StartsWith("silo:", StringComparison.Ordinal) && SiloId.TryParse(parts[1]["silo:".Length..], out SiloId? id)
            ? new DenyListEntry(DenyListEntryKind.Silo, id.Value, at, reason)
            : null;
    }

    private static string CleanReason(string? reason)
    {
        string text = new((reason ?? "").Trim().Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return text.Length > MaxReasonLength ? text[..MaxReasonLength] : text;
    }

    private static bool TryParseTime(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text.Trim(), "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static string FormatTime(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Truncate(DateTimeOffset value) => new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static string Shorten(string value) => value.Length > 80 ? string.Concat(value.AsSpan(0, 80), "...") : value;

    private static string Capitalize(string text) => text.Length == 0 ? text : string.Concat(char.ToUpperInvariant(text[0]).ToString(), text.AsSpan(1));
}

/// <summary>
/// A deny-list file, re-read whenever its size or modification time changes, so a revocation takes effect at the
/// next connection without a restart. A missing or untrusted file makes <see cref="Current"/> throw (hosts then
/// refuse every peer). Thread-safe.
/// </summary>
public sealed class DenyListFile : IDenyListSource
{
    private readonly Lock _gate = new();
    private readonly byte[] _caDer;
    private (DateTime Modified, long Length, DenyList List)? _cached;

    /// <summary>Watches <paramref name="path"/>, verified against <paramref name="ca"/>; reads it once now so a bad file fails at start.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be trusted.</exception>
    public DenyListFile(string path, X509Certificate2 ca)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(ca);
        Path = path;
        _caDer = ca.RawData;
        Current();
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public DenyList Current()
    {
        var info = new FileInfo(Path);
        if (!info.Exists)
        {
            throw new InvalidDataException($"The deny-list '{Path}' does not exist (it was configured, so every peer is refused); restore it from the CA.");
        }

        lock (_gate)
        {
            if (_cached is { } cached && cached.Modified == info.LastWriteTimeUtc && cached.Length == info.Length)
            {
                return cached.List;
            }

            using X509Certificate2 ca = X509CertificateLoader.LoadCertificate(_caDer);
            DenyList list = DenyList.Load(Path, ca);
            _cached = (info.LastWriteTimeUtc, info.Length, list);
            return list;
        }
    }
}
