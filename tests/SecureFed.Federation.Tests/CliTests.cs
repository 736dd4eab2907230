using System.CommandLine;
using SecureFed.Cli;
using SecureFed.Identity;

namespace SecureFed.Federation.Tests;

/// <summary>The command tree: help text everywhere, argument validation, certs init.</summary>
public sealed class CliTests
{
    private static IEnumerable<Command> AllCommands(Command c) => new[] { c }.Concat(c.Subcommands.SelectMany(AllCommands));

    [Fact]
    public void Root_EveryCommandAndOption_HasHelpText()
    {
        var root = Program.BuildRoot();
        var commands = AllCommands(root).ToList();

        Assert.Contains(commands, c => c.Name == "simulate");
        Assert.Contains(commands, c => c.Name == "coordinator");
        Assert.Contains(commands, c => c.Name == "agent");
        Assert.Contains(commands, c => c.Name == "init");
        Assert.All(commands, c => Assert.False(string.IsNullOrWhiteSpace(c.Description), $"command {c.Name} has no description"));
        Assert.All(commands.SelectMany(c => c.Options).Where(o => o.Name is not ("--help" or "--version") && !o.Hidden),
            o => Assert.False(string.IsNullOrWhiteSpace(o.Description), $"option {o.Name} has no description"));
    }

    [Theory]
    [InlineData("simulate", "--dataset", "mnist")]
    [InlineData("simulate", "--model", "resnet")]
    [InlineData("simulate", "--silos", "many")]
    [InlineData("coordinator")]
    [InlineData("agent")]
    public void Parse_BadArguments_ReportsErrors(params string[] args)
    {
        var result = Program.BuildRoot().Parse(args);

        Assert.NotEmpty(result.Errors);
    }

    [Theory]
    [InlineData("0", "--silos 0 is invalid")]
    [InlineData("1000", "--silos 1000 is invalid")]
    public async Task Simulate_SilosOutOfRange_ExitsWithCodeTwo(string silos, string message)
    {
        var error = new StringWriter();
        var saved = Console.Error;
        int code;
        try
        {
            Console.SetError(error);
            code = await Program.BuildRoot().Parse(["simulate", "--silos", silos, "--out", Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))]).InvokeAsync();
        }
        finally
        {
            Console.SetError(saved);
        }

        Assert.Equal(2, code);
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CertsInit_ThreeSilos_WritesUsableConsortiumMaterial()
    {
        var dir = Path.Combine(Path.GetTempPath(), "securefed-certs-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var code = await Program.BuildRoot().Parse(["certs", "init", "--out", dir, "--silos", "3"]).InvokeAsync();

            Assert.Equal(0, code);
            using var root = CertificateStore.LoadCertificate(Path.Combine(dir, "ca.pem"));
            using var coordinator = CertificateStore.LoadCertificateWithKey(Path.Combine(dir, "coordinator.pem"), Path.Combine(dir, "coordinator.key.pem"));
            var validator = new PeerCertificateValidator(root, TimeProvider.System);
            Assert.True(validator.ValidateCoordinator(coordinator).IsValid);
            for (var i = 1; i <= 3; i++)
            {
                using var silo = CertificateStore.LoadCertificateWithKey(Path.Combine(dir, $"silo-{i}.pem"), Path.Combine(dir, $"silo-{i}.key.pem"));
                var result = validator.ValidateSilo(silo);
                Assert.True(result.IsValid, result.Message);
                Assert.Equal($"silo-{i}", result.SiloId!.Value);
            }

            var again = await Program.BuildRoot().Parse(["certs", "init", "--out", dir, "--silos", "3"]).InvokeAsync();
            Assert.NotEqual(0, again); // refuses to overwrite without --force
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
