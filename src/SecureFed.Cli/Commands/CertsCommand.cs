using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using SecureFed.Identity;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed certs</c>: the consortium's certificates. <c>init</c> here; adding and rotating members, the CSR
/// flow and revocation in <see cref="CertsMemberCommands"/> and <see cref="CertsRevokeCommands"/>.
/// </summary>
internal static class CertsCommand
{
    /// <summary>The exit-code line every certs command's help shows.</summary>
    public const string ExitCodes = "Exit codes: 0 done, 1 failed (a file is missing, unreadable, untrusted or would be replaced), 2 usage (a bad option or value).";

    public static Command Build()
    {
        var certs = new Command(
            "certs",
            "Manage the consortium's certificates: create a CA (init), add or rotate a member (issue), let a silo keep its key (request, sign), " +
            "revoke a certificate or a silo (revoke, revoked). " + ExitCodes);
        certs.Subcommands.Add(BuildInit());
        certs.Subcommands.Add(CertsMemberCommands.BuildIssue());
        certs.Subcommands.Add(CertsMemberCommands.BuildRequest());
        certs.Subcommands.Add(CertsMemberCommands.BuildSign());
        certs.Subcommands.Add(CertsRevokeCommands.BuildRevoke());
        certs.Subcommands.Add(CertsRevokeCommands.BuildRevoked());
        return certs;
    }

    /// <summary>
    /// Runs a certs action and maps what a person can get wrong to one line on the invocation's error writer: 2 for a
    /// bad option or value, 1 for everything the command could not do (files, refusals). Never a stack trace.
    /// </summary>
    public static Task<int> Run(ParseResult parse, Func<TextWriter, int> action)
    {
        TextWriter error = parse.InvocationConfiguration.Error;
        try
        {
            return Task.FromResult(action(parse.InvocationConfiguration.Output));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            error.WriteLine($"error: {OneLine(ex.Message)}");
            return Task.FromResult(2);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or CryptographicException or UnauthorizedAccessException)
        {
            // FileNotFoundException and DirectoryNotFoundException are IOExceptions: a missing file is a failure, not a usage error.
            error.WriteLine($"error: {OneLine(ex.Message)}");
            return Task.FromResult(1);
        }
    }

    /// <summary>A usage error: one line and exit code 2.</summary>
    public static int Usage(ParseResult parse, string message)
    {
        parse.InvocationConfiguration.Error.WriteLine($"error: {message}");
        return 2;
    }

    public static string Date(DateTimeOffset value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    // ArgumentException appends " (Parameter 'x')"; a person needs the sentence, not the parameter name.
    private static string OneLine(string message)
    {
        int parameter = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return (parameter > 0 ? message[..parameter] : message).ReplaceLineEndings(" ");
    }

    private static Command BuildInit()
    {
        var output = new Option<string>("--out") { Description = "Folder to write ca.pem, coordinator.pem, silo-N.pem, their keys and manifest.json.", DefaultValueFactory = _ => "certs-dev" };
        var silos = new Option<int>("--silos") { Description = "Number of silo certificates (silo-1..silo-N).", DefaultValueFactory = _ => 3 };
        var dns = new Option<string[]>("--dns") { Description = "Extra DNS names for the coordinator certificate (localhost and 127.0.0.1 are always included).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var force = new Option<bool>("--force") { Description = "Overwrite existing certificate material in --out (a new CA: every deployed certificate stops working)." };
        var caName = new Option<string?>("--ca-name") { Description = $"Label in the CA's subject ('{ConsortiumCa.RootCommonName} LABEL'); default 8 random hex digits, so no two CAs share a subject." };
        var init = new Command("init", "Create a consortium CA, a coordinator certificate (serverAuth) and N silo certificates (clientAuth, silo id in the SAN URI). " + ExitCodes)
        {
            output, silos, dns, force, caName,
        };
        init.SetAction((parse, _) => Run(parse, text =>
        {
            var dir = parse.GetValue(output)!;
            var manifest = ConsortiumLayout.Init(
                dir, parse.GetValue(silos), parse.GetValue(dns) ?? [], TimeProvider.System, parse.GetValue(force), ConsortiumLayout.DefaultConsortiumName, parse.GetValue(caName));
            text.WriteLine($"CA      {manifest.Ca.Subject}  sha256:{manifest.Ca.Sha256Fingerprint}  until {Date(manifest.Ca.NotAfter)}");
            text.WriteLine($"coordinator  sha256:{manifest.Coordinator.Sha256Fingerprint}  until {Date(manifest.Coordinator.NotAfter)}");
            foreach (var s in manifest.Silos)
            {
                text.WriteLine($"{s.SiloId ?? s.File}  sha256:{s.Sha256Fingerprint}  until {Date(s.NotAfter)}");
            }

            text.WriteLine($"written to {Path.GetFullPath(dir)} (private keys mode 0600; never commit them). Add a member later with 'securefed certs issue --ca-dir {dir} --silo ID'.");
            return 0;
        }));
        return init;
    }
}
