using SecureFed.Agent;
using SecureFed.Audit;
using SecureFed.Coordinator;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>The coordinator's graph and mask PRG options over real streams: SecAgg+ releases what the complete graph
/// releases, AES-256 masks release what AES-128 masks release, and the plan says which ran.</summary>
public sealed class SecAggGraphFederationTests
{
    private const int Silos = 6;

    [Fact]
    public async Task SecureRound_GraphForcedToHarary_SameModelAsCompleteGraphAndPlanSaysHarary()
    {
        var (complete, completePlans, _) = await RunAsync(new SecAggGraphOptions(SecureAggregationPlan.CompleteGraph));
        // γ = δ = 0 sizes the graph at its smallest, k = 2 (each silo masks with 2 of its 5 peers), t_N = 2 of 3.
        var (harary, hararyPlans, ledger) = await RunAsync(new SecAggGraphOptions(SecureAggregationPlan.HararyGraph, 0, 0));

        Assert.All(completePlans, p => Assert.Equal(SecureAggregationPlan.CompleteGraph, p.SecureAggregation!.Graph));
        Assert.All(hararyPlans, p =>
        {
            Assert.Equal(SecureAggregationPlan.HararyGraph, p.SecureAggregation!.Graph);
            Assert.Equal(2, p.SecureAggregation.GraphDegree);
            Assert.Equal(2, p.SecureAggregation.NeighbourhoodThreshold);
            Assert.Matches("^[0-9a-f]{64}$", p.SecureAggregation.GraphSeed);
        });

        // Both rounds' plans carry the federation's one seed, so every silo keeps its neighbours; the signed ledger
        // names exactly those plans (the graph is in the plan hash).
        Assert.Equal(2, hararyPlans.Count);
        Assert.Single(hararyPlans.Select(p => p.SecureAggregation!.GraphSeed).Distinct());
        var neighbourhoods = hararyPlans.Select(p => string.Join(";", p.Participants.Select(
            s => string.Join(",", Protocol.SecureAggregation.SecAggParameters.Create(
                p.FederationId, 1, p.Participants, 4, graph: p.SecureAggregation!.ToGraph()).NeighbourhoodOf(s))))).ToList();
        Assert.Equal(neighbourhoods[0], neighbourhoods[1]);
        var training = ledger.Where(e => e.Status == RoundStatus.Completed).ToList();
        Assert.Equal(hararyPlans.Select(p => p.ComputeHash()).Order(), training.Select(e => e.PlanHash).Order());
        Assert.All(training, e => Assert.Equal("secure", e.Aggregation));

        // Both released the mean of the same deltas; each silo's stochastic rounding (scale 2^16) is the only difference.
        Assert.Equal(complete.Length, harary.Length);
        for (var j = 0; j < complete.Length; j++)
        {
            Assert.True(Math.Abs(complete[j] - harary[j]) < 1e-4, $"coordinate {j}: complete {complete[j]}, harary {harary[j]}");
            Assert.True(Math.Abs(harary[j] - ExpectedAfterTwoRounds(j)) < 1e-4, $"coordinate {j}: {harary[j]}, expected {ExpectedAfterTwoRounds(j)}");
        }
    }

    [Fact]
    public void Options_UnknownGraphOrBoundsOutOfRange_ErrorNamesTheKey()
    {
        var mode = Assert.Throws<ArgumentException>(() => new SecAggGraphOptions("ring").Validate());
        Assert.Contains("SecAggGraph = 'ring'", mode.Message, StringComparison.Ordinal);
        var bounds = Assert.Throws<ArgumentException>(() => new SecAggGraphOptions(SecAggGraphOptions.Auto, 0.6, 0.5).Validate());
        Assert.Contains("SecAggCorruption = 0.6", bounds.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CoordinatorConfig_GraphKeys_BindToTheOptionsAndDefaultToAuto()
    {
        var path = Path.Combine(Path.GetTempPath(), $"securefed-graph-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """{ "Coordinator": { "SecAggGraph": "Harary", "SecAggCorruption": 0.02, "SecAggDropout": 0.2 } }""");
            Assert.Equal(new SecAggGraphOptions("harary", 0.02, 0.2), Hosting.CoordinatorConfig.Load(path).ToGraphOptions());
            File.WriteAllText(path, """{ "Coordinator": { "SecAggGraph": "ring" } }""");
            var error = Assert.Throws<ArgumentException>(() => Hosting.CoordinatorConfig.Load(path).ToGraphOptions());
            Assert.Contains("SecAggGraph = 'ring'", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(SecAggGraphOptions.Default, new Hosting.CoordinatorConfig().ToGraphOptions());
    }

    [Fact]
    public void Apply_AutoBelowAndFrom256Silos_CompleteThenHarary()
    {
        var template = new SecureAggregationPlan(32, 16, 16.0, Threshold: 10);
        Assert.Equal(SecureAggregationPlan.CompleteGraph, SecAggGraphOptions.Default.Apply(template, 255, null).Graph);
        var plus = SecAggGraphOptions.Default.Apply(template, 300, null);
        Assert.Equal((SecureAggregationPlan.HararyGraph, 120, 77), (plus.Graph, plus.GraphDegree, plus.NeighbourhoodThreshold));

        // The privacy plan's colluding silos raise the corruption bound when they exceed it: a larger neighbourhood.
        var privacy = new PrivacyPlan(1.0, 1.0, 201, 24, "gaussian", "rdp", 1e-5, 0);
        Assert.Equal(180, SecAggGraphOptions.Default.Apply(template, 300, privacy).GraphDegree); // γ = 24/300 = 8%
    }

    [Fact]
    public void Apply_FederationSeed_FixesTheRingAcrossRoundsAndMembershipChanges()
    {
        var template = new SecureAggregationPlan(32, 16, 16.0, Threshold: 10);
        var seed = SecAggGraphOptions.NewFederationSeed();
        var first = SecAggGraphOptions.Default.Apply(template, 300, null, seed);
        var again = SecAggGraphOptions.Default.Apply(template, 299, null, seed);
        Assert.Equal(Convert.ToHexStringLower(seed), first.GraphSeed);
        Assert.Equal(first.GraphSeed, again.GraphSeed);

        // Without a federation seed each plan draws its own.
        Assert.NotEqual(SecAggGraphOptions.Default.Apply(template, 300, null).GraphSeed, SecAggGraphOptions.Default.Apply(template, 300, null).GraphSeed);
        Assert.Throws<ArgumentException>(() => SecAggGraphOptions.Default.Apply(template, 300, null, new byte[31]));
    }

    [Fact]
    public async Task SecureRound_Aes256Masks_SameModelAsTheAes128DefaultAndPlanSaysWhich()
    {
        var (aes128, plans128, _) = await RunAsync(SecAggGraphOptions.Default);
        var (aes256, plans256, ledger) = await RunAsync(SecAggGraphOptions.Default, new SecureAggregationPlan(32, 16, 16.0, MaskPrg: Crypto.MaskPrgs.Aes256Ctr));
        Assert.All(plans128, p => Assert.Equal(Crypto.MaskPrgs.Aes128Ctr, p.SecureAggregation!.MaskPrg));
        Assert.All(plans256, p => Assert.Equal(Crypto.MaskPrgs.Aes256Ctr, p.SecureAggregation!.MaskPrg));
        var training = ledger.Where(e => e.Status == RoundStatus.Completed).ToList();
        Assert.Equal(plans256.Select(p => p.ComputeHash()).Order(), training.Select(e => e.PlanHash).Order());
        for (var j = 0; j < aes128.Length; j++)
        {
            Assert.True(Math.Abs(aes128[j] - ExpectedAfterTwoRounds(j)) < 1e-4, $"coordinate {j}: aes-128 {aes128[j]}, expected {ExpectedAfterTwoRounds(j)}");
            Assert.True(Math.Abs(aes256[j] - ExpectedAfterTwoRounds(j)) < 1e-4, $"coordinate {j}: aes-256 {aes256[j]}, expected {ExpectedAfterTwoRounds(j)}");
        }
    }

    [Fact]
    public void PlanOnTheWire_MaskPrgRoundTrips_AndAnEmptyFieldMeansAes256()
    {
        var plan = new RoundPlan(
            "fed", 3, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
            ["a", "b", "c"], DateTimeOffset.FromUnixTimeMilliseconds(1000), null, new SecureAggregationPlan(32, 16, 16.0, 2));
        var header = Contracts.DomainMapping.Header("fed", 3, Stage.Plan);
        var wire = Contracts.DomainMapping.ToWire(plan);
        Assert.Equal(Crypto.MaskPrgs.Aes128Ctr, wire.SecureAggregation.MaskPrg);
        var back = Contracts.DomainMapping.FromWire(header, wire);
        Assert.Equal(Crypto.MaskPrgs.Aes128Ctr, back.SecureAggregation!.MaskPrg);
        Assert.Equal(plan.ComputeHash(), back.ComputeHash());

        // A coordinator from before the field sends none: that plan was on AES-256.
        var legacy = plan with { SecureAggregation = plan.SecureAggregation! with { MaskPrg = Crypto.MaskPrgs.Aes256Ctr } };
        var legacyWire = Contracts.DomainMapping.ToWire(legacy);
        Assert.Equal("", legacyWire.SecureAggregation.MaskPrg);
        Assert.Equal(legacy.ComputeHash(), Contracts.DomainMapping.FromWire(header, legacyWire).ComputeHash());

        // A newer coordinator's PRG is refused with a hint, not expanded with the wrong one.
        wire.SecureAggregation.MaskPrg = "aes-512-ctr";
        var ex = Assert.Throws<ProtocolViolationException>(() => Contracts.DomainMapping.FromWire(header, wire));
        Assert.Contains("'aes-512-ctr'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade this agent", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CoordinatorConfig_SecAggMaskPrg_BindsToThePlanAndDefaultsToAes128()
    {
        var path = Path.Combine(Path.GetTempPath(), $"securefed-prg-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """{ "Coordinator": { "SecAggMaskPrg": "AES-256-CTR" } }""");
            Assert.Equal(Crypto.MaskPrgs.Aes256Ctr, Hosting.CoordinatorConfig.Load(path).ToMaskPrg());
            File.WriteAllText(path, """{ "Coordinator": { "SecAggMaskPrg": "des" } }""");
            var error = Assert.Throws<ArgumentException>(() => Hosting.CoordinatorConfig.Load(path).ToMaskPrg());
            Assert.Contains("SecAggMaskPrg = 'des'", error.Message, StringComparison.Ordinal);
            Assert.Contains("aes-128-ctr or aes-256-ctr", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(Crypto.MaskPrgs.Aes128Ctr, new Hosting.CoordinatorConfig().ToMaskPrg());
    }

    private static float Delta(int silo, int coordinate) => (0.125f * silo) + (0.01f * coordinate);

    private static double ExpectedAfterTwoRounds(int coordinate) =>
        2 * Enumerable.Range(1, Silos).Average(s => (double)Delta(s, coordinate));

    private static async Task<(float[] Model, List<RoundPlan> Plans, IReadOnlyList<LedgerEntry> Ledger)> RunAsync(
        SecAggGraphOptions graph, SecureAggregationPlan? template = null)
    {
        await using var fed = new TestFederation(Silos);
        var plans = new List<RoundPlan>();
        var options = fed.Options(rounds: 2, minSilos: Silos) with
        {
            SecureAggregation = template ?? new SecureAggregationPlan(32, 16, 16.0),
            SecureAggregationGraph = graph,
        };
        var coordinator = await fed.StartCoordinatorAsync(options);
        for (var i = 1; i <= Silos; i++)
        {
            fed.StartAgent($"silo-{i}", new PlanRecordingTrainer(i, plans));
        }

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        Assert.Equal(2, outcome.RoundsCompleted);
        Assert.All(outcome.Rounds, r => Assert.Equal(Silos, r.Contributors));
        var model = coordinator.Store.LatestModel()!.Parameters;
        var distinct = plans.DistinctBy(p => p.ComputeHash()).ToList();
        return (model, distinct, AuditLedger.Read(coordinator.LedgerPath));
    }

    /// <summary>Returns delta(silo, j) and keeps every plan it was asked to train under.</summary>
    private sealed class PlanRecordingTrainer(int silo, List<RoundPlan> plans) : ILocalTrainer
    {
        public string Dataset => "fake";

        public Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
        {
            lock (plans)
            {
                plans.Add(plan);
            }

            return Task.FromResult(new LocalUpdate([.. Enumerable.Range(0, globalParameters.Length).Select(j => Delta(silo, j))], 10));
        }
    }
}
