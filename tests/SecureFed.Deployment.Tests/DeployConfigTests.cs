using SecureFed.Hosting;

namespace SecureFed.Deployment.Tests;

/// <summary>deploy/config/*.json bind with the CLI's own loader (which refuses unknown options).</summary>
public sealed class DeployConfigTests
{
    [Fact]
    public void The_coordinator_file_binds_and_listens_on_all_interfaces()
    {
        var config = CoordinatorConfig.Load(RepoPaths.File("deploy", "config", "coordinator.json"));
        Assert.Equal("0.0.0.0", config.ListenAddress);
        Assert.Equal(7443, config.Port);
        Assert.Equal("/var/lib/securefed/federation.db", config.StorePath);
        Assert.Equal("/etc/securefed/certs/coordinator.key.pem", config.PrivateKey);
        Assert.Equal("secure", config.Aggregation);
        Assert.Equal(["silo-1", "silo-2", "silo-3"], config.Members);
        Assert.Equal(3, config.TargetSilos);
        Assert.Equal("/usr/share/securefed/data/hospitals/study.json", config.Study);
    }

    [Fact]
    public void MaxConsecutiveAborts_IsAConfigKeyOfTheCoordinator()
    {
        var dir = Directory.CreateTempSubdirectory("securefed-config-").FullName;
        try
        {
            var path = Path.Combine(dir, "coordinator.json");
            File.WriteAllText(path, """{ "Coordinator": { "FederationId": "f", "MaxConsecutiveAborts": 7 } }""");
            Assert.Equal(7, CoordinatorConfig.Load(path).MaxConsecutiveAborts);
            Assert.Equal(3, CoordinatorConfig.Load(RepoPaths.File("deploy", "config", "coordinator.json")).MaxConsecutiveAborts);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Each_silo_file_binds_and_names_its_own_key(int silo)
    {
        var config = AgentConfig.Load(RepoPaths.File("deploy", "config", $"silo-{silo}.json"));
        Assert.Equal("https://coordinator:7443", config.Coordinator);
        Assert.StartsWith("/usr/share/securefed/data/hospitals/hospital-", config.Data.Path, StringComparison.Ordinal);
        Assert.Equal($"/etc/securefed/certs/silo-{silo}.pem", config.Certificate);
        Assert.Equal($"/etc/securefed/certs/silo-{silo}.key.pem", config.PrivateKey);
        Assert.Equal("/var/lib/securefed/privacy-ledger.jsonl", config.LedgerPath);
        Assert.Equal("demo-consortium", config.FederationId);
    }
}
