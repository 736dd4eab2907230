using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// A consortium of real processes on loopback, configured the way the containers are (JSON files, absolute paths, the
/// round count from the environment as compose does): development certificates, one `securefed coordinator` (which
/// can be killed and started again on the same store, ledger and port) and three `securefed agent`s, each with its
/// own hospital file in its own dialect. Owns a temporary folder and every process it starts.
/// </summary>
internal sealed class ProcessConsortium : IDisposable
{
    private static readonly string[] HospitalFiles = ["hospital-a.csv", "hospital-b.csv", "hospital-c.tsv"];
    private readonly List<ChildProcess> _processes = [];
    private string? _coordinatorConfig;
    private Dictionary<string, string>? _coordinatorEnvironment;
    private int _coordinatorStarts;

    public ProcessConsortium()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("securefed-deploy-").FullName;
        Certs = Path.Combine(Directory, "certs");
        Store = Path.Combine(Directory, "coordinator", "federation.db");
        TraceFile = Path.Combine(Directory, "coordinator", "traces.jsonl");
    }

    public static TimeSpan StepTimeout { get; } = TimeSpan.FromSeconds(60);

    public string Directory { get; }

    public string Certs { get; }

    public string Store { get; }

    public string Ledger => Path.ChangeExtension(Store, ".ledger.jsonl");

    /// <summary>The coordinator's spans (every start appends to it).</summary>
    public string TraceFile { get; }

    public int Port { get; } = FreePort();

    public ChildProcess? Coordinator { get; private set; }

    public List<ChildProcess> Agents { get; } = [];

    public string SiloLedger(int silo) => Path.Combine(Directory, $"agent-{silo}", "privacy-ledger.jsonl");

    /// <summary>
    /// Creates the certificates, starts the coordinator on <paramref name="study"/> for <paramref name="rounds"/> rounds
    /// and the first <paramref name="agents"/> of the three agents under <paramref name="policy"/>; <paramref name="extra"/>
    /// adds coordinator keys (privacy, say).
    /// </summary>
    public async Task LaunchAsync(string study, int rounds, JsonObject policy, JsonObject? extra = null, int agents = 3)
    {
        using (var init = Start("certs", null, "certs", "init", "--out", Certs, "--silos", "3"))
        {
            Assert.True(await init.WaitForExitAsync(StepTimeout), init.Transcript());
            Assert.True(init.ExitCode == 0, init.Transcript());
        }

        var coordinator = new JsonObject
        {
            ["FederationId"] = "deployment-test",
            ["ListenAddress"] = "127.0.0.1",
            ["Port"] = Port,
            ["Rounds"] = 10, // overridden by SECUREFED_Coordinator__Rounds, as compose does
            ["MinSilos"] = 2,
            ["TargetSilos"] = 3,
            ["Members"] = new JsonArray("silo-1", "silo-2", "silo-3"),
            // The study only: the coordinator holds no data folder at all.
            ["Study"] = study,
            ["StorePath"] = Store,
            ["Certificate"] = Path.Combine(Certs, "coordinator.pem"),
            ["PrivateKey"] = Path.Combine(Certs, "coordinator.key.pem"),
            ["CaCertificate"] = Path.Combine(Certs, "ca.pem"),
            ["JoinTimeoutSeconds"] = 30, // also the wait for a killed silo before each later round
            ["PlanTimeoutSeconds"] = 30, // also the deadline of the key stages, where the first torch call makes a loaded machine slow
            ["TrainTimeoutSeconds"] = 30,
            ["Aggregation"] = "secure",
        };
        foreach (var (key, value) in extra ?? [])
        {
            coordinator[key] = value?.DeepClone();
        }

        _coordinatorConfig = WriteConfig("coordinator.json", new JsonObject { ["Coordinator"] = coordinator });
        _coordinatorEnvironment = new Dictionary<string, string> { ["SECUREFED_Coordinator__Rounds"] = rounds.ToString(CultureInfo.InvariantCulture) };
        StartCoordinator();
        for (var i = 1; i <= agents; i++)
        {
            Agents.Add(StartAgent($"agent-{i}", i, "deployment-test", policy));
        }
    }

    /// <summary>Starts `securefed agent` for silo <paramref name="silo"/> (its certificate and hospital file) in <paramref name="federationId"/>.</summary>
    public ChildProcess StartAgent(string name, int silo, string federationId, JsonObject policy)
    {
        var config = WriteConfig($"{name}.json", new JsonObject
        {
            ["Agent"] = new JsonObject
            {
                ["Coordinator"] = $"https://localhost:{Port.ToString(CultureInfo.InvariantCulture)}",
                ["FederationId"] = federationId,
                ["Certificate"] = Path.Combine(Certs, $"silo-{silo}.pem"),
                ["PrivateKey"] = Path.Combine(Certs, $"silo-{silo}.key.pem"),
                ["CaCertificate"] = Path.Combine(Certs, "ca.pem"),
                // Each silo its own export, in its own dialect (; + label first, , + NA, tab + BOM + ?).
                ["Data"] = new JsonObject { ["Path"] = RepoPaths.File("data", "hospitals", HospitalFiles[silo - 1]) },
                ["Policy"] = policy.DeepClone(),
                ["LedgerPath"] = Path.Combine(Directory, name, "privacy-ledger.jsonl"),
            },
        });
        return Start(name, null, "agent", "--config", config);
    }

    /// <summary>Starts the coordinator (again) with the same configuration, store, ledger and port.</summary>
    public ChildProcess StartCoordinator()
    {
        Coordinator = Start($"coordinator-{++_coordinatorStarts}", _coordinatorEnvironment, "coordinator", "--config", _coordinatorConfig!, "--trace-file", TraceFile);
        return Coordinator;
    }

    public ChildProcess Start(string name, Dictionary<string, string>? environment, params string[] args)
    {
        var p = ChildProcess.Start(name, LocateCli(), Directory, environment, args);
        _processes.Add(p);
        return p;
    }

    public string Transcripts() => string.Concat(_processes.Select(p => p.Transcript()));

    public void KillAll()
    {
        foreach (var p in _processes)
        {
            p.Kill();
        }
    }

    public void Dispose()
    {
        KillAll();
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
        catch (UnauthorizedAccessException)
        {
            // best effort
        }
    }

    private string WriteConfig(string name, JsonObject content)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, content.ToJsonString());
        return path;
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>securefed.dll copied next to this assembly by the project reference (else the CLI's own output folder).</summary>
    public static string LocateCli()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "securefed.dll");
        if (File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, "securefed.runtimeconfig.json")))
        {
            return beside;
        }

        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent?.Name ?? "Debug";
        var own = RepoPaths.File("src", "SecureFed.Cli", "bin", configuration, "net10.0", "securefed.dll");
        return File.Exists(own) ? own : throw new FileNotFoundException($"securefed.dll is neither in {AppContext.BaseDirectory} nor at {own}");
    }
}
