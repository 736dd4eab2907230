using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SecureFed.Hosting;

/// <summary>
/// <c>simulation.json</c> in a simulation's output folder: the options the federation there was started with and
/// whether it is running, interrupted or completed. It lets <c>simulate --out DIR</c> resume an interrupted run with
/// the same options (read back, or given again and compared) and refuse a completed one.
/// </summary>
public sealed record SimulationRecord(string Status, SimulationOptions Options)
{
    /// <summary>File name inside the output folder.</summary>
    public const string FileName = "simulation.json";

    /// <summary>The run is under way (or was killed without a chance to say otherwise: resumable as interrupted).</summary>
    public const string Running = "running";

    /// <summary>The run was stopped by a signal; resumable.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>The run finished (all rounds, or the budget or the abort limit stopped it); not resumable.</summary>
    public const string Completed = "completed";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// What makes two runs the same federation, by the CLI option (or, for settings only tests set, property) name, in
    /// the invariant culture; paths compared in full.
    /// </summary>
    private static readonly (string Name, Func<SimulationOptions, string> Value)[] Settings =
    [
        ("--dataset", o => o.Dataset),
        ("--silos", o => Text(o.Silos)),
        ("--rounds", o => Text(o.Rounds)),
        ("--study", o => FullPath(o.StudyPath)),
        ("--silo-data", o => string.Join(" ", o.SiloData.Select(f => FullPath(f)))),
        ("--separator", o => o.Separator is { } c ? (c == '\t' ? "tab" : c.ToString()) : ""),
        ("--partition", o => o.Partition),
        ("--seed", o => Text(o.Seed)),
        ("--model", o => o.Model ?? ""),
        ("--data-dir", o => FullPath(o.DataDirectory)),
        ("--noise-multiplier", o => Text(o.NoiseMultiplier)),
        ("--clip", o => Text(o.ClipNorm)),
        ("--delta", o => Text(o.Delta)),
        ("--epsilon-budget", o => Text(o.EpsilonBudget)),
        ("--accountant", o => o.Accountant),
        ("--mechanism", o => o.Mechanism),
        ("--colluding", o => Text(o.Colluding)),
        ("--aggregation", o => o.Aggregation),
        ("--ring-bits", o => Text(o.RingBits)),
        ("--dropout", o => Text(o.Dropout)),
        ("DataFile", o => FullPath(o.DataFile)),
        ("PlanTimeout", o => o.PlanTimeout.ToString("c", CultureInfo.InvariantCulture)),
        ("TrainTimeout", o => o.TrainTimeout.ToString("c", CultureInfo.InvariantCulture)),
        ("SiloEpsilonCap", o => Text(o.SiloEpsilonCap)),
        ("StrictSilos", o => string.Join(",", o.StrictSilos)),
    ];

    /// <summary>Whether a simulation may resume from this record (not completed).</summary>
    public bool Resumable => Status != Completed;

    /// <summary>The record in <paramref name="outputDirectory"/>, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The file is not a simulation record; the message names it.</exception>
    public static SimulationRecord? Read(string outputDirectory)
    {
        var path = Path.Combine(Path.GetFullPath(outputDirectory), FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var status = (string?)node["status"] ?? throw new InvalidDataException("no \"status\"");
            var options = node["options"].Deserialize<SimulationOptions>(Json) ?? throw new InvalidDataException("no \"options\"");
            return new SimulationRecord(status, options);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path} is not a simulation record ({ex.Message}); choose another --out");
        }
    }

    /// <summary>Writes (replaces) the record in its options' output folder.</summary>
    public void Write()
    {
        var path = Path.Combine(Path.GetFullPath(Options.OutputDirectory), FileName);
        var json = new JsonObject
        {
            ["status"] = Status,
            ["options"] = JsonSerializer.SerializeToNode(Absolute(Options), Json),
        };
        File.WriteAllText(path + ".tmp", json.ToJsonString(Json));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>
    /// The first setting in which <paramref name="given"/> differs from the recorded options, as one phrase naming the
    /// option and both values; null when they describe the same federation.
    /// </summary>
    public string? Difference(SimulationOptions given)
    {
        ArgumentNullException.ThrowIfNull(given);
        foreach (var (name, value) in Settings)
        {
            var was = value(Options);
            var now = value(given);
            if (!string.Equals(was, now, StringComparison.Ordinal))
            {
                return $"{name} is {Shown(now)}, the interrupted run used {Shown(was)}";
            }
        }

        return null;
    }

    /// <summary>The options with every path made absolute, so a resume from another working folder reads the same files.</summary>
    private static SimulationOptions Absolute(SimulationOptions o) => o with
    {
        OutputDirectory = Path.GetFullPath(o.OutputDirectory),
        StudyPath = NullablePath(o.StudyPath),
        SiloData = [.. o.SiloData.Select(Path.GetFullPath)],
        DataDirectory = NullablePath(o.DataDirectory),
        DataFile = NullablePath(o.DataFile),
        TraceFile = NullablePath(o.TraceFile),
    };

    private static string? NullablePath(string? path) => string.IsNullOrEmpty(path) ? path : Path.GetFullPath(path);

    private static string Shown(string value) => value.Length == 0 ? "(none)" : value;

    private static string Text(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);

    private static string FullPath(string? path) => string.IsNullOrEmpty(path) ? "" : Path.GetFullPath(path);
}
