using System.CommandLine;
using System.Globalization;
using System.Text;
using SecureFed.Cli;
using SecureFed.Coordinator;
using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.ModelExport.Tests;

/// <summary>
/// <c>securefed model export</c> and <c>securefed predict</c> through the CLI's command tree (in-process, output
/// captured through the invocation's writers), on real federations.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class ModelCliTests(FederationRuns runs) : IDisposable
{
    private readonly TempFolder _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task ModelExport_RunFolder_WritesModelAndCard()
    {
        var run = await runs.GetAsync("mlp");
        var output = _files.PathOf("export");

        var result = await RunAsync("model", "export", "--run", run.Folder, "--out", output);

        Assert.Equal(0, result.Code);
        Assert.Equal("", result.Error);
        var card = ModelCard.Load(Path.Combine(output, "model.json"));
        Assert.True(File.Exists(Path.Combine(output, "model.onnx")));
        Assert.Contains($"model {card.ModelHash}", result.Output, StringComparison.Ordinal);
        Assert.Contains($"ledger head {card.LedgerHeadHash}", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelExport_StoreWithLedgerAndCertificates_WritesTheSameModel()
    {
        var run = await runs.GetAsync("mlp");
        var fromRun = _files.PathOf("from-run");
        var fromStore = _files.PathOf("from-store");
        Assert.Equal(0, (await RunAsync("model", "export", "--run", run.Folder, "--out", fromRun)).Code);

        var result = await RunAsync(
            "model", "export", "--store", Path.Combine(run.Folder, "federation.db"), "--ledger", Path.Combine(run.Folder, "federation.ledger.jsonl"),
            "--coordinator-cert", Path.Combine(run.Folder, "coordinator.pem"), "--ca", Path.Combine(run.Folder, "ca.pem"), "--out", fromStore);

        Assert.Equal(0, result.Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(fromRun, "model.onnx")), File.ReadAllBytes(Path.Combine(fromStore, "model.onnx")));
    }

    [Fact]
    public async Task ModelExport_LedgerCutShort_ExitsOneWithOneLineNamingTheLedgerHead()
    {
        var copy = runs.Copy(await runs.GetAsync("mlp"));
        var ledger = Path.Combine(copy, "federation.ledger.jsonl");
        await File.WriteAllLinesAsync(ledger, (await File.ReadAllLinesAsync(ledger))[..^1]);
        var output = _files.PathOf("export");

        var result = await RunAsync("model", "export", "--run", copy, "--out", output);

        Assert.Equal(1, result.Code);
        Assert.Equal("", result.Output);
        var line = Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("error: export refused: ledger head differs from the store", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFiles(output).Any());
    }

    [Fact]
    public async Task ModelExport_StoreModelEditedInPlace_ExitsOneWithOneLineNamingTheDamagedRow()
    {
        var copy = runs.Copy(await runs.GetAsync("mlp"));
        ExportTests.ReplaceLatestModel(Path.Combine(copy, "federation.db"));

        var result = await RunAsync("model", "export", "--run", copy, "--out", _files.PathOf("export"));

        Assert.Equal(1, result.Code);
        var line = Assert.Single(result.Error.TrimEnd().Split('\n'));
        // The edited row no longer matches its row hash: refused as a damaged store, naming the model version.
        Assert.StartsWith("error: export refused: store ", line, StringComparison.Ordinal);
        Assert.Contains("is corrupt: table model_versions, row version=", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelExport_RunAndStoreTogether_ExitsTwo()
    {
        var run = await runs.GetAsync("mlp");

        var result = await RunAsync("model", "export", "--run", run.Folder, "--store", Path.Combine(run.Folder, "federation.db"), "--out", _files.PathOf("x"));

        Assert.Equal(2, result.Code);
        Assert.StartsWith("error: give either --run", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelExport_MissingRunFolder_ExitsTwoNamingIt()
    {
        var missing = _files.PathOf("no-such-run");

        var result = await RunAsync("model", "export", "--run", missing, "--out", _files.PathOf("x"));

        Assert.Equal(2, result.Code);
        Assert.Contains(missing, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_OtherDialectAndColumnOrder_WritesTheSameOutput()
    {
        var run = await runs.GetAsync("logreg");
        var model = await ExportAsync(run);
        var original = run.SiloFiles[0];
        var redialected = _files.Write("redialected.csv", Redialect(await File.ReadAllTextAsync(original)), new UTF8Encoding(true));

        var first = await RunAsync("predict", "--model", model, "--data", original, "--out", _files.PathOf("a.csv"));
        var second = await RunAsync("predict", "--model", model, "--data", redialected, "--out", _files.PathOf("b.csv"));

        Assert.Equal(0, first.Code);
        Assert.Equal(0, second.Code);
        var expected = await File.ReadAllTextAsync(_files.PathOf("a.csv"));
        Assert.Equal(expected, await File.ReadAllTextAsync(_files.PathOf("b.csv")));
        var lines = expected.TrimEnd('\n').Split('\n');
        Assert.Equal("prediction,p_no,p_yes,\"p_maybe, later\"", lines[0]);
        Assert.Equal(SiloTable.Read(Study.Load(run.StudyPath), original).RowCount, lines.Length - 1);
    }

    [Fact]
    public async Task Predict_Output_IsTheModelsProbabilitiesRowByRow()
    {
        var run = await runs.GetAsync("logreg");
        var model = await ExportAsync(run);
        var data = run.SiloFiles[1];

        var result = await RunAsync("predict", "--model", model, "--data", data, "--out", _files.PathOf("p.csv"));

        Assert.Equal(0, result.Code);
        Assert.Contains("age: (x - ", result.Output, StringComparison.Ordinal);
        var card = ModelCard.Load(Path.Combine(Path.GetDirectoryName(model)!, "model.json"));
        var study = Study.Load(run.StudyPath);
        var store = FederationStore.Open(Path.Combine(run.Folder, "federation.db"), card.FederationId);
        var table = SiloTable.Read(study, data);
        var encoder = new StudyEncoder(study, FeatureStatistics.FromSum(study, FeatureStatistics.PostProcess(study, store.Statistics()!.Value.Vector)));
        var torch = Evaluator.Probabilities(Hosting.ModelMapping.SpecOf(study), store.LatestModel()!.Parameters, encoder.Encode(table), table.RowCount);
        var rows = ParseCsv(await File.ReadAllTextAsync(_files.PathOf("p.csv"))).Skip(1).ToList();
        Assert.Equal(table.RowCount, rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            var p = rows[r].Skip(1).Select(x => float.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            for (var c = 0; c < p.Length; c++)
            {
                Assert.InRange(Math.Abs(p[c] - torch[(r * p.Length) + c]), 0, 1e-5);
            }

            Assert.Equal(study.Label.Classes[Array.IndexOf(p, p.Max())], rows[r][0]);
        }
    }

    [Fact]
    public async Task Predict_UnknownCategory_ExitsOneNamingFileLineColumnAndValue()
    {
        var run = await runs.GetAsync("logreg");
        var model = await ExportAsync(run);
        var data = _files.Write("rows.csv", "age,ward,dose\n34,north,1.5\n40,West,2\n");
        var output = _files.PathOf("p.csv");

        var result = await RunAsync("predict", "--model", model, "--data", data, "--out", output);

        Assert.Equal(1, result.Code);
        var line = Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.Contains(data, line, StringComparison.Ordinal);
        Assert.Contains("line 3", line, StringComparison.Ordinal);
        Assert.Contains("column \"ward\"", line, StringComparison.Ordinal);
        Assert.Contains("value \"West\"", line, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Predict_NonNumericCell_ExitsOneNamingIt()
    {
        var run = await runs.GetAsync("logreg");
        var model = await ExportAsync(run);
        var data = _files.Write("rows.csv", "age;ward;dose\n34;north;1,5\n");

        var result = await RunAsync("predict", "--model", model, "--data", data, "--out", _files.PathOf("p.csv"));

        Assert.Equal(1, result.Code);
        Assert.Contains("column \"dose\", value \"1,5\"", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_CardOfAnotherModel_ExitsTwo()
    {
        var model = await ExportAsync(await runs.GetAsync("logreg"));
        var other = await ExportAsync(await runs.GetAsync("mlp"));

        var result = await RunAsync(
            "predict", "--model", model, "--card", Path.Combine(Path.GetDirectoryName(other)!, "model.json"), "--data", (await runs.GetAsync("logreg")).SiloFiles[0], "--out", _files.PathOf("p.csv"));

        Assert.Equal(2, result.Code);
        Assert.Contains("does not describe", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_EveryOptionOfModelExportAndPredict_HasADescription()
    {
        var root = Program.BuildRoot();
        var export = root.Subcommands.Single(c => c.Name == "model").Subcommands.Single(c => c.Name == "export");
        var predict = root.Subcommands.Single(c => c.Name == "predict");

        foreach (var command in new[] { export, predict })
        {
            Assert.False(string.IsNullOrWhiteSpace(command.Description));
            Assert.NotEmpty(command.Options);
            Assert.All(command.Options, o => Assert.False(string.IsNullOrWhiteSpace(o.Description), $"{command.Name} {o.Name}"));
        }

        Assert.Equal(["--run", "--store", "--ledger", "--coordinator-cert", "--ca", "--summary", "--ledger-head", "--out"], export.Options.Select(o => o.Name));
        Assert.Equal(["--model", "--card", "--data", "--out", "--separator"], predict.Options.Select(o => o.Name));
    }

    /// <summary>Exports <paramref name="run"/> into a fresh folder and returns the model.onnx path.</summary>
    private async Task<string> ExportAsync(FederationRuns.Run run)
    {
        var folder = _files.PathOf("export-" + run.Kind);
        if (!File.Exists(Path.Combine(folder, "model.onnx")))
        {
            var result = await RunAsync("model", "export", "--run", run.Folder, "--out", folder);
            Assert.Equal(0, result.Code);
        }

        return Path.Combine(folder, "model.onnx");
    }

    /// <summary>The same rows as ';'-separated CRLF text, every field quoted, the columns shuffled, the label dropped and a note added.</summary>
    private static string Redialect(string csv)
    {
        var rows = ParseCsv(csv);
        var header = rows[0];
        int[] order = [Array.IndexOf(header, "dose"), Array.IndexOf(header, "ward"), -1, Array.IndexOf(header, "age")];
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            var fields = order.Select(i => i < 0 ? (row == header ? "note" : "x;y") : row[i]);
            text.Append(string.Join(';', fields.Select(f => "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""))).Append("\r\n");
        }

        return text.ToString();
    }

    /// <summary>A minimal RFC 4180 reader for the tests' own comma-separated files.</summary>
    private static List<string[]> ParseCsv(string csv)
    {
        var rows = new List<string[]>();
        foreach (var line in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = new List<string>();
            var field = new StringBuilder();
            var quoted = false;
            for (var i = 0; i < line.Length; i++)
            {
                var ch = line[i];
                if (quoted && ch == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = !quoted;
                }
                else if (ch == ',' && !quoted)
                {
                    fields.Add(field.ToString());
                    field.Clear();
                }
                else
                {
                    field.Append(ch);
                }
            }

            fields.Add(field.ToString());
            rows.Add([.. fields]);
        }

        return rows;
    }

    private static async Task<Run> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.BuildRoot().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return new Run(code, output.ToString(), error.ToString());
    }

    private sealed record Run(int Code, string Output, string Error);
}
