using System.CommandLine;
using System.Globalization;
using System.Text;
using SecureFed.ModelExport;
using SecureFed.Studies;
using Spectre.Console;

namespace SecureFed.Cli.Commands;

/// <summary>
/// <c>securefed predict</c>: runs an exported model (model.onnx with its model.json) with ONNX Runtime on rows read
/// under the model's study, and writes one CSV line per row: the predicted class, then each class's probability.
/// Exit 0 when written; 1 when a row does not fit the study (the message names file, line, column and value);
/// 2 for missing or unreadable input. Writes to the invocation's Output/Error; progress on an interactive stderr.
/// </summary>
internal static class PredictCommand
{
    private const int BadData = 1;
    private const int BadInput = 2;

    public static Command Build()
    {
        var model = new Option<string>("--model") { Description = "The model.onnx written by securefed model export.", Required = true };
        var card = new Option<string?>("--card") { Description = "Its model card (default: model.json beside --model)." };
        var data = new Option<string>("--data")
        {
            Description = "Rows to predict: CSV (, ; or tab; any column order; a label column is ignored) or Parquet (.parquet).",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "CSV to write: prediction, then p_<class> per class, one line per input row in order (replaced if it exists).",
            Required = true,
        };
        var separator = new Option<string?>("--separator") { Description = "CSV separator of --data: ',' ';' or 'tab'. Default: detected from the header line." };
        separator.AcceptOnlyFromAmong(",", ";", "tab", "\\t");
        var command = new Command(
            "predict",
            "Predict with an exported model: read --data under the model's study (the same dialects and checks as training), build the " +
            "raw input (numbers, NaN when missing, one-hot categories), run ONNX Runtime (the graph imputes and standardizes as the " +
            "federation did) and write class probabilities. Exit 0 when written; 1 naming the first row that does not fit; 2 for unreadable files.")
        {
            model, card, data, output, separator,
        };
        command.SetAction((parse, ct) => Task.FromResult(Predict(
            parse, parse.GetValue(model)!, parse.GetValue(card), parse.GetValue(data)!, parse.GetValue(output)!, parse.GetValue(separator), ct)));
        return command;
    }

    private static int Predict(ParseResult parse, string modelPath, string? cardPath, string dataPath, string outPath, string? separator, CancellationToken ct)
    {
        var error = parse.InvocationConfiguration.Error;
        var text = parse.InvocationConfiguration.Output;
        try
        {
            using var predictor = ModelPredictor.Load(modelPath, cardPath);
            var options = new DataReadOptions { Separator = separator switch { null => null, "tab" or "\\t" => '\t', var s => s[0] } };
            SiloTable table;
            try
            {
                table = SiloTable.ReadFeatures(predictor.Study, dataPath, options);
            }
            catch (DataFormatException ex)
            {
                // A row that does not fit the model's schema is the user's to fix, never guessed: exit 1 naming it.
                error.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")}");
                return BadData;
            }

            ct.ThrowIfCancellationRequested();
            var result = Interactive(parse) && table.RowCount > ModelPredictor.ChunkRows
                ? WithProgress(predictor, table)
                : predictor.Predict(table);
            var full = Path.GetFullPath(outPath);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using (var writer = new StreamWriter(full, append: false, new UTF8Encoding(false)))
            {
                PredictionCsv.Write(writer, result);
            }

            var c = predictor.Card;
            text.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {full}: {result.Rows} rows, classes {string.Join(", ", c.Classes)}"));
            text.WriteLine($"model {c.ModelHash}: {c.Architecture.Description}, study {c.Study} ({c.StudyHash[..12]})");
            // An image study has hundreds of pixel columns: show the first few; model.json lists them all.
            const int Shown = 12;
            var lines = c.DescribePreprocessing().ToList();
            foreach (var line in lines.Take(Shown))
            {
                text.WriteLine($"  {line}");
            }

            if (lines.Count > Shown)
            {
                text.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ... and {lines.Count - Shown} more numeric inputs (model.json \"preprocessing\")"));
            }

            if (c.Inputs.Any(i => i.Category is not null))
            {
                text.WriteLine("  categorical: one-hot over the declared categories; a missing cell sets the feature's missing level");
            }

            return 0;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException
            or UnauthorizedAccessException or IOException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            error.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")}");
            return BadInput;
        }
    }

    /// <summary>True when stderr is this process's own terminal (not a test's writer, not a pipe).</summary>
    private static bool Interactive(ParseResult parse) =>
        ReferenceEquals(parse.InvocationConfiguration.Error, Console.Error) && !Console.IsErrorRedirected;

    private static PredictionResult WithProgress(ModelPredictor predictor, SiloTable table)
    {
        var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return stderr.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var bar = ctx.AddTask("rows", maxValue: table.RowCount);
                return predictor.Predict(table, new Progress(done => bar.Value = done));
            });
    }

    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
