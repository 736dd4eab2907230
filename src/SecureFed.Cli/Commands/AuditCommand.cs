using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SecureFed.Audit;
using SecureFed.Identity;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed audit verify</c>: checks a ledger the way an outside auditor would (SecureFed.Audit's
/// <see cref="LedgerVerifier"/>). Exit 0 when everything holds, 1 naming the first bad entry, 2 for unreadable
/// input. Writes to the invocation's Output/Error (Console by default).
/// </summary>
internal static class AuditCommand
{
    private const int Verified = 0;
    private const int Refuted = 1;
    private const int BadInput = 2;

    public static Command Build()
    {
        var audit = new Command("audit", "Audit trail: verify the coordinator's signed, hash-chained round ledger.");
        audit.Subcommands.Add(BuildVerify());
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
        var command = new Command(
            "verify",
            "Check every entry's sequence, hash chain and coordinator signature (against the consortium CA), and recompute every " +
            "cumulative epsilon from the logged noise. Exit 0 only when all holds; 1 names the first bad entry; 2 for unreadable files.")
        {
            ledger, coordinatorCert, ca, json,
        };
        command.SetAction((parse, _) => Task.FromResult(Verify(
            parse, parse.GetValue(ledger)!, parse.GetValue(coordinatorCert)!, parse.GetValue(ca)!, parse.GetValue(json))));
        return command;
    }

    private static int Verify(ParseResult parse, string ledgerPath, string coordinatorPath, string caPath, bool json)
    {
        try
        {
            var entries = AuditLedger.Read(ledgerPath);
            using var coordinator = CertificateStore.LoadCertificate(coordinatorPath);
            using var root = CertificateStore.LoadCertificate(caPath);
            var result = LedgerVerifier.Verify(entries, coordinator, root, TimeProvider.System);
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
