using System.CommandLine;
using SecureFed.Identity;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed certs issue</c>, <c>request</c> and <c>sign</c>: one member at a time, and the CSR flow.</summary>
internal static class CertsMemberCommands
{
    public static Command BuildIssue()
    {
        var caDir = CaDirOption();
        var silo = new Option<string?>("--silo") { Description = "The new member's silo id: writes silo-ID.pem and silo-ID.key.pem." };
        var coordinator = new Option<bool>("--coordinator") { Description = "Issue a coordinator certificate instead (coordinator.pem, coordinator.key.pem)." };
        var output = new Option<string?>("--out") { Description = "Folder for the new files (default: --ca-dir)." };
        var dns = new Option<string[]>("--dns") { Description = "With --coordinator: extra DNS names or IP addresses (localhost, 127.0.0.1 and ::1 are always included).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var rotate = RotateOption();
        var denyList = DenyListOption();
        var allowInsecure = AllowInsecureKeyOption();
        var command = new Command(
            "issue",
            "Add one member to an existing CA (or, with --rotate, give it a new key and revoke the old certificate), leaving every other certificate as it is. " +
            "The CA makes the key here; use request/sign instead when the silo should keep its key to itself. " + CertsCommand.ExitCodes)
        {
            caDir, silo, coordinator, output, dns, rotate, denyList, allowInsecure,
        };
        command.SetAction((parse, _) => CertsCommand.Run(parse, text =>
        {
            string? id = parse.GetValue(silo);
            bool isCoordinator = parse.GetValue(coordinator);
            if ((id is null) == !isCoordinator)
            {
                return CertsCommand.Usage(parse, "give exactly one of --silo ID (a new member) and --coordinator (a coordinator certificate).");
            }

            if (!isCoordinator && parse.GetValue(dns) is { Length: > 0 })
            {
                return CertsCommand.Usage(parse, "--dns belongs to --coordinator; a silo certificate carries only its silo id.");
            }

            string dir = parse.GetValue(caDir)!;
            MemberIssued issued = isCoordinator
                ? ConsortiumMembers.IssueCoordinator(dir, parse.GetValue(dns) ?? [], parse.GetValue(output), TimeProvider.System, parse.GetValue(rotate), parse.GetValue(denyList), parse.GetValue(allowInsecure))
                : ConsortiumMembers.IssueSilo(dir, SiloId.Parse(id!), parse.GetValue(output), TimeProvider.System, parse.GetValue(rotate), parse.GetValue(denyList), parse.GetValue(allowInsecure));
            Report(text, issued, dir, parse.GetValue(denyList));
            return 0;
        }));
        return command;
    }

    public static Command BuildRequest()
    {
        var silo = new Option<string>("--silo") { Description = "This silo's id, as the consortium knows it.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for silo-ID.key.pem (mode 0600; it never leaves this machine) and silo-ID.csr.pem (send this one to the CA).", DefaultValueFactory = _ => "." };
        var force = new Option<bool>("--force") { Description = "Replace an existing key in --out (for a rotation: the CA then signs with --rotate)." };
        var command = new Command(
            "request",
            "At a silo: make this silo's private key and a certificate signing request for its id. Send only the .csr.pem to the CA operator, who runs 'certs sign'. " + CertsCommand.ExitCodes)
        {
            silo, output, force,
        };
        command.SetAction((parse, _) => CertsCommand.Run(parse, text =>
        {
            var (requestPath, keyPath) = ConsortiumMembers.Request(SiloId.Parse(parse.GetValue(silo)!), parse.GetValue(output)!, parse.GetValue(force));
            text.WriteLine($"wrote {keyPath} (private key, mode 0600: keep it here)");
            text.WriteLine($"wrote {requestPath}: send it to the CA operator for 'securefed certs sign --csr {Path.GetFileName(requestPath)} --silo {parse.GetValue(silo)}'");
            return 0;
        }));
        return command;
    }

    public static Command BuildSign()
    {
        var caDir = CaDirOption();
        var csr = new Option<string>("--csr") { Description = "The silo's signing request (silo-ID.csr.pem from 'certs request').", Required = true };
        var silo = new Option<string>("--silo") { Description = "The silo id you expect the request to ask for; a request for any other id is refused.", Required = true };
        var output = new Option<string?>("--out") { Description = "Folder for silo-ID.pem (default: --ca-dir)." };
        var rotate = RotateOption();
        var denyList = DenyListOption();
        var allowInsecure = AllowInsecureKeyOption();
        var command = new Command(
            "sign",
            "At the CA: check a silo's signing request (its signature, an ECDSA P-256 key no other member holds, the silo id you expect) and write its certificate. " +
            "Only the key and the id are taken from the request. " + CertsCommand.ExitCodes)
        {
            caDir, csr, silo, output, rotate, denyList, allowInsecure,
        };
        command.SetAction((parse, _) => CertsCommand.Run(parse, text =>
        {
            string dir = parse.GetValue(caDir)!;
            MemberIssued issued = ConsortiumMembers.Sign(
                dir, parse.GetValue(csr)!, SiloId.Parse(parse.GetValue(silo)!), parse.GetValue(output), TimeProvider.System,
                parse.GetValue(rotate), parse.GetValue(denyList), parse.GetValue(allowInsecure));
            Report(text, issued, dir, parse.GetValue(denyList));
            return 0;
        }));
        return command;
    }

    internal static Option<string> CaDirOption() => new("--ca-dir")
    {
        Description = "The CA folder 'certs init' wrote (ca.pem, ca.key.pem, manifest.json).",
        DefaultValueFactory = _ => "certs-dev",
    };

    internal static Option<string?> DenyListOption() => new("--deny-list")
    {
        Description = $"The deny-list file (default: {DenyList.DefaultFileName} in --ca-dir).",
    };

    internal static Option<bool> AllowInsecureKeyOption() => new("--allow-insecure-key")
    {
        Description = "Use ca.key.pem even if group or others can read it (refused otherwise).",
    };

    private static Option<bool> RotateOption() => new("--rotate")
    {
        Description = "Replace the member's existing certificate and put the old one on the deny-list (key rotation; other members are untouched).",
    };

    private static void Report(TextWriter text, MemberIssued issued, string caDir, string? denyList)
    {
        ManifestCertificate c = issued.Certificate;
        text.WriteLine(issued.KeyPath is null ? $"wrote {issued.CertificatePath}" : $"wrote {issued.CertificatePath} and {issued.KeyPath} (mode 0600)");
        text.WriteLine($"{c.Subject}  sha256:{c.Sha256Fingerprint}  until {CertsCommand.Date(c.NotAfter)}");
        if (c.SiloId is not null)
        {
            text.WriteLine($"coordinator Members entry (pins this certificate): \"{c.SiloId}={CertificateFingerprint.Prefix}{c.Sha256Fingerprint}\"");
        }

        if (issued.Revoked is { } revoked)
        {
            string list = denyList ?? Path.Combine(caDir, DenyList.DefaultFileName);
            text.WriteLine($"revoked the old certificate {revoked.Target} in {list}: copy it to the coordinator and every silo (their DenyList option)");
        }
    }
}
