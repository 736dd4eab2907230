using System.CommandLine;
using SecureFed.Identity;
using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed certs init</c>: development consortium PKI as PEM files.</summary>
internal static class CertsCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out") { Description = "Folder to write ca.pem, coordinator.pem, silo-N.pem, their keys and manifest.json.", DefaultValueFactory = _ => "certs-dev" };
        var silos = new Option<int>("--silos") { Description = "Number of silo certificates (silo-1..silo-N).", DefaultValueFactory = _ => 3 };
        var dns = new Option<string[]>("--dns") { Description = "Extra DNS names for the coordinator certificate (localhost and 127.0.0.1 are always included).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [] };
        var force = new Option<bool>("--force") { Description = "Overwrite existing certificate material in --out." };
        var init = new Command("init", "Create a consortium CA, a coordinator certificate (serverAuth) and N silo certificates (clientAuth, silo id in the SAN URI). Development material only.")
        {
            output, silos, dns, force,
        };
        init.SetAction((parse, _) => CliErrors.RunAsync(() =>
        {
            var dir = parse.GetValue(output)!;
            var n = parse.GetValue(silos);
            var manifest = ConsortiumLayout.Init(dir, n, parse.GetValue(dns) ?? [], TimeProvider.System, parse.GetValue(force));
            var table = new Table().AddColumn("certificate").AddColumn("sha-256").AddColumn("not after");
            table.AddRow("ca", manifest.Ca.Sha256Fingerprint[..16] + "…", manifest.Ca.NotAfter.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            table.AddRow("coordinator", manifest.Coordinator.Sha256Fingerprint[..16] + "…", manifest.Coordinator.NotAfter.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            foreach (var s in manifest.Silos)
            {
                table.AddRow(Markup.Escape(s.SiloId ?? s.File), s.Sha256Fingerprint[..16] + "…", s.NotAfter.ToString("u", System.Globalization.CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"written to [bold]{Markup.Escape(Path.GetFullPath(dir))}[/] (private keys mode 0600; development material only, never commit it)");
            return Task.FromResult(0);
        }));
        var certs = new Command("certs", "Manage the consortium's development certificates.");
        certs.Subcommands.Add(init);
        return certs;
    }
}
