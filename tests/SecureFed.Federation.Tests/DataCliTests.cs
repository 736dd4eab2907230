using System.CommandLine;
using System.Text;
using System.Text.Json;
using SecureFed.Cli;

namespace SecureFed.Federation.Tests;

/// <summary>
/// <c>securefed data check</c> through the CLI's command tree, with real study and data files in a temporary folder;
/// output is captured through the invocation's own writers.
/// </summary>
public sealed class DataCliTests : IDisposable
{
    private const string StudyJson = """
        {
          "study": "readmission-2026",
          "label": { "column": "readmitted", "classes": ["no", "yes"] },
          "features": [
            { "column": "age", "type": "numeric" },
            { "column": "ward", "type": "categorical", "categories": ["north", "south", "east"] }
          ],
          "model": { "kind": "logreg" },
          "rounds": 30,
          "evaluation": { "holdout": 0.2 }
        }
        """;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-datacli-" + Guid.NewGuid().ToString("N"));

    public DataCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task DataCheck_GoodFile_ExitsZeroWithCountsInJson()
    {
        var study = Write("study.json", StudyJson);
        var data = Write("silo.csv", "id;readmitted;age;ward\r\n1;no;34;north\r\n2;yes;NA;south\r\n3;yes;50;\r\n");

        var run = await RunAsync("data", "check", "--study", study, "--data", data, "--separator", ";", "--json");

        Assert.Equal(0, run.Code);
        Assert.Equal("", run.Error);
        using var json = JsonDocument.Parse(run.Output.Trim());
        var root = json.RootElement;
        Assert.Equal("readmission-2026", root.GetProperty("study").GetString());
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("study_hash").GetString());
        Assert.Equal(data, root.GetProperty("file").GetString());
        Assert.Equal(3, root.GetProperty("rows").GetInt32());
        Assert.Equal(1, root.GetProperty("missing").GetProperty("age").GetInt32());
        Assert.Equal(1, root.GetProperty("missing").GetProperty("ward").GetInt32());
        Assert.Equal(1, root.GetProperty("labels").GetProperty("no").GetInt32());
        Assert.Equal(2, root.GetProperty("labels").GetProperty("yes").GetInt32());
    }

    [Fact]
    public async Task DataCheck_GoodFile_PrintsTable()
    {
        var study = Write("study.json", StudyJson);
        var data = Write("silo.csv", "readmitted,age,ward\nno,34,north\n");

        var run = await RunAsync("data", "check", "--study", study, "--data", data);

        Assert.Equal(0, run.Code);
        Assert.Contains("readmission-2026", run.Output, StringComparison.Ordinal);
        Assert.Contains("ward", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataCheck_BadFile_ExitsOneNamingLineAndColumn()
    {
        var study = Write("study.json", StudyJson);
        var data = Write("silo.csv", "readmitted,note,age,ward\nno,\"two\nlines\",34,north\nyes,ok,\"1,5\",south\n");

        var run = await RunAsync("data", "check", "--study", study, "--data", data);

        Assert.Equal(1, run.Code);
        Assert.Equal("", run.Output);
        var error = run.Error.Trim();
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains("line 4", error, StringComparison.Ordinal);
        Assert.Contains("column \"age\"", error, StringComparison.Ordinal);
        Assert.Contains("value \"1,5\"", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataCheck_BadStudy_ExitsOneNamingKeyPath()
    {
        var study = Write("study.json", StudyJson.Replace("\"categories\"", "\"catgories\"", StringComparison.Ordinal));
        var data = Write("silo.csv", "readmitted,age,ward\nno,34,north\n");

        var run = await RunAsync("data", "check", "--study", study, "--data", data);

        Assert.Equal(1, run.Code);
        Assert.Contains("features[1].catgories", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void DataCheck_EveryOptionHasHelpText()
    {
        var check = Program.BuildRoot().Subcommands.Single(c => c.Name == "data").Subcommands.Single(c => c.Name == "check");

        Assert.All(check.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal)), o => Assert.False(string.IsNullOrWhiteSpace(o.Description)));
        Assert.Contains(check.Options, o => o.Name == "--separator");
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
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
