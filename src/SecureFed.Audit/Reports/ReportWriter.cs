using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace SecureFed.Audit.Reports;

/// <summary>The files <see cref="ReportWriter.Write"/> wrote.</summary>
/// <param name="JsonPath">The full path of <c>report.json</c>.</param>
/// <param name="HtmlPath">The full path of <c>report.html</c>.</param>
public sealed record ReportFiles(string JsonPath, string HtmlPath)
{
    /// <summary>The full path of <c>report.txt</c> (the text form, <see cref="ReportWriter.ToText"/>).</summary>
    public string TextPath { get; init; } = "";
}

/// <summary>
/// Writes an <see cref="AuditReport"/> as <c>report.json</c> (snake_case keys; non-finite numbers as <c>null</c>) and
/// <c>report.html</c>: one self-contained page (inline CSS and SVG, no script, no external font, image or style; a
/// Content-Security-Policy that forbids loading any) with plots of epsilon and accuracy by round and tables of the
/// study, federated statistics, rounds (kind, federated evaluation), charged releases, participants, parameters,
/// budget and trace ids. Every piece of text from the ledger is HTML-escaped.
/// </summary>
/// <remarks>Stateless and thread-safe; concurrent writes to the same folder race on the files.</remarks>
public static class ReportWriter
{
    /// <summary>The name of the JSON report.</summary>
    public const string JsonFileName = "report.json";

    /// <summary>The name of the HTML report.</summary>
    public const string HtmlFileName = "report.html";

    /// <summary>The name of the text report.</summary>
    public const string TextFileName = "report.txt";

    private const string RdpColor = "#1f77b4";
    private const string ExactColor = "#d62728";
    private const string AccuracyColor = "#2ca02c";

    /// <summary>Writes <c>report.json</c>, <c>report.html</c> and <c>report.txt</c> into <paramref name="outDir"/>, creating it if needed
    /// and replacing earlier reports.</summary>
    /// <exception cref="IOException">A file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static ReportFiles Write(AuditReport report, string outDir)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        Directory.CreateDirectory(outDir);
        var files = new ReportFiles(Path.GetFullPath(Path.Combine(outDir, JsonFileName)), Path.GetFullPath(Path.Combine(outDir, HtmlFileName)))
        {
            TextPath = Path.GetFullPath(Path.Combine(outDir, TextFileName)),
        };
        var utf8 = new UTF8Encoding(false);
        File.WriteAllText(files.JsonPath, ToJson(report), utf8);
        File.WriteAllText(files.HtmlPath, ToHtml(report), utf8);
        File.WriteAllText(files.TextPath, ToText(report), utf8);
        return files;
    }

    /// <summary>The JSON report (indented, snake_case keys, non-finite numbers as <c>null</c>).</summary>
    public static string ToJson(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("federation_id", report.FederationId);
            if (report.PlannedRounds is { } planned)
            {
                w.WriteNumber("planned_rounds", planned);
            }
            else
            {
                w.WriteNull("planned_rounds");
            }

            w.WriteNumber("completed_rounds", report.CompletedRounds);
            w.WriteBoolean("stopped_early", report.StoppedEarly);
            WriteStringOrNull(w, "last_abort_reason", report.LastAbortReason);
            WriteStringOrNull(w, "generated_at", report.GeneratedAt?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            WriteStringOrNull(w, "ledger_source", report.LedgerSource);
            WriteStringOrNull(w, "study_hash", report.StudyHash);
            WriteStringOrNull(w, "study_name", report.StudyName);
            WriteStringOrNull(w, "model_kind", report.ModelKind);
            w.WriteStartArray("study_hashes");
            foreach (string study in report.StudyHashes)
            {
                w.WriteStringValue(study);
            }

            w.WriteEndArray();

            w.WriteStartObject("verification");
            w.WriteString("status", report.Verification.Status);
            w.WriteString("reason", report.Verification.Reason);
            WriteNumberOrNull(w, "failed_entry", report.Verification.FailedSequence);
            w.WriteString("head_hash", report.Verification.HeadHash);
            w.WriteEndObject();

            w.WriteNumber("entries", report.Rounds.Count);
            w.WriteNumber("completed_rounds", report.CompletedRounds);
            WriteStringOrNull(w, "final_model_hash", report.FinalModelHash);
            w.WriteStartObject("record_epsilon");
            foreach (var (silo, epsilon) in report.RecordEpsilon)
            {
                WriteNumberOrNull(w, silo, epsilon);
            }

            w.WriteEndObject();
            w.WritePropertyName("exported_model");
            if (report.ExportedModel is { } exported)
            {
                w.WriteStartObject();
                w.WriteString("file", exported.File);
                w.WriteString("sha256", exported.FileSha256);
                w.WriteString("model_hash", exported.ModelHash);
                w.WriteString("ledger_head_hash", exported.LedgerHeadHash);
                w.WriteString("architecture", exported.Architecture);
                w.WriteBoolean("matches_final_model", report.ExportedModelMatches);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("statistics");
            if (report.Statistics is { } st)
            {
                w.WriteStartObject();
                w.WriteNumber("round", 0);
                w.WriteNumber("sequence", st.Sequence);
                w.WriteNumber("attempt", st.Attempt);
                w.WriteString("status", Status(st.Status));
                WriteStringOrNull(w, "statistics_hash", st.StatisticsHash);
                w.WriteNumber("contributors", st.Contributors);
                WriteReleases(w, st.Releases);
                WriteEpsilon(w, st.CumulativeEpsilon);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("budget");
            if (report.Budget is { } b)
            {
                w.WriteStartObject();
                w.WriteString("accountant", b.Accountant);
                WriteNumberOrNull(w, "epsilon_budget", b.EpsilonBudget);
                WriteNumberOrNull(w, "epsilon_spent", b.EpsilonSpent);
                WriteNumberOrNull(w, "epsilon_left", b.EpsilonLeft);
                w.WriteNumber("delta", b.Delta);
                w.WriteString("adjacency", "zero-out");
                w.WriteString("guarantee", GuaranteeText);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteStartArray("parameters");
            foreach (var p in report.Parameters)
            {
                w.WriteStartObject();
                w.WriteNumber("from_round", p.FromRound);
                w.WriteNumber("to_round", p.ToRound);
                w.WriteString("mechanism", p.Privacy.Mechanism);
                w.WriteNumber("noise_multiplier", p.Privacy.NoiseMultiplier);
                w.WriteNumber("clip_norm", p.Privacy.ClipNorm);
                w.WriteNumber("threshold", p.Privacy.Threshold);
                w.WriteNumber("colluding", p.Privacy.Colluding);
                w.WriteNumber("delta", p.Privacy.Delta);
                w.WriteNumber("epsilon_budget", p.Privacy.EpsilonBudget);
                w.WriteString("accountant", p.Privacy.Accountant);
                w.WriteEndObject();
            }

            w.WriteEndArray();

            w.WriteStartArray("participants");
            foreach (var p in report.Participants)
            {
                w.WriteStartObject();
                w.WriteString("silo_id", p.SiloId);
                w.WriteString("certificate_sha256", p.CertificateSha256);
                w.WriteNumber("rounds_joined", p.RoundsJoined);
                w.WriteNumber("completed_rounds_joined", p.CompletedRoundsJoined);
                w.WriteStartObject("attempts");
                w.WriteNumber("contributed", p.Attempts.Contributed);
                w.WriteNumber("refused", p.Attempts.Refused);
                w.WriteNumber("rejected", p.Attempts.Rejected);
                w.WriteNumber("dropped", p.Attempts.Dropped);
                w.WriteEndObject();
                WriteStringOrNull(w, "last_refusal", p.LastRefusal);
                w.WriteEndObject();
            }

            w.WriteEndArray();

            w.WriteStartArray("rounds");
            foreach (var r in report.Rounds)
            {
                WriteRound(w, r);
            }

            w.WriteEndArray();

            WriteReleases(w, report.Releases, withEntry: true);
            w.WriteString("accuracy_source", report.AccuracySource);
            w.WriteStartArray("accuracy_by_round");
            foreach (var point in report.Accuracy)
            {
                w.WriteStartObject();
                w.WriteNumber("round", point.Round);
                WriteNumberOrNull(w, "accuracy", point.Accuracy);
                WriteNumberOrNull(w, "loss", point.Loss);
                WriteNumberOrNull(w, "examples", point.Examples);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            WriteSiloLedgers(w, report);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>The self-contained HTML report.</summary>
    public static string ToHtml(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // Nothing may be fetched: the page is a record, and an auditor opens it offline.
        h.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.Append(Invariant($"<title>SecureFed audit report: {E(report.FederationId)}</title>\n"));
        h.Append("<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n");

        h.Append(Invariant($"<h1>Audit report: federation <span id=\"federation-id\">{E(report.FederationId)}</span></h1>\n"));
        AppendVerification(h, report);
        if (report.StoppedEarly)
        {
            // Verified is about the ledger's integrity; this says the federation did not finish what it planned.
            var why = report.LastAbortReason is { } reason ? $" The last attempt aborted: {reason}" : "";
            h.Append(Invariant($"<p id=\"stopped-early\" class=\"verdict bad\">This federation stopped early: {report.CompletedRounds} of {report.PlannedRounds} planned rounds completed.{E(why)}</p>\n"));
        }

        AppendSummary(h, report);

        h.Append("<section id=\"plots\" class=\"plots\">\n<figure>");
        var epsilon = report.EpsilonByRound;
        h.Append(SvgLinePlot.Render(
            "epsilon-plot",
            "Cumulative epsilon by round" + (report.Budget is { } b ? Invariant($" (delta = {Number(b.Delta)})") : ""),
            "round",
            "epsilon",
            [
                new PlotSeries("epsilon (rdp)", RdpColor, [.. epsilon.Where(p => double.IsFinite(p.Epsilon.Rdp)).Select(p => ((double)p.Round, p.Epsilon.Rdp))]),
                new PlotSeries("epsilon (exact)", ExactColor, [.. epsilon.Where(p => double.IsFinite(p.Epsilon.Exact)).Select(p => ((double)p.Round, p.Epsilon.Exact))]),
            ],
            report.Parameters.Count == 0 ? "No differential privacy: no epsilon to plot." : "No finite epsilon to plot.",
            BudgetOnAxis(report),
            report.Budget?.EpsilonBudget is { } budget ? (budget, Invariant($"budget {Number(budget)}")) : null));
        h.Append("</figure>\n<figure>");
        h.Append(SvgLinePlot.Render(
            "accuracy-plot",
            "Accuracy by round",
            "round",
            "accuracy",
            [new PlotSeries(
                report.AccuracySource == AuditReport.LedgerAccuracy ? "federated accuracy" : "accuracy",
                AccuracyColor,
                [.. report.AccuracyByRound.Select(kv => ((double)kv.Key, kv.Value))])],
            "No accuracy by round was given (securefed audit report --summary summary.json) and the ledger holds no federated evaluation.",
            report.AccuracyByRound.All(kv => kv.Value <= 1) ? 1 : 0));
        h.Append("</figure>\n</section>\n");

        AppendStatistics(h, report);
        AppendParameters(h, report);
        AppendReleases(h, report);
        AppendParticipants(h, report);
        AppendSiloLedgers(h, report);
        AppendRounds(h, report);

        h.Append("<footer>Generated by SecureFed from the coordinator's signed audit ledger");
        if (report.LedgerSource is { } source)
        {
            h.Append(Invariant($" <code>{E(source)}</code>"));
        }

        if (report.GeneratedAt is { } at)
        {
            h.Append(Invariant($" at {E(Time(at))}"));
        }

        h.Append(". The ledger holds public metadata only: identities by certificate fingerprint, counts, parameters and hashes.</footer>\n");
        h.Append("</body>\n</html>\n");
        return h.ToString();
    }

    /// <summary>
    /// The text report: verification, whether the federation stopped early and why, study, model kind, planned and
    /// completed rounds, the final model hash in full, the exported model, budget, accuracy by round, each silo's
    /// attempts, and each silo ledger handed over. Plain UTF-8 lines, no markup.
    /// </summary>
    public static string ToText(AuditReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var t = new StringBuilder();
        void Line(string key, string value) => t.Append(key).Append(": ").Append(value.ReplaceLineEndings(" ")).Append('\n');

        t.Append("SecureFed audit report: federation ").Append(report.FederationId).Append('\n');
        var v = report.Verification;
        Line("ledger", v.Status switch
        {
            ReportVerification.Verified => "verified (chain, every signature against the consortium CA, every epsilon)",
            ReportVerification.Failed => "verification FAILED: " + v.Reason,
            _ => "not verified (no coordinator certificate and CA given): everything below is the coordinator's claim",
        });
        Line("head hash", v.HeadHash);
        if (report.StoppedEarly)
        {
            Line("STOPPED EARLY", Invariant($"{report.CompletedRounds} of {report.PlannedRounds} planned rounds completed")
                + (report.LastAbortReason is { } reason ? "; the last attempt aborted: " + reason : ""));
        }

        Line("study", (report.StudyName ?? "not named") + (report.StudyHashes.Count > 0 ? ", hash " + string.Join(", ", report.StudyHashes) : ", no study hash"));
        Line("model kind", report.ModelKind ?? "not recorded (older ledger)");
        Line("planned rounds", report.PlannedRounds is { } planned ? planned.ToString(CultureInfo.InvariantCulture) : "not recorded (older ledger)");
        Line("completed rounds", report.CompletedRounds.ToString(CultureInfo.InvariantCulture));
        Line("attempts", Invariant($"{report.Rounds.Count} entries, {report.Rounds.Count(r => r.Status == RoundStatus.Aborted)} aborted"));
        Line("final model hash", report.FinalModelHash ?? "none: no training round completed");
        if (report.ExportedModel is { } m)
        {
            Line("exported model", $"{m.File} (sha256 {m.FileSha256}), {m.Architecture}, model hash {m.ModelHash}: "
                + (report.ExportedModelMatches ? "the ledger's final model" : "NOT the ledger's final model or not verified against this ledger's head"));
        }

        if (report.Budget is { } b)
        {
            Line("epsilon spent", Invariant($"{Number(b.EpsilonSpent)} ({b.Accountant}) at delta {Number(b.Delta)}, budget {(b.EpsilonBudget is { } budget ? Number(budget) : "none set")}"));
        }
        else
        {
            Line("differential privacy", report.RecordEpsilon.Count > 0 ? "client-level off (record-level below)" : "off (no epsilon guarantee)");
        }

        if (report.RecordEpsilon.Count > 0)
        {
            Line("record-level epsilon per silo (DP-SGD, recomputed from the logged steps)",
                string.Join(", ", report.RecordEpsilon.Select(kv => $"{kv.Key} {Number(kv.Value)}")));
        }

        if (report.Accuracy.Count > 0)
        {
            t.Append("accuracy by round (").Append(report.AccuracySource == AuditReport.LedgerAccuracy ? "federated evaluation in the ledger" : "the simulation summary").Append("):\n");
            foreach (var p in report.Accuracy)
            {
                t.Append(Invariant($"  round {p.Round}: accuracy {Number(p.Accuracy)}"));
                if (p.Loss is { } loss)
                {
                    t.Append(Invariant($", loss {Number(loss)}"));
                }

                if (p.Examples is { } n)
                {
                    t.Append(Invariant($", {n} examples"));
                }

                t.Append('\n');
            }
        }
        else
        {
            Line("accuracy", "none recorded");
        }

        t.Append("silos (attempts contributed / refused / rejected / dropped):\n");
        foreach (var p in report.Participants)
        {
            var a = p.Attempts;
            t.Append(Invariant($"  {p.SiloId} {p.CertificateSha256}: {a.Contributed} / {a.Refused} / {a.Rejected} / {a.Dropped}, completed rounds contributed to {p.CompletedRoundsJoined}"));
            if (p.LastRefusal is { } refusal)
            {
                t.Append("; last refusal: ").Append(refusal.ReplaceLineEndings(" "));
            }

            t.Append('\n');
        }

        foreach (var r in report.Rounds.Where(r => r.Status == RoundStatus.Aborted))
        {
            t.Append(Invariant($"aborted: round {r.Round} attempt {r.Attempt} (entry {r.Sequence}): {r.AbortReason ?? "no reason recorded"}"));
            foreach (var f in r.Faults)
            {
                t.Append(Invariant($"; {f.SiloId}{(f.Proven ? " (proven)" : "")}: {f.Fault}"));
            }

            t.Append('\n');
        }

        foreach (var l in report.SiloLedgers)
        {
            t.Append(l.Problem ?? Invariant($"silo ledger {l.Source}: verified, {l.Releases.Count} releases of this federation agree with the coordinator's ledger")).Append('\n');
            foreach (var r in l.Releases)
            {
                t.Append(Invariant($"  entry {r.Entry}, round {r.Round}, {r.Task}: z {Number(r.NoiseMultiplier)}, epsilon after {(r.Epsilon is { } e ? Number(e) : "not stated")}"))
                    .Append(r.EpsilonCap is { } cap ? Invariant($" (cap {Number(cap)})") : "")
                    .Append(r.Accountant is { } acc ? Invariant($" {acc} at delta {Number(r.Delta ?? 0)}") : "")
                    .Append(", ").Append(r.Agreement.Verdict).Append('\n');
            }
        }

        return t.ToString();
    }

    // The budget line is worth showing when it is near the curve; far above, it would flatten the curve to nothing.
    private static double BudgetOnAxis(AuditReport report)
    {
        var finite = report.EpsilonByRound.SelectMany(p => new[] { p.Epsilon.Rdp, p.Epsilon.Exact }).Where(double.IsFinite).ToList();
        return report.Budget?.EpsilonBudget is { } budget && finite.Count > 0 && budget <= 2 * finite.Max() ? budget : 0;
    }

    private static void AppendVerification(StringBuilder h, AuditReport report)
    {
        var v = report.Verification;
        string css = v.Status switch
        {
            ReportVerification.Verified => "ok",
            ReportVerification.Failed => "bad",
            _ => "unknown",
        };
        string text = v.Status switch
        {
            ReportVerification.Verified => "Verified: the chain, every signature (against the consortium CA) and every epsilon hold.",
            ReportVerification.Failed => $"Verification FAILED: {v.Reason}",
            _ => "Not verified: no coordinator certificate and CA were given, so everything below is the coordinator's claim. Run securefed audit verify.",
        };
        h.Append(Invariant($"<p id=\"verification\" class=\"verdict {css}\" data-status=\"{E(v.Status)}\">{E(text)}<br><small>head hash <code>{E(v.HeadHash)}</code></small></p>\n"));
    }

    /// <summary>What the epsilon figures prove, in the words the README uses (the adjacency is zero-out, not add/remove).</summary>
    internal const string GuaranteeText =
        "client-level, zero-out neighbours: replacing one silo's contributions (update, statistics, evaluation sums) by zero " +
        "changes what the coordinator can learn by at most (epsilon, delta); it does not hide how many silos took part. " +
        "Under plain aggregation each update is charged with its own silo's share of the noise.";

    private static void AppendSummary(StringBuilder h, AuditReport report)
    {
        h.Append("<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"kv\">\n");
        if (report.StudyName is { } studyName)
        {
            Row(h, "study", studyName, "study-name");
        }

        if (report.StudyHashes.Count > 0)
        {
            Row(h, report.StudyHashes.Count == 1 ? "study hash" : "study hashes (they differ between entries)", string.Join(", ", report.StudyHashes), "study-hash", "hash");
        }

        if (report.ModelKind is { } modelKind)
        {
            Row(h, "model kind", modelKind, "model-kind");
        }

        Row(h, "entries", report.Rounds.Count.ToString(CultureInfo.InvariantCulture));
        Row(h, "planned rounds", report.PlannedRounds is { } planned ? planned.ToString(CultureInfo.InvariantCulture) : "not recorded (older ledger)", "planned-rounds");
        Row(h, "completed rounds", report.CompletedRounds.ToString(CultureInfo.InvariantCulture), "completed-rounds");
        Row(h, "final model hash", report.FinalModelHash ?? "none: no training round completed", "final-model", "hash");

        if (report.RecordEpsilon.Count > 0)
        {
            Row(h, "record-level epsilon per silo (DP-SGD, recomputed from the logged steps)",
                string.Join(", ", report.RecordEpsilon.Select(kv => $"{kv.Key} {Number(kv.Value)}")), "record-epsilon");
        }

        if (report.ExportedModel is { } m)
        {
            var verdict = report.ExportedModelMatches
                ? "the ledger's final model"
                : "NOT the ledger's final model or not verified against this ledger's head";
            Row(h, "exported model", $"{m.File} (sha256 {m.FileSha256}), {m.Architecture}, model hash {m.ModelHash}: {verdict}", "exported-model", "hash");
        }

        if (report.Statistics is { } st)
        {
            Row(h, "federated statistics", Status(st.Status) + (st.StatisticsHash is { } sh ? ", statistics hash " + sh : ""), "statistics-summary", "hash");
        }

        int evaluations = report.Rounds.Count(r => r.Kind == LedgerEntryKinds.Evaluation);
        if (evaluations > 0)
        {
            Row(h, "evaluation-only entries", evaluations.ToString(CultureInfo.InvariantCulture));
        }

        Row(h, "aborted attempts", report.Rounds.Count(r => r.Status == RoundStatus.Aborted).ToString(CultureInfo.InvariantCulture));
        Row(h, "participants", report.Participants.Count.ToString(CultureInfo.InvariantCulture));
        Row(h, "aggregation", string.Join(", ", report.Rounds.Select(r => r.Aggregation).Distinct(StringComparer.Ordinal)));
        if (report.Budget is { } b)
        {
            Row(h, "accountant", b.Accountant);
            Row(h, "guarantee", GuaranteeText, "guarantee");
            Row(h, "epsilon spent", Invariant($"{Number(b.EpsilonSpent)} at delta {Number(b.Delta)}"));
            Row(h, "epsilon budget", b.EpsilonBudget is { } budget ? Number(budget) : "none set");
            if (b.EpsilonLeft is { } left)
            {
                Row(h, "budget left", left >= 0 ? Number(left) : $"none: overspent by {Number(-left)}", "budget-left", left >= 0 ? null : "overspent");
            }
            else
            {
                Row(h, "budget left", "no budget set", "budget-left");
            }
        }
        else
        {
            Row(h, "differential privacy", "off (no epsilon guarantee)", "budget-left");
        }

        if (report.AccuracyByRound.Count > 0)
        {
            Row(h, "final accuracy", Number(report.AccuracyByRound[^1].Value));
            Row(h, "accuracy from", report.AccuracySource == AuditReport.LedgerAccuracy
                ? "federated evaluation recorded in the ledger"
                : "the simulation summary (--summary; the ledger holds no federated evaluation)", "accuracy-source");
        }

        h.Append("</table>\n</section>\n");
    }

    private static void AppendParameters(StringBuilder h, AuditReport report)
    {
        h.Append("<section id=\"parameters\">\n<h2>Mechanism parameters</h2>\n");
        if (report.Parameters.Count == 0)
        {
            h.Append("<p>The federation ran without differential privacy.</p>\n</section>\n");
            return;
        }

        h.Append("<table>\n<thead><tr><th>rounds</th><th>mechanism</th><th>noise multiplier z</th><th>clip norm</th><th>threshold t</th><th>colluding &kappa;</th><th>delta</th><th>epsilon budget</th><th>accountant</th></tr></thead>\n<tbody>\n");
        foreach (var p in report.Parameters)
        {
            var q = p.Privacy;
            Cells(h, Invariant($"{p.FromRound}–{p.ToRound}"), q.Mechanism, Number(q.NoiseMultiplier), Number(q.ClipNorm),
                q.Threshold.ToString(CultureInfo.InvariantCulture), q.Colluding.ToString(CultureInfo.InvariantCulture), Number(q.Delta),
                q.EpsilonBudget > 0 ? Number(q.EpsilonBudget) : "none", q.Accountant);
        }

        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendStatistics(StringBuilder h, AuditReport report)
    {
        if (report.Statistics is not { } st)
        {
            return;
        }

        h.Append("<section id=\"statistics\">\n<h2>Federated statistics (round 0)</h2>\n<table class=\"kv\">\n");
        Row(h, "entry", st.Sequence.ToString(CultureInfo.InvariantCulture));
        Row(h, "attempt", st.Attempt.ToString(CultureInfo.InvariantCulture));
        Row(h, "status", Status(st.Status));
        Row(h, "statistics hash", st.StatisticsHash ?? "–", "statistics-hash", "hash");
        Row(h, "contributors", st.Contributors.ToString(CultureInfo.InvariantCulture));
        Row(h, "charged", st.Releases.Count == 0
            ? "nothing"
            : string.Join(", ", st.Releases.Select(r => Invariant($"{r.Task} release at z = {Number(r.EffectiveNoiseMultiplier)}"))));
        if (st.CumulativeEpsilon is { } e)
        {
            Row(h, "epsilon after (rdp / exact)", Invariant($"{Number(e.Rdp)} / {Number(e.Exact)}"));
        }

        h.Append("</table>\n</section>\n");
    }

    private static void AppendReleases(StringBuilder h, AuditReport report)
    {
        if (report.Parameters.Count == 0)
        {
            return;
        }

        var epsilon = report.Rounds.ToDictionary(r => r.Sequence, r => r.CumulativeEpsilon);
        h.Append("<section id=\"releases\">\n<h2>Privacy-charged releases</h2>\n");
        h.Append("<p>Each row is one Gaussian mechanism release (q = 1, one step) composed into the cumulative epsilon: training updates, federated statistics and federated evaluations.</p>\n");
        h.Append("<table>\n<thead><tr><th>entry</th><th>round</th><th>attempt</th><th>task</th><th>effective z</th><th>epsilon after entry (rdp)</th><th>epsilon after entry (exact)</th></tr></thead>\n<tbody>\n");
        foreach (var r in report.Releases)
        {
            var e = epsilon.GetValueOrDefault(r.Sequence);
            RowCells(h, "task-" + r.Task, r.Sequence.ToString(CultureInfo.InvariantCulture), r.Round.ToString(CultureInfo.InvariantCulture),
                r.Attempt.ToString(CultureInfo.InvariantCulture), r.Task, Number(r.EffectiveNoiseMultiplier),
                e is null ? "–" : Number(e.Rdp), e is null ? "–" : Number(e.Exact));
        }

        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendParticipants(StringBuilder h, AuditReport report)
    {
        h.Append("<section id=\"participants\">\n<h2>Participants</h2>\n<table>\n<thead><tr><th>silo</th><th>certificate SHA-256</th><th>rounds invited</th><th>completed rounds contributed to</th><th>attempts: contributed / refused / rejected / dropped</th><th>last refusal</th></tr></thead>\n<tbody>\n");
        foreach (var p in report.Participants)
        {
            var a = p.Attempts;
            Cells(h, p.SiloId, p.CertificateSha256, p.RoundsJoined.ToString(CultureInfo.InvariantCulture), p.CompletedRoundsJoined.ToString(CultureInfo.InvariantCulture),
                Invariant($"{a.Contributed} / {a.Refused} / {a.Rejected} / {a.Dropped}"), p.LastRefusal ?? "");
        }

        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendSiloLedgers(StringBuilder h, AuditReport report)
    {
        if (report.SiloLedgers.Count == 0)
        {
            return;
        }

        h.Append("<section id=\"silo-ledgers\">\n<h2>Silo ledgers</h2>\n");
        h.Append("<p>Each silo's own record of what it released, handed over by the silo: its hash chain and every epsilon it states are checked, and each release is compared with the coordinator's signed ledger (same attempt and plan hash, the silo among its participants, no more noise claimed than the coordinator charged). The file is not signed by the silo.</p>\n");
        foreach (var l in report.SiloLedgers)
        {
            string css = l.Status == ReportVerification.Verified ? "ok" : "bad";
            string verdict = l.Problem ?? Invariant($"silo ledger {l.Source}: verified ({l.Releases.Count} releases of this federation, all agree with the coordinator's ledger)");
            h.Append(Invariant($"<div class=\"silo-ledger\" data-status=\"{E(l.Status)}\">\n<h3>{E(l.SiloId ?? "silo (unnamed in the file)")} <small><code>{E(l.Source)}</code></small></h3>\n"));
            h.Append(Invariant($"<p class=\"verdict {css}\">{E(verdict)}<br><small>head hash <code>{E(l.Verification.HeadHash)}</code>{(l.Verification.UnchainedEntries > 0 ? E(Invariant($"; {l.Verification.UnchainedEntries} entries written before the chain")) : "")}</small></p>\n"));
            h.Append("<table>\n<thead><tr><th>entry</th><th>round</th><th>task</th><th>z priced</th><th>epsilon after</th><th>cap</th><th>accountant, delta</th><th>coordinator's ledger</th></tr></thead>\n<tbody>\n");
            foreach (var r in l.Releases)
            {
                RowCells(h, "agreement-" + r.Agreement.Verdict, r.Entry.ToString(CultureInfo.InvariantCulture), r.Round.ToString(CultureInfo.InvariantCulture), r.Task,
                    Number(r.NoiseMultiplier), r.Epsilon is { } e ? Number(e) : "not stated", r.EpsilonCap is { } cap ? Number(cap) : "none",
                    r.Accountant is { } a ? Invariant($"{a}, {Number(r.Delta ?? 0)}") : "–", r.Agreement.Verdict + ": " + r.Agreement.Detail);
            }

            h.Append("</tbody>\n</table>\n</div>\n");
        }

        h.Append("</section>\n");
    }

    private static void AppendRounds(StringBuilder h, AuditReport report)
    {
        h.Append("<section id=\"rounds\">\n<h2>Rounds</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th>entry</th><th>round</th><th>attempt</th><th>kind</th><th>status</th><th>why aborted, who was at fault</th><th>ended (UTC)</th>"
            + "<th>aggregation</th><th>invited</th><th>contributors</th><th>dropouts</th><th>refused</th><th>rejected</th>"
            + "<th>secagg survivors U1–U5</th><th>effective z</th><th>other charges</th><th>epsilon (rdp)</th><th>epsilon (exact)</th><th>accuracy</th><th>loss</th><th>examples evaluated</th>"
            + "<th>trace id</th><th>plan hash</th><th>model hash before → after</th></tr></thead>\n<tbody>\n");
        foreach (var r in report.Rounds)
        {
            var s = r.Stages;
            RowCells(
                h,
                "kind-" + r.Kind,
                r.Sequence.ToString(CultureInfo.InvariantCulture),
                r.Round.ToString(CultureInfo.InvariantCulture),
                r.Attempt.ToString(CultureInfo.InvariantCulture),
                KindLabel(r.Kind) + (r.StatisticsHash is { } sh && r.Kind == LedgerEntryKinds.Statistics ? " " + Short(sh) : ""),
                Status(r.Status),
                string.Join("; ", new[] { r.AbortReason }.Concat(r.Faults.Select(f => Invariant($"{f.SiloId}{(f.Proven ? " (proven)" : "")}: {f.Fault}"))).OfType<string>()) is { Length: > 0 } why ? why : "–",
                Time(r.Timestamp),
                r.Aggregation,
                s.Invited.ToString(CultureInfo.InvariantCulture),
                s.Contributors.ToString(CultureInfo.InvariantCulture),
                s.Dropouts.ToString(CultureInfo.InvariantCulture),
                s.Refused.ToString(CultureInfo.InvariantCulture),
                s.Rejected.ToString(CultureInfo.InvariantCulture),
                s.SecureAggregation is { } u ? Invariant($"{u.U1} / {u.U2} / {u.U3} / {u.U4} / {u.U5}") : "–",
                r.EffectiveNoiseMultiplier is { } z ? Number(z) : "–",
                string.Join(", ", r.Releases.Where(x => x.Task != LedgerEntryKinds.Training || r.Status == RoundStatus.Aborted).Select(x => Invariant($"{x.Task} z = {Number(x.EffectiveNoiseMultiplier)}"))) is { Length: > 0 } other ? other : "–",
                r.CumulativeEpsilon is { } e1 ? Number(e1.Rdp) : "–",
                r.CumulativeEpsilon is { } e2 ? Number(e2.Exact) : "–",
                r.Accuracy is { } a ? Number(a) : "–",
                r.Evaluation is { } v1 ? Number(v1.Loss) : "–",
                r.Evaluation is { } v2 ? v2.Examples.ToString(CultureInfo.InvariantCulture) : "–",
                r.TraceId.Length > 0 ? r.TraceId : "–",
                Short(r.PlanHash),
                r.ModelHashBefore == r.ModelHashAfter ? Short(r.ModelHashAfter) + " (unchanged)" : Short(r.ModelHashBefore) + " → " + Short(r.ModelHashAfter));
        }

        h.Append("</tbody>\n</table></div>\n</section>\n");
    }

    private static void Row(StringBuilder h, string key, string value, string? id = null, string? cssClass = null) =>
        h.Append(Invariant($"<tr><th>{E(key)}</th><td{(id is null ? "" : $" id=\"{E(id)}\"")}{(cssClass is null ? "" : $" class=\"{E(cssClass)}\"")}>{E(value)}</td></tr>\n"));

    private static void Cells(StringBuilder h, params string[] values) => RowCells(h, null, values);

    private static void RowCells(StringBuilder h, string? cssClass, params string[] values)
    {
        h.Append(cssClass is null ? "<tr>" : Invariant($"<tr class=\"{E(cssClass)}\">"));
        foreach (string value in values)
        {
            h.Append("<td>").Append(E(value)).Append("</td>");
        }

        h.Append("</tr>\n");
    }

    private static void WriteRound(Utf8JsonWriter w, ReportRound r)
    {
        w.WriteStartObject();
        w.WriteNumber("sequence", r.Sequence);
        w.WriteNumber("round", r.Round);
        w.WriteNumber("attempt", r.Attempt);
        w.WriteString("status", Status(r.Status));
        WriteStringOrNull(w, "abort_reason", r.AbortReason);
        w.WriteStartArray("faults");
        foreach (var f in r.Faults)
        {
            w.WriteStartObject();
            w.WriteString("silo_id", f.SiloId);
            w.WriteString("fault", f.Fault);
            w.WriteBoolean("proven", f.Proven);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("kind", r.Kind);
        w.WriteString("timestamp", Time(r.Timestamp));
        w.WriteString("aggregation", r.Aggregation);
        w.WriteNumber("participants", r.Participants);
        w.WriteNumber("invited", r.Stages.Invited);
        w.WriteNumber("contributors", r.Stages.Contributors);
        w.WriteNumber("dropouts", r.Stages.Dropouts);
        w.WriteNumber("refused", r.Stages.Refused);
        w.WriteNumber("rejected", r.Stages.Rejected);
        w.WritePropertyName("secagg_survivors");
        if (r.Stages.SecureAggregation is { } u)
        {
            w.WriteStartObject();
            w.WriteNumber("u1", u.U1);
            w.WriteNumber("u2", u.U2);
            w.WriteNumber("u3", u.U3);
            w.WriteNumber("u4", u.U4);
            w.WriteNumber("u5", u.U5);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }

        WriteNumberOrNull(w, "effective_noise_multiplier", r.EffectiveNoiseMultiplier);
        WriteEpsilon(w, r.CumulativeEpsilon);
        WriteNumberOrNull(w, "accuracy", r.Accuracy);
        WriteNumberOrNull(w, "examples_evaluated", r.Evaluation?.Examples);
        w.WritePropertyName("evaluation");
        if (r.Evaluation is { } v)
        {
            w.WriteStartObject();
            w.WriteString("model_hash", v.ModelHash);
            w.WriteNumber("examples", v.Examples);
            w.WriteNumber("correct", v.Correct);
            WriteNumberOrNull(w, "loss_sum", v.LossSum);
            WriteNumberOrNull(w, "accuracy", v.Accuracy);
            WriteNumberOrNull(w, "loss", v.Loss);
            w.WriteNumber("contributors", v.Contributors);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }

        WriteReleases(w, r.Releases);
        w.WriteStartArray("record_privacy");
        foreach (var rp in r.RecordPrivacy)
        {
            w.WriteStartObject();
            w.WriteString("silo_id", rp.SiloId);
            w.WriteNumber("noise_multiplier", rp.Spend.NoiseMultiplier);
            w.WriteNumber("sampling_rate", rp.Spend.SamplingRate);
            w.WriteNumber("steps", rp.Spend.Steps);
            w.WriteNumber("delta", rp.Spend.Delta);
            w.WriteString("accountant", rp.Spend.Accountant);
            WriteNumberOrNull(w, "epsilon", rp.Epsilon);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteStringOrNull(w, "study_hash", r.StudyHash);
        WriteStringOrNull(w, "statistics_hash", r.StatisticsHash);
        w.WriteString("model_hash_before", r.ModelHashBefore);
        w.WriteString("model_hash_after", r.ModelHashAfter);
        w.WriteString("plan_hash", r.PlanHash);
        w.WriteString("trace_id", r.TraceId);
        w.WriteEndObject();
    }

    private static void WriteSiloLedgers(Utf8JsonWriter w, AuditReport report)
    {
        w.WriteStartArray("silo_ledgers");
        foreach (var l in report.SiloLedgers)
        {
            w.WriteStartObject();
            w.WriteString("source", l.Source);
            WriteStringOrNull(w, "silo_id", l.SiloId);
            w.WriteString("status", l.Status);
            WriteStringOrNull(w, "problem", l.Problem);
            w.WriteString("reason", l.Verification.Reason);
            WriteNumberOrNull(w, "failed_entry", l.Verification.FailedEntry);
            w.WriteString("head_hash", l.Verification.HeadHash);
            w.WriteNumber("unchained_entries", l.Verification.UnchainedEntries);
            w.WriteStartArray("releases");
            foreach (var r in l.Releases)
            {
                w.WriteStartObject();
                w.WriteNumber("entry", r.Entry);
                w.WriteNumber("round", r.Round);
                w.WriteString("task", r.Task);
                WriteNumberOrNull(w, "noise_multiplier", r.NoiseMultiplier);
                WriteNumberOrNull(w, "epsilon", r.Epsilon);
                WriteNumberOrNull(w, "epsilon_cap", r.EpsilonCap);
                WriteStringOrNull(w, "accountant", r.Accountant);
                WriteNumberOrNull(w, "delta", r.Delta);
                w.WriteString("agreement", r.Agreement.Verdict);
                w.WriteString("agreement_detail", r.Agreement.Detail);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteEpsilon(Utf8JsonWriter w, LedgerEpsilon? epsilon)
    {
        w.WritePropertyName("epsilon");
        if (epsilon is { } e)
        {
            w.WriteStartObject();
            WriteNumberOrNull(w, "rdp", e.Rdp);
            WriteNumberOrNull(w, "exact", e.Exact);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void WriteReleases(Utf8JsonWriter w, IReadOnlyList<ReportRelease> releases, bool withEntry = false)
    {
        w.WriteStartArray("releases");
        foreach (var release in releases)
        {
            w.WriteStartObject();
            if (withEntry)
            {
                w.WriteNumber("sequence", release.Sequence);
                w.WriteNumber("round", release.Round);
                w.WriteNumber("attempt", release.Attempt);
            }

            w.WriteString("task", release.Task);
            WriteNumberOrNull(w, "effective_noise_multiplier", release.EffectiveNoiseMultiplier);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static string Status(RoundStatus status) => status == RoundStatus.Completed ? "completed" : "aborted";

    private static string KindLabel(string kind) => kind switch
    {
        LedgerEntryKinds.Statistics => "federated statistics",
        LedgerEntryKinds.Evaluation => "evaluation only",
        _ => "training",
    };

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "∞" : double.IsNegativeInfinity(value) ? "−∞" : value.ToString("G6", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Short(string hash) => hash.Length > 16 ? hash[..16] + "…" : hash;

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1a1a1a; background: #ffffff; }
        h1 { font-size: 22px; margin: 0 0 12px; word-break: break-all; }
        h2 { font-size: 17px; margin: 24px 0 8px; }
        table { border-collapse: collapse; font-size: 12px; }
        th, td { border: 1px solid #d0d0d0; padding: 3px 6px; text-align: left; vertical-align: top; }
        thead th { background: #f2f2f2; }
        table.kv th { background: #f7f7f7; font-weight: normal; }
        code { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
        .verdict { padding: 8px 12px; border-radius: 4px; font-size: 14px; }
        .verdict.ok { background: #e6f4ea; border: 1px solid #2ca02c; }
        .verdict.bad { background: #fdecea; border: 1px solid #d62728; }
        .verdict.unknown { background: #fff8e1; border: 1px solid #e0a800; }
        .plots { display: flex; flex-wrap: wrap; gap: 16px; }
        figure { margin: 0; border: 1px solid #e0e0e0; }
        #rounds td { font-family: ui-monospace, monospace; white-space: nowrap; }
        .overspent { color: #b00020; font-weight: bold; }
        td.hash { font-family: ui-monospace, monospace; word-break: break-all; overflow-wrap: anywhere; white-space: normal; }
        table.kv { max-width: 100%; }
        tr.agreement-disagrees td { background: #fdecea; }
        tr.kind-statistics td { background: #eef4fb; }
        tr.kind-evaluation td { background: #f3eefb; }
        .scroll { overflow-x: auto; max-width: 100%; }
        footer { margin-top: 24px; font-size: 11px; color: #555555; }

        """;
}
