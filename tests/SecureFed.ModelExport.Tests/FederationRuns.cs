using SecureFed.Hosting;

namespace SecureFed.ModelExport.Tests;

/// <summary>
/// Real federations, one per model kind, each run once for the whole collection by <see cref="FederationSimulation"/>
/// (a coordinator and silo agents over loopback mutual TLS, as <c>securefed simulate</c>): logreg with differential
/// privacy over three silos, mlp and cnn without over two; two rounds each. Tests that tamper copy a run first.
/// </summary>
public sealed class FederationRuns : IDisposable
{
    private readonly TempFolder _root = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Run> _runs = [];

    /// <summary>A finished run: its folder, study file and the silos' data files.</summary>
    public sealed record Run(string Kind, string Folder, string StudyPath, IReadOnlyList<string> SiloFiles);

    public async Task<Run> GetAsync(string kind)
    {
        await _gate.WaitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        try
        {
            if (!_runs.TryGetValue(kind, out var run))
            {
                run = await SimulateAsync(kind);
                _runs[kind] = run;
            }

            return run;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A copy of <paramref name="run"/>'s folder to tamper with.</summary>
    public string Copy(Run run)
    {
        var target = _root.PathOf($"copy-{run.Kind}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(run.Folder))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }

    public void Dispose()
    {
        _gate.Dispose();
        _root.Dispose();
    }

    private async Task<Run> SimulateAsync(string kind)
    {
        var folder = _root.PathOf(kind);
        Directory.CreateDirectory(folder);
        var (study, silos, noise) = kind switch
        {
            "logreg" => (TestData.ClinicStudy(TestData.LogRegModel), Enumerable.Range(0, 3).Select(i => TestData.ClinicCsv(40, 100 + i)).ToArray(), 1.0),
            "mlp" => (TestData.ClinicStudy(TestData.MlpModel), Enumerable.Range(0, 2).Select(i => TestData.ClinicCsv(48, 200 + i)).ToArray(), 0.0),
            "cnn" => (TestData.ImageStudy(16, TestData.CnnModel), Enumerable.Range(0, 2).Select(i => TestData.ImageCsv(16, 4, 40, 300 + i)).ToArray(), 0.0),
            _ => throw new ArgumentException($"no federation of kind {kind}", nameof(kind)),
        };
        var studyPath = Path.Combine(folder, "study.json");
        await File.WriteAllTextAsync(studyPath, study);
        var files = silos.Select((text, i) =>
        {
            var path = Path.Combine(folder, $"silo-{i + 1}.csv");
            File.WriteAllText(path, text);
            return path;
        }).ToArray();
        var run = Path.Combine(folder, "run");
        await FederationSimulation.RunAsync(
            new SimulationOptions
            {
                StudyPath = studyPath,
                SiloData = files,
                OutputDirectory = run,
                Rounds = 0, // the study's two
                NoiseMultiplier = noise,
                Seed = 7,
            }.Validate(),
            null,
            CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        return new Run(kind, run, studyPath, files);
    }
}

/// <summary>The tests that share <see cref="FederationRuns"/> (run one at a time: each simulation uses every core).</summary>
[CollectionDefinition(Name)]
public sealed class FederationCollection : ICollectionFixture<FederationRuns>
{
    public const string Name = "federations";
}
