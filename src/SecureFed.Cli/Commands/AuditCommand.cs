using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SecureFed.Audit;
using SecureFed.Audit.Reports;
using SecureFed.Identity;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed audit verify</c>: checks a ledger the way an outside auditor would (SecureFed.Audit's
/// <see cref="LedgerVerifier"/>). Exit 0 when everything holds, 1 naming the first bad entry, 2 for unreadable
/// input. <c>securefed audit report</c>: writes report.json, report.html and report.txt (<see cref="ReportWriter"/>),
/// verifying first when a coordinator certificate and CA are given, and verifying each <c>--silo-ledger</c>; exit 0 when
/// written, 1 when written but the ledger or a silo ledger failed verification (or a silo ledger disagrees with the
/// ledger; each such file gets one line on stderr naming it and the entry), 2 for unreadable input. Writes to the invocation's Output/Error (Console by default).
/// </summary>
internal static class AuditCommand
{
    private const int Verified = 0;
    private const int Refuted = 1;
    private const int BadInput = 2;

    public static Command Build()
    {
        var audit = new Command("audit", "Audit trail: verify the coordinator's signed, hash-chained round ledger, and report on it.");
        audit.Subcommands.Add(BuildVerify());
        audit.Subcommands.Add(BuildReport());
        return audit;
    }

    private static Command BuildVerify()
    {
        var ledger = new Argument<string>("LEDGER") { Description = "The ledger file (JSON lines, one signed entry per round)." };
        var coordinatorCert = new Option<string>("--coordinator-cert")
        {
            Description = "PEM certificate of the coordinator whose key signed the ledger; it must chain to --ca.",
            Required = true,
        };
        var ca = new Option<string>("--ca") { Description = "PEM certificate of the consortium CA (the only trust anchor).", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of a line of text." };
        var expectHead = new Option<string?>("--expect-head")
        {
            Description = "The head hash published for this ledger (64 hex characters): fail unless the verified ledger ends exactly there, " +
                "so a cut-off tail or entries added since are detected.",
        };
        var command = new Command(
            "verify",
            "Check every entry's sequence, hash chain and coordinator signature (against the consortium CA), the rounds' continuity " +
            "and the model-hash chain, and recompute every cumulative epsilon from the logged noise; print the head hash verified. " +
            "Exit 0 only when all holds; 1 names the first bad entry (or a head other than --expect-head); 2 for unreadable files.")
        {
            ledger, coordinatorCert, ca, json, expectHead,
        };
        command.SetAction((parse, _) => Task.FromResult(Verify(
            parse, parse.GetValue(ledger)!, parse.GetValue(coordinatorCert)!, parse.GetValue(ca)!, parse.GetValue(json), parse.GetValue(expectHead))));
        return command;
    }

    private static Command BuildReport()
    {
        var ledger = new Argument<string>("LEDGER") { Description = "The ledger file (JSON lines, one signed entry per round)." };
        var output = new Option<string>("--out")
        {
            Description = "Folder to write report.json and report.html into (created if missing; earlier reports are replaced).",
            Required = true,
        };
        var summary = new Option<string?>("--summary")
        {
            Description = "A simulation's summary.json; its rounds[].round and rounds[].accuracy give the accuracy plot (not needed for ledgers that record each round's federated evaluation, as coordinators write them now: their accuracy comes from the ledger itself; only older ledgers need it).",
        };
        var coordinatorCert = new Option<string?>("--coordinator-cert")
        {
            Description = "PEM certificate of the coordinator whose key signed the ledger; with --ca the ledger is verified first, otherwise the report says \"not verified\".",
        };
        var ca = new Option<string?>("--ca") { Description = "PEM certificate of the consortium CA (the only trust anchor); needs --coordinator-cert." };
        var federation = new Option<string?>("--federation")
        {
            Description = "The federation id to report on when the ledger holds several (default: the only one).",
        };
        var modelCard = new Option<string?>("--model-card")
        {
            Description = "The model.json of the federation's exported model (securefed model export); the report names the model and says whether it is the ledger's final model.",
        };
        var siloLedger = new Option<string[]>("--silo-ledger")
        {
            Description = "A silo's own privacy ledger (Agent:Policy:LedgerPath), handed over by the silo; repeatable. Each is verified " +
                "(hash chain, every stated epsilon recomputed) and compared with the coordinator's ledger, and gets a section of the report.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command(
            "report",
            "Write report.json, a self-contained report.html and report.txt (also printed): study, model kind, rounds planned and completed, " +
            "final model hash, epsilon and accuracy by round, participants, dropouts, mechanism parameters, budget left, trace ids and each " +
            "silo ledger given. Exit 0 when written; 1 when written but the ledger or a silo ledger failed verification or disagrees; 2 for unreadable files.")
        {
            ledger, output, summary, coordinatorCert, ca, federation, modelCard, siloLedger,
        };
        command.SetAction((parse, _) => Task.FromResult(Report(
            parse,
            parse.GetValue(ledger)!,
            parse.GetValue(output)!,
            parse.GetValue(summary),
            parse.GetValue(coordinatorCert),
            parse.GetValue(ca),
            parse.GetValue(federation),
            parse.GetValue(modelCard),
            parse.GetValue(siloLedger) ?? [])));
        return command;
    }

    private static int Report(
        ParseResult parse, string ledgerPath, string outDir, string? summaryPath, string? coordinatorPath, string? caPath, string? federation, string? modelCardPath,
        string[] siloLedgerPaths)
    {
        var error = parse.InvocationConfiguration.Error;
        if ((coordinatorPath is null) != (caPath is null))
        {
            error.WriteLine("error: --coordinator-cert and --ca go together: give both to verify the ledger, or neither for an unverified report.");
            return BadInput;
        }

        try
        {
            var entries = AuditLedger.Read(ledgerPath);
            if (entries.Count == 0)
            {
                error.WriteLine($"error: The ledger file '{ledgerPath}' has no entries to report on.");
                return BadInput;
            }

            LedgerVerificationResult? verification = null;
            if (coordinatorPath is not null && caPath is not null)
            {
                using var coordinator = CertificateStore.LoadCertificate(coordinatorPath);
                using var root = CertificateStore.LoadCertificate(caPath);
                verification = LedgerVerifier.Verify(entries, coordinator, root, TimeProvider.System);
            }

            var context = new ReportContext
            {
                AccuracyByRound = summaryPath is null ? null : ReportContext.ReadSummaryAccuracy(summaryPath),
                Verification = verification,
                FederationId = federation,
                GeneratedAt = TimeProvider.System.GetUtcNow(),
                LedgerSource = Path.GetFileName(ledgerPath),
                ExportedModel = modelCardPath is null ? null : ExportedModelOf(modelCardPath),
                SiloLedgers = [.. siloLedgerPaths.Select(p => new SiloLedgerFile(p, SiloLedgerVerifier.Read(p)))],
            };
            AuditReport report;
            try
            {
                report = AuditReport.Build(entries, context);
            }
            catch (ArgumentException ex)
            {
                error.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")} Pick the federation with --federation ID.");
                return BadInput;
            }

            var files = ReportWriter.Write(report, outDir);
            var text = parse.InvocationConfiguration.Output;
            text.WriteLine($"wrote {files.JsonPath}");
            text.WriteLine($"wrote {files.HtmlPath}");
            text.WriteLine($"wrote {files.TextPath}");
            text.WriteLine(report.Verification.Status switch
            {
                ReportVerification.Verified => "ledger verified",
                ReportVerification.Failed => $"ledger verification FAILED: {report.Verification.Reason}",
                _ => "ledger not verified (give --coordinator-cert and --ca to verify it)",
            });
            var siloProblems = report.SiloLedgers.Select(l => l.Problem).OfType<string>().ToList();
            foreach (var l in report.SiloLedgers.Where(l => l.Problem is null))
            {
                text.WriteLine($"silo ledger {l.Source}: verified");
            }

            // One line per bad silo ledger, naming the file and the entry; the report shows it as failed too.
            foreach (string problem in siloProblems)
            {
                error.WriteLine($"error: {problem}");
            }

            text.WriteLine();
            text.Write(ReportWriter.ToText(report));
            return report.Verification.Status == ReportVerification.Failed || siloProblems.Count > 0 ? Refuted : Verified;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or UnauthorizedAccessException or CryptographicException or IOException)
        {
            error.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")}");
            return BadInput;
        }
    }

    /// <summary>The exported model a card names; the ONNX file beside the card must be the one it recorded.</summary>
    private static ReportExportedModel ExportedModelOf(string cardPath)
    {
        var card = ModelExport.ModelCard.Load(cardPath);
        var onnx = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(cardPath))!, card.Onnx.File);
        if (File.Exists(onnx))
        {
            var actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnx)));
            if (actual != card.Onnx.Sha256)
            {
                throw new InvalidDataException($"{onnx} is not the model its card {cardPath} recorded (sha256 {actual}, card {card.Onnx.Sha256}); export it again");
            }
        }

        return new ReportExportedModel(card.Onnx.File, card.Onnx.Sha256, card.ModelHash, card.LedgerHeadHash, card.Architecture.Description);
    }

    private static int Verify(ParseResult parse, string ledgerPath, string coordinatorPath, string caPath, bool json, string? expectHead)
    {
        var expected = expectHead?.Trim().ToLowerInvariant();
        if (expected is not null && (expected.Length != 64 || !expected.All(Uri.IsHexDigit)))
        {
            parse.InvocationConfiguration.Error.WriteLine("error: --expect-head takes a ledger head hash: 64 hex characters, as `audit verify` prints after \"head\".");
            return BadInput;
        }

        try
        {
            var entries = AuditLedger.Read(ledgerPath);
            using var coordinator = CertificateStore.LoadCertificate(coordinatorPath);
            using var root = CertificateStore.LoadCertificate(caPath);
            var result = LedgerVerifier.Verify(entries, coordinator, root, TimeProvider.System);
            if (result.Ok && expected is not null && !string.Equals(expected, result.HeadHash, StringComparison.Ordinal))
            {
                var at = entries.FirstOrDefault(e => string.Equals(e.EntryHash, expected, StringComparison.Ordinal));
                result = result with
                {
                    Ok = false,
                    Reason = at is not null
                        ? string.Create(CultureInfo.InvariantCulture, $"the expected head is entry {at.Sequence}, but the ledger goes on to entry {result.Entries} (head {result.HeadHash}): entries were added after that head was published")
                        : string.Create(CultureInfo.InvariantCulture, $"the ledger ends at entry {result.Entries} with head {result.HeadHash}, and no entry has the expected head {expected}: entries were cut off the end, or this is another ledger"),
                };
            }

            var output = parse.InvocationConfiguration.Output;
            output.WriteLine(json ? ToJson(result) : ToText(result));
            return result.Ok ? Verified : Refuted;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or UnauthorizedAccessException or CryptographicException or IOException)
        {
            // Plain text, one line: the message names the file (and the line, for the ledger).
            parse.InvocationConfiguration.Error.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")}");
            return BadInput;
        }
    }

    private static string ToText(LedgerVerificationResult r)
    {
        if (!r.Ok)
        {
            return $"FAILED: {r.Reason}";
        }

        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"OK: {r.Entries} entries, {r.CompletedRounds} completed rounds"));
        if (r.FinalEpsilon is { } epsilon && r.Delta is { } delta)
        {
            text.Append(CultureInfo.InvariantCulture, $", epsilon {Format(epsilon.Rdp)} (rdp) / {Format(epsilon.Exact)} (exact) at delta {Format(delta)}");
        }
        else
        {
            text.Append(", no differential privacy");
        }

        if (r.RecordEpsilon.Count > 0)
        {
            text.Append(", record-level epsilon ").AppendJoin(", ", r.RecordEpsilon.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {Format(kv.Value)}")));
        }

        text.Append(CultureInfo.InvariantCulture, $", head {r.HeadHash}");
        return text.ToString();
    }

    private static string ToJson(LedgerVerificationResult r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteBoolean("ok", r.Ok);
            if (r.FailedSequence is { } failed)
            {
                w.WriteNumber("failed_entry", failed);
            }
            else
            {
                w.WriteNull("failed_entry");
            }

            w.WriteString("reason", r.Reason);
            w.WriteNumber("entries", r.Entries);
            w.WriteNumber("completed_rounds", r.CompletedRounds);
            w.WritePropertyName("epsilon");
            if (r.FinalEpsilon is { } epsilon)
            {
                w.WriteStartObject();
                WriteFiniteOrNull(w, "rdp", epsilon.Rdp);
                WriteFiniteOrNull(w, "exact", epsilon.Exact);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            if (r.Delta is { } delta)
            {
                w.WriteNumber("delta", delta);
            }
            else
            {
                w.WriteNull("delta");
            }

            w.WriteStartObject("record_epsilon");
            foreach (var (silo, value) in r.RecordEpsilon)
            {
                WriteFiniteOrNull(w, silo, value);
            }

            w.WriteEndObject();
            w.WriteString("head_hash", r.HeadHash);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteFiniteOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string Format(double value) => value.ToString("G7", CultureInfo.InvariantCulture);
}
