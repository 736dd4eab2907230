using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SecureFed.Studies;
using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed data check</c>: validates a silo's local data file against a study without contacting anyone, and
/// prints what the silo would contribute (rows, missing cells, label counts). Writes to the invocation's Output/Error.
/// </summary>
internal static class DataCommand
{
    /// <summary>Exit code for a data or study file that does not fit (the user fixes the file).</summary>
    private const int BadData = 1;

    public static Command Build()
    {
        var data = new Command("data", "Work with a silo's local data file: check it against a study before a run.");
        data.Subcommands.Add(BuildCheck());
        return data;
    }

    private static Command BuildCheck()
    {
        var study = new Option<string>("--study") { Description = "Study file (JSON: label, features, model, rounds, evaluation).", Required = true };
        var file = new Option<string>("--data") { Description = "The silo's data file: CSV (any extension) or Parquet (.parquet).", Required = true };
        var separator = new Option<string?>("--separator")
        {
            Description = "CSV separator: ',' ';' or 'tab'. Default: detected from the header line.",
        };
        separator.AcceptOnlyFromAmong(",", ";", "tab", "\\t");
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout instead of a table." };
        var command = new Command("check", "Validate --data against --study locally (nothing is sent): exit 0 with rows, missing cells and label counts, or exit 1 naming the first bad line and column.")
        {
            study, file, separator, json,
        };
        command.SetAction((parse, _) => CliErrors.RunAsync(() =>
        {
            var options = new DataReadOptions { Separator = ParseSeparator(parse.GetValue(separator)) };
            Study loaded;
            SiloTable table;
            try
            {
                loaded = Study.Load(parse.GetValue(study)!);
                table = SiloTable.Read(loaded, parse.GetValue(file)!, options);
            }
            catch (Exception ex) when (ex is DataFormatException or StudyFormatException)
            {
                // Caught here, before CliErrors (which maps FormatException to 2): a file that does not fit is exit 1.
                parse.InvocationConfiguration.Error.WriteLine($"error: {ex.Message}");
                return Task.FromResult(BadData);
            }

            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(ToJson(loaded, table));
            }
            else
            {
                Render(output, loaded, table);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static char? ParseSeparator(string? value) => value switch
    {
        null => null,
        "tab" or "\\t" => '\t',
        "," => ',',
        ";" => ';',
        _ => throw new ArgumentException($"--separator {value} is invalid: use ',', ';' or tab"),
    };

    private static string ToJson(Study study, SiloTable table)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("study", study.Name);
            w.WriteString("study_hash", study.Hash);
            w.WriteString("file", table.Source);
            w.WriteNumber("rows", table.RowCount);
            w.WriteStartObject("missing");
            for (var f = 0; f < study.Features.Count; f++)
            {
                w.WriteNumber(study.Features[f].Column, table.MissingCounts[f]);
            }

            w.WriteEndObject();
            w.WriteStartObject("labels");
            for (var c = 0; c < study.ClassCount; c++)
            {
                w.WriteNumber(study.Label.Classes[c], table.LabelCounts[c]);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Render(TextWriter output, Study study, SiloTable table)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        // Plain lines, not Spectre markup: a hash or a long path must not be wrapped at the console width.
        output.WriteLine($"study {study.Name}");
        output.WriteLine($"study hash {study.Hash}");
        output.WriteLine($"file {table.Source}");
        output.WriteLine($"rows {table.RowCount.ToString(CultureInfo.InvariantCulture)}");
        var columns = new Table().AddColumn("column").AddColumn("type").AddColumn(new TableColumn("missing").RightAligned());
        for (var f = 0; f < study.Features.Count; f++)
        {
            var feature = study.Features[f];
            columns.AddRow(Markup.Escape(feature.Column), feature.Type == FeatureType.Numeric ? "numeric" : "categorical", table.MissingCounts[f].ToString(CultureInfo.InvariantCulture));
        }

        console.Write(columns);
        var labels = new Table().AddColumn($"label {Markup.Escape(study.Label.Column)}").AddColumn(new TableColumn("rows").RightAligned());
        for (var c = 0; c < study.ClassCount; c++)
        {
            labels.AddRow(Markup.Escape(study.Label.Classes[c]), table.LabelCounts[c].ToString(CultureInfo.InvariantCulture));
        }

        console.Write(labels);
    }
}
