using SecureFed.Hosting;

namespace SecureFed.Federation.Tests;

/// <summary>simulation.json: what a resumed `simulate --out` reads back and compares (issue 13).</summary>
public sealed class SimulationRecordTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "securefed-record-tests", Guid.NewGuid().ToString("N"));

    public SimulationRecordTests() => Directory.CreateDirectory(_out);

    [Fact]
    public void Read_WrittenRecord_GivesTheSameFederationWithAbsolutePaths()
    {
        var options = new SimulationOptions
        {
            OutputDirectory = _out, Silos = 3, Rounds = 7, Seed = 9, NoiseMultiplier = 1.1, Separator = '\t',
            StudyPath = "study.json", SiloData = ["a.csv", "b.csv"], PlanTimeout = TimeSpan.FromSeconds(5),
        };

        new SimulationRecord(SimulationRecord.Interrupted, options).Write();
        var read = SimulationRecord.Read(_out)!;

        Assert.True(read.Resumable);
        Assert.Null(read.Difference(options));
        Assert.Equal(Path.GetFullPath("study.json"), read.Options.StudyPath);
        Assert.Equal(Path.GetFullPath("b.csv"), read.Options.SiloData[1]);
        Assert.Equal('\t', read.Options.Separator);
        Assert.Equal(TimeSpan.FromSeconds(5), read.Options.PlanTimeout);
    }

    [Theory]
    [InlineData("rounds", "--rounds is 8, the interrupted run used 7")]
    [InlineData("noise", "--noise-multiplier is 0.5, the interrupted run used 1.1")]
    [InlineData("separator", "--separator is (none), the interrupted run used tab")]
    public void Difference_AnOptionChanged_NamesItAndBothValues(string change, string expected)
    {
        var options = new SimulationOptions { OutputDirectory = _out, Rounds = 7, NoiseMultiplier = 1.1, Separator = '\t' };
        var record = new SimulationRecord(SimulationRecord.Interrupted, options);
        var given = change switch
        {
            "rounds" => options with { Rounds = 8 },
            "noise" => options with { NoiseMultiplier = 0.5 },
            _ => options with { Separator = null },
        };

        Assert.Equal(expected, record.Difference(given));
    }

    [Fact]
    public void Read_CompletedRecord_IsNotResumable()
    {
        new SimulationRecord(SimulationRecord.Completed, new SimulationOptions { OutputDirectory = _out }).Write();

        Assert.False(SimulationRecord.Read(_out)!.Resumable);
    }

    [Fact]
    public void Read_NotARecord_NamesTheFile()
    {
        File.WriteAllText(Path.Combine(_out, SimulationRecord.FileName), "{\"status\": 3");

        var error = Assert.Throws<InvalidDataException>(() => SimulationRecord.Read(_out));

        Assert.Contains(Path.Combine(_out, SimulationRecord.FileName), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NoRecord_IsNull() => Assert.Null(SimulationRecord.Read(_out));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_out, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
