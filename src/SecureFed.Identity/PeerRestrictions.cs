namespace SecureFed.Identity;

/// <summary>
/// What a <see cref="PeerCertificateValidator"/> refuses beyond the consortium CA's own rules: certificates on the
/// deny-list, and silo certificates whose fingerprint differs from the one pinned for their silo id. Immutable.
/// </summary>
public sealed record PeerRestrictions
{
    /// <summary>No restrictions: every certificate the consortium CA issued for the role is accepted.</summary>
    public static readonly PeerRestrictions None = new();

    /// <summary>The deny-list (null: none). Checked for both roles, at every validation.</summary>
    public IDenyListSource? DenyList { get; init; }

    /// <summary>
    /// Pinned fingerprints by silo id (see <see cref="MemberList"/>): a silo with pins is accepted only with one of
    /// them; silos without pins are judged by the CA alone.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> PinnedFingerprints { get; init; } = new Dictionary<string, IReadOnlySet<string>>();
}

/// <summary>
/// The coordinator's <c>Members</c> option: silo ids, each optionally pinned to certificate fingerprints, written
/// <c>"silo-1"</c> or <c>"silo-1=sha256:&lt;64 hex&gt;"</c>. One id may appear more than once with different pins
/// (both certificates accepted while a rotation is under way). Immutable.
/// </summary>
public sealed class MemberList
{
    private MemberList(IReadOnlyList<string> ids, IReadOnlyDictionary<string, IReadOnlySet<string>> pins)
    {
        Ids = ids;
        Pins = pins;
    }

    /// <summary>The admitted silo ids, distinct, in the order first written.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Pinned fingerprints (64 lowercase hex digits) by silo id; ids without pins are absent.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Pins { get; }

    /// <summary>Parses the entries.</summary>
    /// <param name="entries">The entries.</param>
    /// <param name="option">The option's name, for errors (for example "Members").</param>
    /// <exception cref="ArgumentException">An entry is malformed; the message names the option, the entry and the valid forms.</exception>
    public static MemberList Parse(IEnumerable<string> entries, string option = "Members")
    {
        ArgumentNullException.ThrowIfNull(entries);
        var ids = new List<string>();
        var pins = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        int index = 0;
        foreach (string entry in entries)
        {
            string text = (entry ?? "").Trim();
            int equals = text.IndexOf('=', StringComparison.Ordinal);
            string idText = equals < 0 ? text : text[..equals].Trim();
            if (!SiloId.TryParse(idText, out SiloId? id))
            {
                throw new ArgumentException(
                    $"option {option}[{index}] = '{Shorten(text)}' is invalid: must be a silo id (letters, digits, '-', '_', '.') or 'silo-id=sha256:<64 hex digits>'");
            }

            if (!ids.Contains(id.Value, StringComparer.Ordinal))
            {
                ids.Add(id.Value);
            }

            if (equals >= 0)
            {
                if (!CertificateFingerprint.TryParse(text[(equals + 1)..], out string? fingerprint))
                {
                    throw new ArgumentException(
                        $"option {option}[{index}] = '{Shorten(text)}' is invalid: the pin after '=' must be a SHA-256 certificate fingerprint, 'sha256:' and 64 hex digits (see manifest.json or 'securefed certs issue')");
                }

                if (!pins.TryGetValue(id.Value, out HashSet<string>? set))
                {
                    pins[id.Value] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(fingerprint);
            }

            index++;
        }

        return new MemberList(ids, pins.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value, StringComparer.Ordinal));
    }

    private static string Shorten(string value) => new([.. value.Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
}
