using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SecureFed.Deployment.Tests;

/// <summary>
/// The join timeout where a user meets it (issue 13, item 2): `securefed coordinator` with `JoinTimeoutSeconds` waits
/// that long for its silos and no longer, then stops with one line naming the option, exit code 1.
/// </summary>
public sealed class JoinTimeoutProcessTests : IDisposable
{
    private readonly ProcessConsortium _consortium = new();

    [Fact]
    public async Task Coordinator_FewerThanMinSilosWithinJoinTimeoutSeconds_ExitsOneWithOneLineNamingTheOption()
    {
        var clock = Stopwatch.StartNew();
        await _consortium.LaunchAsync(
            RepoPaths.File("data", "hospitals", "study.json"), 1, new JsonObject(), new JsonObject { ["JoinTimeoutSeconds"] = 3 }, agents: 1);
        var coordinator = _consortium.Coordinator!;

        Assert.True(await coordinator.WaitForExitAsync(TimeSpan.FromSeconds(90)), _consortium.Transcripts());

        // No hidden wait: it used to be at least ten minutes whatever JoinTimeoutSeconds said.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), _consortium.Transcripts());
        Assert.Equal(1, coordinator.ExitCode);
        var errors = coordinator.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.DoesNotContain(errors, l => l.StartsWith("at ", StringComparison.Ordinal));
        var line = Assert.Single(errors, l => l.StartsWith("error:", StringComparison.Ordinal));
        // One agent was started, but it may still be loading when the join timeout ends.
        Assert.Matches(@"only [01] of the 2 silos a round needs \(MinSilos\) connected within the join timeout of 3 s \(JoinTimeoutSeconds\)", line);
    }

    public void Dispose() => _consortium.Dispose();
}
