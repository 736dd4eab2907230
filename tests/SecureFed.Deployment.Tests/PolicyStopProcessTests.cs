using System.Text.Json.Nodes;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// A round that can only fail again, where an operator meets it (issue 13): every silo's policy refuses the plan
/// (it asks for a larger cohort than the consortium has), so the coordinator does not burn its retries but stops at
/// once, and both the coordinator and each agent end with a line saying the federation stopped early and why.
/// </summary>
public sealed class PolicyStopProcessTests : IDisposable
{
    private readonly ProcessConsortium _consortium = new();

    [Fact]
    public async Task Every_silo_refusing_by_policy_stops_the_federation_at_once_and_every_process_says_why()
    {
        await _consortium.LaunchAsync(RepoPaths.File("data", "hospitals", "study.json"), 3, new JsonObject { ["MinCohort"] = 10 });
        var coordinator = _consortium.Coordinator!;
        Assert.True(await coordinator.WaitForExitAsync(ProcessConsortium.StepTimeout), _consortium.Transcripts());
        Assert.True(coordinator.ExitCode == 0, _consortium.Transcripts());
        var final = Assert.Single(coordinator.Stdout.Split('\n'), l => l.StartsWith("federation complete:", StringComparison.Ordinal));
        Assert.Contains("0 rounds", final, StringComparison.Ordinal);
        Assert.Contains("; stopped early: ", final, StringComparison.Ordinal);
        Assert.Contains("silo-1", final, StringComparison.Ordinal);
        foreach (var agent in _consortium.Agents)
        {
            Assert.True(await agent.WaitForExitAsync(ProcessConsortium.StepTimeout), _consortium.Transcripts());
            Assert.True(agent.ExitCode == 0, _consortium.Transcripts());
            Assert.Contains("; stopped early: ", agent.Stdout, StringComparison.Ordinal);
        }

        // Stopped at once: the first round (the study's federated statistics, round 0) has one attempt in the signed
        // ledger, refused by all three, not MaxConsecutiveAborts of them, and no round follows it.
        var entry = Assert.Single(Audit.AuditLedger.Read(_consortium.Ledger));
        Assert.Equal(Audit.RoundStatus.Aborted, entry.Status);
        Assert.Equal(3, entry.Stages.Refused);
    }

    public void Dispose() => _consortium.Dispose();
}
