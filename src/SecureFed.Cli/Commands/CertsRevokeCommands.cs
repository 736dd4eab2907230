using System.CommandLine;
using SecureFed.Identity;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed certs revoke</c> and <c>certs revoked</c>: the consortium's signed deny-list.</summary>
internal static class CertsRevokeCommands
{
    public static Command BuildRevoke()
    {
        var caDir = CertsMemberCommands.CaDirOption();
        var certificate = new Option<string?>("--cert") { Description = "Revoke this certificate file (a silo's or the coordinator's)." };
        var fingerprint = new Option<string?>("--fingerprint") { Description = "Revoke the certificate with this SHA-256 fingerprint ('sha256:' and 64 hex digits, as manifest.json and logs show it)." };
        var silo = new Option<string?>("--silo") { Description = "Revoke every certificate of this silo id (a member that leaves the consortium)." };
        var reason = new Option<string>("--reason") { Description = "Why, for people reading the list (one line).", DefaultValueFactory = _ => "" };
        var denyList = CertsMemberCommands.DenyListOption();
        var allowInsecure = CertsMemberCommands.AllowInsecureKeyOption();
        var command = new Command(
            "revoke",
            "Add a certificate or a silo id to the deny-list, signed with the CA key. The coordinator and the silos whose DenyList option names a copy of it " +
            "refuse it at the next connection: a revoked silo cannot join, a revoked coordinator is refused by the silos. " + CertsCommand.ExitCodes)
        {
            caDir, certificate, fingerprint, silo, reason, denyList, allowInsecure,
        };
        command.SetAction((parse, _) => CertsCommand.Run(parse, text =>
        {
            string? file = parse.GetValue(certificate);
            string? fp = parse.GetValue(fingerprint);
            string? id = parse.GetValue(silo);
            if (new[] { file, fp, id }.Count(v => v is not null) != 1)
            {
                return CertsCommand.Usage(parse, "give exactly one of --cert FILE, --fingerprint sha256:HEX and --silo ID.");
            }

            (DenyListEntryKind kind, string value) = id is not null
                ? (DenyListEntryKind.Silo, id)
                : (DenyListEntryKind.Certificate, fp ?? FingerprintOf(file!));
            string dir = parse.GetValue(caDir)!;
            DenyList list = ConsortiumMembers.Revoke(dir, kind, value, parse.GetValue(reason)!, parse.GetValue(denyList), TimeProvider.System, parse.GetValue(allowInsecure));
            string path = parse.GetValue(denyList) ?? Path.Combine(dir, DenyList.DefaultFileName);
            text.WriteLine($"revoked {list.Entries[^1].Target}; {path} now lists {list.Entries.Count} entr{(list.Entries.Count == 1 ? "y" : "ies")}, signed by the CA");
            text.WriteLine("copy it to the coordinator and every silo (their DenyList option); they read it again at the next connection");
            return 0;
        }));
        return command;
    }

    public static Command BuildRevoked()
    {
        var ca = new Option<string>("--ca") { Description = "The consortium CA certificate (ca.pem) the list must be signed by.", DefaultValueFactory = _ => Path.Combine("certs-dev", ConsortiumLayout.CaCertificateFile) };
        var denyList = new Option<string>("--deny-list") { Description = "The deny-list file.", DefaultValueFactory = _ => Path.Combine("certs-dev", DenyList.DefaultFileName) };
        var command = new Command("revoked", "Check a deny-list's signature against ca.pem and list what it revokes (needs no CA key: any silo can check its copy). " + CertsCommand.ExitCodes)
        {
            ca, denyList,
        };
        command.SetAction((parse, _) => CertsCommand.Run(parse, text =>
        {
            using var root = CertificateStore.LoadCertificate(parse.GetValue(ca)!);
            DenyList list = DenyList.Load(parse.GetValue(denyList)!, root);
            text.WriteLine($"signed by sha256:{list.CaFingerprint} on {list.IssuedAt:u}; {list.Entries.Count} entries");
            foreach (DenyListEntry entry in list.Entries)
            {
                text.WriteLine($"{entry.Target}  {entry.RevokedAt:u}  {entry.Reason}");
            }

            return 0;
        }));
        return command;
    }

    private static string FingerprintOf(string certificatePath)
    {
        using var certificate = CertificateStore.LoadCertificate(certificatePath);
        return CertificateFingerprint.Sha256Hex(certificate);
    }
}
