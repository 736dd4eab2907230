using System.CommandLine;
using System.Security.Cryptography;
using SecureFed.Hosting;
using SecureFed.ModelExport;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed model export</c>: verifies a completed federation (the signed ledger against the consortium CA, and
/// the store against the ledger) and writes model.onnx and model.json. Exit 0 when written; 1 when a check refuses
/// the export (the message names what differs); 2 for missing or unreadable input. Writes to the invocation's
/// Output/Error.
/// </summary>
internal static class ModelCommand
{
    private const int Refused = 1;
    private const int BadInput = 2;

    public static Command Build()
    {
        var model = new Command("model", "The federated model outside the store: export it, verified, as ONNX with a model card.");
        model.Subcommands.Add(BuildExport());
        return model;
    }

    private static Command BuildExport()
    {
        var run = new Option<string?>("--run")
        {
            Description = "A run folder written by securefed simulate --out (federation.db, federation.ledger.jsonl, coordinator.pem, ca.pem, summary.json).",
        };
        var store = new Option<string?>("--store") { Description = "A coordinator's SQLite store (instead of --run)." };
        var ledger = new Option<string?>("--ledger")
        {
            Description = "With --store: the coordinator's signed ledger (default: the store's name with .ledger.jsonl, as the coordinator writes it).",
        };
        var coordinatorCert = new Option<string?>("--coordinator-cert")
        {
            Description = "With --store: PEM certificate of the coordinator that signed the ledger (default: coordinator.pem beside the store).",
        };
        var ca = new Option<string?>("--ca")
        {
            Description = "With --store: PEM certificate of the consortium CA, the only trust anchor (default: ca.pem beside the store).",
        };
        var summary = new Option<string?>("--summary")
        {
            Description = "With --store: a simulation's summary.json to cross-check (with --run, the folder's summary.json is checked).",
        };
        var head = new Option<string?>("--ledger-head")
        {
            Description = "A ledger head hash published out of band; the export is refused unless the verified ledger ends there.",
        };
        var output = new Option<string>("--out")
        {
            Description = "Folder to write model.onnx and model.json into (created if missing; an earlier export there is replaced).",
            Required = true,
        };
        var command = new Command(
            "export",
            "Verify a completed federation (the ledger's chain, signatures and epsilons against the CA; the store's rounds, final model, " +
            "study and statistics against the ledger) and write model.onnx (opset 13: raw features in, federated standardization and " +
            "imputation inside, class probabilities out) and its model card model.json. Exit 0 when written; 1 when refused; 2 for unreadable input.")
        {
            run, store, ledger, coordinatorCert, ca, summary, head, output,
        };
        command.SetAction((parse, _) => Task.FromResult(Export(parse, new Arguments(
            parse.GetValue(run), parse.GetValue(store), parse.GetValue(ledger), parse.GetValue(coordinatorCert), parse.GetValue(ca),
            parse.GetValue(summary), parse.GetValue(head), parse.GetValue(output)!))));
        return command;
    }

    private static int Export(ParseResult parse, Arguments a)
    {
        var error = parse.InvocationConfiguration.Error;
        if ((a.Run is null) == (a.Store is null))
        {
            error.WriteLine("error: give either --run DIR (a securefed simulate --out folder) or --store FILE (a coordinator's store), not both or neither.");
            return BadInput;
        }

        if (a.Run is not null && (a.Ledger ?? a.CoordinatorCert ?? a.Ca ?? a.Summary) is not null)
        {
            error.WriteLine("error: --ledger, --coordinator-cert, --ca and --summary go with --store; a --run folder holds them under their usual names.");
            return BadInput;
        }

        try
        {
            ExportSource source;
            if (a.Run is { } folder)
            {
                source = ExportSource.FromRunFolder(folder) with { ExpectedLedgerHead = a.Head };
            }
            else
            {
                var beside = Path.GetDirectoryName(Path.GetFullPath(a.Store!))!;
                source = new ExportSource
                {
                    StorePath = a.Store!,
                    LedgerPath = a.Ledger ?? ExportSource.DefaultLedgerPath(a.Store!),
                    CoordinatorCertificatePath = a.CoordinatorCert ?? Path.Combine(beside, ExportSource.CoordinatorCertificateFileName),
                    CaPath = a.Ca ?? Path.Combine(beside, ExportSource.CaFileName),
                    SummaryPath = a.Summary,
                    ExpectedLedgerHead = a.Head,
                };
            }

            var result = FederationExporter.Export(source, ModelMapping.SpecOf, a.Output);
            var card = result.Card;
            var text = parse.InvocationConfiguration.Output;
            text.WriteLine($"wrote {result.OnnxPath}");
            text.WriteLine($"wrote {result.CardPath}");
            text.WriteLine($"model {card.ModelHash}: {card.Architecture.Description}, study {card.Study} ({card.StudyHash[..12]}), {card.Rounds.Completed} rounds");
            text.WriteLine($"verified against ledger head {card.LedgerHeadHash} ({card.LedgerEntries} entries)");
            return 0;
        }
        catch (ExportRefusedException ex)
        {
            error.WriteLine($"error: export refused: {OneLine(ex.Message)}");
            return Refused;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException
            or UnauthorizedAccessException or CryptographicException or IOException)
        {
            // FormatException covers a study the store holds that this version cannot parse (StudyFormatException).
            error.WriteLine($"error: {OneLine(ex.Message)}");
            return BadInput;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private sealed record Arguments(
        string? Run, string? Store, string? Ledger, string? CoordinatorCert, string? Ca, string? Summary, string? Head, string Output);
}
