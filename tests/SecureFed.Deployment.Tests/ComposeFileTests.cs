using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// deploy/compose.yaml, parsed (no Docker daemon here): the services, what each one mounts, and that the configuration
/// it mounts matches the mounts.
/// </summary>
public sealed class ComposeFileTests
{
    private static readonly string[] SecureFedServices = ["coordinator", "silo-1", "silo-2", "silo-3"];

    private readonly YamlMappingNode _services;
    private readonly YamlMappingNode _root;

    public ComposeFileTests()
    {
        _root = LoadYaml(RepoPaths.File("deploy", "compose.yaml"));
        _services = (YamlMappingNode)_root["services"];
    }

    [Fact]
    public void Has_a_coordinator_three_silos_a_collector_and_a_trace_viewer()
    {
        var names = _services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
        Assert.True(names.Count >= 5, $"services: {string.Join(", ", names)}");
        Assert.Contains("coordinator", names);
        Assert.Equal(["silo-1", "silo-2", "silo-3"], names.Where(n => n.StartsWith("silo-", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Contains(names, n => Image(n).StartsWith("otel/opentelemetry-collector", StringComparison.Ordinal));
        Assert.Contains(names, n => Image(n).StartsWith("jaegertracing/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_securefed_services_run_the_image_with_the_right_command()
    {
        Assert.Equal(["coordinator", "--config", "/etc/securefed/coordinator.json"], Sequence(Service("coordinator"), "command"));
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(["agent", "--config", $"/etc/securefed/silo-{i}.json"], Sequence(Service($"silo-{i}"), "command"));
        }

        foreach (var name in SecureFedServices)
        {
            Assert.Equal("securefed:dev", Image(name));
            var build = (YamlMappingNode)Service(name)["build"];
            Assert.Equal("..", Scalar(build, "context"));
            Assert.Equal("Dockerfile", Scalar(build, "dockerfile"));
        }
    }

    [Fact]
    public void Every_silo_mounts_only_its_own_key_and_certificate_read_only()
    {
        for (var i = 1; i <= 3; i++)
        {
            var mounts = Mounts($"silo-{i}");
            var keys = mounts.Where(m => m.Source.EndsWith(".key.pem", StringComparison.Ordinal)).ToList();
            var key = Assert.Single(keys);
            Assert.Equal($"../certs-dev/silo-{i}.key.pem", key.Source);
            Assert.True(key.ReadOnly, $"silo-{i}: its key must be mounted :ro");
            Assert.DoesNotContain(mounts, m => m.Source.Contains("certs-dev", StringComparison.Ordinal)
                && m.Source is not "../certs-dev/ca.pem" && !m.Source.StartsWith($"../certs-dev/silo-{i}.", StringComparison.Ordinal));
            Assert.All(mounts.Where(m => m.Source.Contains("certs-dev", StringComparison.Ordinal)), m => Assert.True(m.ReadOnly, m.Raw));
        }

        var coordinatorKeys = Mounts("coordinator").Where(m => m.Source.EndsWith(".key.pem", StringComparison.Ordinal)).ToList();
        Assert.Equal("../certs-dev/coordinator.key.pem", Assert.Single(coordinatorKeys).Source);

        // The CA's key never leaves the machine that minted the certificates.
        foreach (var name in _services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!))
        {
            Assert.DoesNotContain(Mounts(name), m => m.Source.Contains("ca.key", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_securefed_services_have_a_read_only_root_a_tmpfs_and_export_traces_to_the_collector()
    {
        foreach (var name in SecureFedServices)
        {
            var service = Service(name);
            Assert.Equal("true", Scalar(service, "read_only"));
            Assert.Contains("/tmp", Sequence(service, "tmpfs"));
            var env = Environment(service);
            Assert.Equal("http://otel-collector:4317", env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
            Assert.Contains("otel-collector", Sequence(service, "depends_on"));
        }
    }

    [Fact]
    public void State_volumes_are_named_declared_and_distinct_per_service()
    {
        var declared = ((YamlMappingNode)_root["volumes"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet(StringComparer.Ordinal);
        var stateVolumes = new List<string>();
        foreach (var name in SecureFedServices)
        {
            var state = Assert.Single(Mounts(name), m => m.Target == "/var/lib/securefed");
            Assert.False(state.ReadOnly);
            Assert.Contains(state.Source, declared);
            stateVolumes.Add(state.Source);
        }

        Assert.Equal(stateVolumes.Count, stateVolumes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Each_mounted_configuration_names_only_files_mounted_into_its_service()
    {
        foreach (var name in SecureFedServices)
        {
            var mounts = Mounts(name);
            var configPath = Sequence(Service(name), "command")[2];
            var config = Assert.Single(mounts, m => m.Target == configPath);
            Assert.True(config.ReadOnly);
            var file = Path.GetFullPath(Path.Combine(RepoPaths.File("deploy"), config.Source));
            Assert.True(System.IO.File.Exists(file), file);

            using var json = JsonDocument.Parse(System.IO.File.ReadAllText(file));
            var section = json.RootElement.GetProperty(name == "coordinator" ? "Coordinator" : "Agent");
            var targets = mounts.Select(m => m.Target).ToHashSet(StringComparer.Ordinal);
            foreach (var option in new[] { "Certificate", "PrivateKey", "CaCertificate" })
            {
                Assert.Contains(section.GetProperty(option).GetString()!, targets);
            }

            // The demo's study and each silo's own export ship in the image (a real silo mounts its own file there).
            var data = name == "coordinator" ? section.GetProperty("Study").GetString()! : section.GetProperty("Data").GetProperty("Path").GetString()!;
            Assert.StartsWith("/usr/share/securefed/data/hospitals/", data, StringComparison.Ordinal);
            Assert.True(System.IO.File.Exists(RepoPaths.File("data", "hospitals", Path.GetFileName(data))), data);
            var state = name == "coordinator" ? section.GetProperty("StorePath").GetString()! : section.GetProperty("LedgerPath").GetString()!;
            Assert.StartsWith("/var/lib/securefed/", state, StringComparison.Ordinal);

            if (name == "coordinator")
            {
                Assert.Equal("0.0.0.0", section.GetProperty("ListenAddress").GetString());
                Assert.Equal(3, section.GetProperty("TargetSilos").GetInt32());
            }
            else
            {
                Assert.Equal("https://coordinator:7443", section.GetProperty("Coordinator").GetString());
                // Each silo its own export: silo-1 hospital-a, silo-2 hospital-b, silo-3 hospital-c.
                var letter = (char)('a' + int.Parse(name["silo-".Length..], System.Globalization.CultureInfo.InvariantCulture) - 1);
                Assert.StartsWith($"hospital-{letter}.", Path.GetFileName(data), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void The_coordinator_publishes_its_port_and_jaeger_its_ui()
    {
        Assert.Contains("7443:7443", Sequence(Service("coordinator"), "ports"));
        var jaeger = _services.Children.First(kv => Image(((YamlScalarNode)kv.Key).Value!).StartsWith("jaegertracing/", StringComparison.Ordinal)).Value;
        Assert.Contains("16686:16686", Sequence((YamlMappingNode)jaeger, "ports"));
    }

    [Fact]
    public void The_collector_receives_otlp_and_exports_traces_to_jaeger()
    {
        var collector = Service("otel-collector");
        var mount = Assert.Single(Mounts("otel-collector"));
        Assert.Equal("./otel-collector.yaml", mount.Source);
        Assert.Contains(Sequence(collector, "command"), c => c.EndsWith(mount.Target, StringComparison.Ordinal));

        var config = LoadYaml(RepoPaths.File("deploy", "otel-collector.yaml"));
        var grpc = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)config["receivers"])["otlp"])["protocols"])["grpc"];
        Assert.Equal("0.0.0.0:4317", Scalar(grpc, "endpoint"));
        var exporters = (YamlMappingNode)config["exporters"];
        var jaeger = (YamlMappingNode)exporters["otlp/jaeger"];
        Assert.Equal("jaeger:4317", Scalar(jaeger, "endpoint"));
        var traces = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)config["service"])["pipelines"])["traces"];
        Assert.Contains("otlp", Sequence(traces, "receivers"));
        Assert.Contains("otlp/jaeger", Sequence(traces, "exporters"));
        Assert.All(Sequence(traces, "exporters"), e => Assert.True(exporters.Children.ContainsKey(new YamlScalarNode(e)), e));
    }

    internal static YamlMappingNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private YamlMappingNode Service(string name) => (YamlMappingNode)_services[name];

    private string Image(string name) => Service(name).Children.TryGetValue(new YamlScalarNode("image"), out var image) ? ((YamlScalarNode)image).Value ?? "" : "";

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value ?? "";

    private static List<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value)
            ? ((YamlSequenceNode)value).Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToList()
            : [];

    private static Dictionary<string, string> Environment(YamlMappingNode service)
    {
        var env = service["environment"];
        return env switch
        {
            YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? "", StringComparer.Ordinal),
            YamlSequenceNode list => list.Children.Select(c => ((YamlScalarNode)c).Value!.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal),
            _ => throw new InvalidDataException("environment must be a mapping or a list"),
        };
    }

    private List<Mount> Mounts(string name) => Sequence(Service(name), "volumes").Select(Mount.Parse).ToList();

    private sealed record Mount(string Raw, string Source, string Target, bool ReadOnly)
    {
        public static Mount Parse(string raw)
        {
            var parts = raw.Split(':');
            return parts.Length switch
            {
                2 => new Mount(raw, parts[0], parts[1], false),
                3 => new Mount(raw, parts[0], parts[1], parts[2].Split(',').Contains("ro")),
                _ => throw new InvalidDataException($"volume '{raw}' is not SOURCE:TARGET[:MODE]"),
            };
        }
    }
}
