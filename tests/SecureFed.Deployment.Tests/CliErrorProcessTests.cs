using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// What a person meets when something is wrong, through the real `securefed` process: one line naming the file, the
/// key and the fix; exit 2 for bad usage or configuration, 1 for a failure while running, 0 for done; no stack trace
/// and no wall of help. And what each agent process prints about its own data, metrics and epsilon.
/// </summary>
public sealed class CliErrorProcessTests : IDisposable
{
    private static readonly TimeSpan StepTimeout = ProcessConsortium.StepTimeout;
    private readonly ProcessConsortium _consortium = new();

    [Fact]
    public async Task Coordinator_ConfigWithMistypedKey_NamesFileKeySuggestionAndValidKeys_ExitsTwo()
    {
        var config = Write("typo.json", """{ "Coordinator": { "Rounds": 3, "JoinTimeoutSecond": 60 } }""");

        var p = await RunAsync(null, "coordinator", "--config", config);

        Assert.True(p.ExitCode == 2, p.Transcript());
        var line = SingleErrorLine(p);
        Assert.Contains($"{config}: unknown key \"Coordinator:JoinTimeoutSecond\"; did you mean \"JoinTimeoutSeconds\"?", line, StringComparison.Ordinal);
        Assert.Contains("valid keys: FederationId, ListenAddress, Port,", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agent_ConfigWithMistypedNestedKey_NamesTheSectionsKeys_ExitsTwo()
    {
        var config = Write("agent.json", """{ "Agent": { "Policy": { "EpsilonCapp": 3 } } }""");

        var p = await RunAsync(null, "agent", "--config", config);

        Assert.True(p.ExitCode == 2, p.Transcript());
        var line = SingleErrorLine(p);
        Assert.Contains("unknown key \"Agent:Policy:EpsilonCapp\"; did you mean \"EpsilonCap\"?", line, StringComparison.Ordinal);
        Assert.Contains("MinNoiseMultiplier", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Coordinator_ConfigNotJson_NamesTheLineAndReason_ExitsTwo()
    {
        var config = Write("broken.json", "{\n  \"Coordinator\": {\n    \"Rounds\": 3\n    \"Port\": 7443\n  }\n}\n");

        var p = await RunAsync(null, "coordinator", "--config", config);

        Assert.True(p.ExitCode == 2, p.Transcript());
        var line = SingleErrorLine(p);
        Assert.Contains($"{config} line 4", line, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", line, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber:", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Coordinator_ValueOfWrongTypeInFileOrVariable_NamesKeyAndType_ExitsTwo()
    {
        var config = Write("typed.json", """{ "Coordinator": { "Rounds": "five" } }""");
        var fromFile = await RunAsync(null, "coordinator", "--config", config);
        Assert.True(fromFile.ExitCode == 2, fromFile.Transcript());
        Assert.Contains($"{config}: key \"Coordinator:Rounds\" = 'five' is not a whole number", SingleErrorLine(fromFile), StringComparison.Ordinal);

        var fine = Write("fine.json", """{ "Coordinator": { "Rounds": 3 } }""");
        var variables = new Dictionary<string, string> { ["SECUREFED_Coordinator__ClipNorm"] = "1,5" };
        var fromVariable = await RunAsync(variables, "coordinator", "--config", fine);
        Assert.True(fromVariable.ExitCode == 2, fromVariable.Transcript());
        Assert.Contains("environment variable SECUREFED_Coordinator__ClipNorm: key \"Coordinator:ClipNorm\" = '1,5' is not a number", SingleErrorLine(fromVariable), StringComparison.Ordinal);

        var mistyped = new Dictionary<string, string> { ["SECUREFED_Coordinator__Limits__MaxConections"] = "10" };
        var unknownVariable = await RunAsync(mistyped, "coordinator", "--config", fine);
        Assert.True(unknownVariable.ExitCode == 2, unknownVariable.Transcript());
        Assert.Contains(
            "environment variable SECUREFED_Coordinator__Limits__MaxConections: unknown key \"Coordinator:Limits:MaxConections\"; did you mean \"MaxConnections\"?",
            SingleErrorLine(unknownVariable), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Coordinator_PortInUse_OneLineNamingPortAndOption_ExitsOne()
    {
        var certs = Path.Combine(_consortium.Directory, "certs");
        var init = await RunAsync(null, "certs", "init", "--out", certs, "--silos", "1");
        Assert.True(init.ExitCode == 0, init.Transcript());
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var config = Write("coordinator.json", new JsonObject
        {
            ["Coordinator"] = new JsonObject
            {
                ["FederationId"] = "port-test",
                ["Port"] = port,
                ["Study"] = RepoPaths.File("data", "hospitals", "study.json"),
                ["StorePath"] = Path.Combine(_consortium.Directory, "coordinator", "federation.db"),
                ["Certificate"] = Path.Combine(certs, "coordinator.pem"),
                ["PrivateKey"] = Path.Combine(certs, "coordinator.key.pem"),
                ["CaCertificate"] = Path.Combine(certs, "ca.pem"),
            },
        }.ToJsonString());

        var p = await RunAsync(null, "coordinator", "--config", config);

        Assert.True(p.ExitCode == 1, p.Transcript());
        var line = SingleErrorLine(p);
        Assert.Contains($"port {port.ToString(CultureInfo.InvariantCulture)} on 127.0.0.1 is in use; change Coordinator:Port", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", p.Stdout + p.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting failed to start", p.Stdout + p.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulate --silos many", "securefed simulate --help")]
    [InlineData("simulat", "securefed --help")]
    [InlineData("coordinator", "securefed coordinator --help")]
    [InlineData("certs init --silos", "securefed certs init --help")]
    public async Task ParseError_PrintsTheErrorAndWhereHelpIs_NotTheWholeHelp_ExitsTwo(string args, string hint)
    {
        var p = await RunAsync(null, args.Split(' '));

        Assert.True(p.ExitCode == 2, p.Transcript());
        Assert.Contains($"see `{hint}`", p.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Options:", p.Stdout + p.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", p.Stdout + p.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExitsZero_AndAMissingInputFileExitsTwoWithoutATrace()
    {
        var help = await RunAsync(null, "simulate", "--help");
        Assert.True(help.ExitCode == 0, help.Transcript());
        Assert.Contains("Usage:", help.Stdout, StringComparison.Ordinal);

        var missing = Path.Combine(_consortium.Directory, "nowhere.json");
        var p = await RunAsync(null, "coordinator", "--config", missing);
        Assert.True(p.ExitCode == 2, p.Transcript());
        Assert.Contains($"configuration file {missing} does not exist", SingleErrorLine(p), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agents_PrintRowsLoadedAndUsed_LocalMetrics_AndEpsilonAgainstCap_EveryRound()
    {
        const int rounds = 2;
        try
        {
            await _consortium.LaunchAsync(
                RepoPaths.File("data", "hospitals", "study.json"), rounds, new JsonObject { ["MinCohort"] = 2, ["EpsilonCap"] = 1000.0 },
                new JsonObject { ["NoiseMultiplier"] = 1.0, ["ClipNorm"] = 1.0, ["StatisticsClipNorm"] = 1000.0, ["EvaluationClipNorm"] = 1000.0 });
            var coordinator = _consortium.Coordinator!;
            Assert.True(await coordinator.WaitForExitAsync(TimeSpan.FromSeconds(240)), _consortium.Transcripts());
            Assert.True(coordinator.ExitCode == 0, _consortium.Transcripts());
            string[] files = ["hospital-a.csv", "hospital-b.csv", "hospital-c.tsv"];
            for (var i = 0; i < 3; i++)
            {
                var agent = _consortium.Agents[i];
                Assert.True(await agent.WaitForExitAsync(StepTimeout), _consortium.Transcripts());
                Assert.True(agent.ExitCode == 0, agent.Transcript());
                var file = RepoPaths.File("data", "hospitals", files[i]);
                var read = Regex.Match(agent.Stdout, $@"This silo's data: (\d+) rows read from {Regex.Escape(file)} for study ");
                Assert.True(read.Success, agent.Transcript());
                var used = Regex.Match(agent.Stdout, @"This silo's data: of (\d+) rows, (\d+) used for training and (\d+) held out for evaluation");
                Assert.True(used.Success, agent.Transcript());
                var rows = int.Parse(read.Groups[1].Value, CultureInfo.InvariantCulture);
                Assert.InRange(rows, 100, 1000);
                Assert.Equal(rows, int.Parse(used.Groups[1].Value, CultureInfo.InvariantCulture));
                Assert.Equal(rows, int.Parse(used.Groups[2].Value, CultureInfo.InvariantCulture) + int.Parse(used.Groups[3].Value, CultureInfo.InvariantCulture));
                Assert.Contains($"trained locally on {used.Groups[2].Value} rows", agent.Stdout, StringComparison.Ordinal);
                Assert.Contains($"on {used.Groups[3].Value} rows (local, before any noise", agent.Stdout, StringComparison.Ordinal);
                for (var round = 1; round <= rounds; round++)
                {
                    Assert.Contains($"Round {round}: trained locally on ", agent.Stdout, StringComparison.Ordinal);
                    Assert.Contains($"Round {round}: this silo's held-out rows: accuracy ", agent.Stdout, StringComparison.Ordinal);
                    Assert.Contains($"Round {round} done: this silo's epsilon ", agent.Stdout, StringComparison.Ordinal);
                }

                // The last epsilon it prints is what its own ledger holds, against the cap of its own policy.
                var epsilon = new SecureFed.Agent.SiloPrivacyLedger(_consortium.SiloLedger(i + 1)).Epsilon(SecureFed.Privacy.AccountantKind.Rdp, 1e-5);
                var printed = Regex.Matches(agent.Stdout, @"Round \d+ done: this silo's epsilon (\S+) at delta 1E-05 \(rdp, its own ledger\), cap 1000").Last();
                Assert.True(epsilon > 0, agent.Transcript());
                Assert.Equal(epsilon.ToString("F4", CultureInfo.InvariantCulture), printed.Groups[1].Value);
            }
        }
        finally
        {
            _consortium.KillAll();
        }
    }

    public void Dispose() => _consortium.Dispose();

    private static string SingleErrorLine(ChildProcess p)
    {
        var lines = p.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, p.Transcript());
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        return lines[0];
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_consortium.Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private async Task<ChildProcess> RunAsync(Dictionary<string, string>? environment, params string[] args)
    {
        var p = _consortium.Start(string.Join(' ', args.Take(2)), environment, args);
        Assert.True(await p.WaitForExitAsync(StepTimeout), p.Transcript());
        return p;
    }
}
