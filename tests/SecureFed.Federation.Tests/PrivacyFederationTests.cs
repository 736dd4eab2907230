using SecureFed.Agent;
using SecureFed.Crypto;
using SecureFed.Privacy;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>Differential privacy across the federation: noise, the consortium's budget, a silo's own cap, restarts.</summary>
public sealed class PrivacyFederationTests
{
    /// <summary>Central DP needs secure aggregation: the charges these tests check are of the sum, not of one silo.</summary>
    private static readonly SecureAggregationPlan Secure = new();

    private static PrivacyPlan Plan(double z, int threshold, double budget = 0, string mechanism = "gaussian", string accountant = "rdp") =>
        new(ClipNorm: 1.0, NoiseMultiplier: z, Threshold: threshold, Colluding: 0, Mechanism: mechanism, Accountant: accountant, Delta: 1e-5, EpsilonBudget: budget);

    /// <summary>|s²/σ² − 1| bound for N normal draws at about 1e-6 failure probability (normal approximation of χ²).</summary>
    private static double VarianceTolerance(int n) => 5.0 * Math.Sqrt(2.0 / n);

    private static double SampleVariance(IReadOnlyList<double> xs)
    {
        var mean = xs.Average();
        return xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1);
    }

    [Theory]
    [InlineData("gaussian")]
    [InlineData("discrete-gaussian")]
    public void Privatizer_SumOfThresholdSilos_NoiseStdMatchesCentralNoise(string mechanism)
    {
        const int d = 20_000;
        var plan = Plan(z: 1.3, threshold: 4, mechanism: mechanism);
        using var rng = new DeterministicRandomSource(7);
        var sum = new double[d];
        for (var silo = 0; silo < plan.Threshold; silo++)
        {
            var noised = UpdatePrivatizer.Apply(new float[d], plan, rng);
            for (var i = 0; i < d; i++)
            {
                sum[i] += noised[i];
            }
        }

        var ratio = SampleVariance(sum) / (plan.NoiseMultiplier * plan.ClipNorm * plan.NoiseMultiplier * plan.ClipNorm);
        Assert.InRange(ratio, 1 - VarianceTolerance(d), 1 + VarianceTolerance(d));
    }

    [Fact]
    public void Privatizer_LargeDelta_ClippedBeforeNoise()
    {
        var plan = Plan(z: 1e-6, threshold: 1);
        var delta = Enumerable.Repeat(10f, 100).ToArray();

        var noised = UpdatePrivatizer.Apply(delta, plan, new DeterministicRandomSource(3));

        Assert.InRange(L2Clipper.Norm(noised), 0.999, 1.001);
        Assert.All(delta, v => Assert.Equal(10f, v)); // the caller's delta is not modified
    }

    [Fact]
    public async Task Federation_ZeroDeltas_AggregateNoiseStdMatchesZTimesC()
    {
        await using var fed = new TestFederation(3, parameters: 3000);
        var options = fed.Options(rounds: 1, minSilos: 3) with { Privacy = Plan(z: 2.0, threshold: 3), MaxChunkFloats = 1024 };
        var coordinator = await fed.StartCoordinatorAsync(options);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0f));
        }

        await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        // The model moved by the mean of three noised zero deltas: times three, that is the released sum,
        // whose noise is sqrt(3) * zC/sqrt(t) = zC with t = 3.
        var model = coordinator.Store.LatestModel()!.Parameters.Select(p => 3.0 * p).ToList();
        var ratio = SampleVariance(model) / 4.0;
        Assert.InRange(ratio, 1 - VarianceTolerance(model.Count), 1 + VarianceTolerance(model.Count));
    }

    [Fact]
    public async Task Start_BudgetShortOfThePlannedRounds_SaysHowManyItCoversAndHowToCalibrate()
    {
        await using var fed = new TestFederation(3);
        var plan = Plan(z: 1.0, threshold: 3, budget: 12);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 10, minSilos: 3) with { Privacy = plan, SecureAggregation = Secure });

        var deadline = DateTime.UtcNow + TestFederation.Timeout;
        while (!fed.Logs.Any(l => l.Contains("covers only", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, string.Join("\n", fed.Logs));
            await Task.Delay(20);
        }

        // Exactly as many worst-case rounds as fit: one more would pass the budget.
        var covered = Enumerable.Range(1, 10).TakeWhile(k => PrivacyCharge.CumulativeEpsilon(
            [.. Enumerable.Repeat(PrivacyCharge.Price(plan, 3, fed.Parameters), k)], "rdp", plan.Delta) <= 12).Count();
        var line = fed.Logs.First(l => l.Contains("covers only", StringComparison.Ordinal));
        Assert.Contains($"covers only {covered} of the 10 rounds still planned", line, StringComparison.Ordinal);
        Assert.Contains("securefed privacy calibrate --target-epsilon 12 --delta 1E-05 --rounds 10", line, StringComparison.Ordinal);
        Assert.Contains(fed.Logs, l => l.Contains("secure aggregation, gaussian noise z = 1", StringComparison.Ordinal));
        await coordinator.DisposeAsync();
    }

    [Fact]
    public async Task Federation_WithBudget_StopsBeforeExceedingItWithClearMessage()
    {
        await using var fed = new TestFederation(3);
        var plan = Plan(z: 2.0, threshold: 3, budget: 3.0);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 50, minSilos: 3) with { Privacy = plan, SecureAggregation = Secure });
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        var agents = await Task.WhenAll(fed.AgentRuns).WaitAsync(TestFederation.Timeout);

        Assert.InRange(outcome.RoundsCompleted, 1, 49);
        Assert.NotNull(outcome.StopReason);
        Assert.Contains("budget", outcome.StopReason, StringComparison.Ordinal);
        Assert.Contains("3", outcome.StopReason, StringComparison.Ordinal);
        Assert.True(outcome.Epsilon <= 3.0, $"epsilon {outcome.Epsilon} exceeded the budget");
        var history = Enumerable.Repeat((2.0, 1.0, 1), outcome.RoundsCompleted + 1).ToList();
        Assert.True(RdpAccountant.ComputeEpsilon(history, 1e-5) > 3.0, "the federation stopped although one more round fitted");
        Assert.All(agents, a => Assert.Equal(outcome.StopReason, a.StopReason));
    }

    [Fact]
    public async Task Silo_StricterCap_LeavesLaterRoundsByItself()
    {
        // Four silos: secure aggregation's threshold (floor(2n/3) + 1 = 3) still holds when the strict one leaves.
        await using var fed = new TestFederation(4);
        var plan = Plan(z: 2.0, threshold: 2);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 6, minSilos: 2) with { Privacy = plan, SecureAggregation = Secure });
        fed.StartAgent("silo-1", new FakeTrainer(0.1f));
        fed.StartAgent("silo-2", new FakeTrainer(0.1f));
        fed.StartAgent("silo-4", new FakeTrainer(0.1f));
        var strictTrainer = new FakeTrainer(0.1f);
        var cap = 3.0;
        var strict = fed.StartAgent("silo-3", strictTrainer, new LocalPolicy { AllowedDatasets = ["fake"], EpsilonCap = cap, Accountant = "rdp", Delta = 1e-5 });

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(6, outcome.RoundsCompleted);
        var spent = strict.Ledger.Epsilon(AccountantKind.Rdp, 1e-5);
        Assert.True(spent <= cap, $"silo spent {spent} over its cap {cap}");
        Assert.InRange(strictTrainer.Calls, 1, 5);
        Assert.Equal(strictTrainer.Calls, strict.Ledger.Entries.Count);
        Assert.Contains(outcome.Rounds, r => r.Refused == 1);
        Assert.Equal(0, outcome.Rounds.First().Refused);
    }

    [Fact]
    public async Task Restart_WithPrivacy_NeitherResetsNorDoubleCounts()
    {
        await using var fed = new TestFederation(3);
        var plan = Plan(z: 1.5, threshold: 3, accountant: "exact");
        var first = await fed.StartCoordinatorAsync(fed.Options(rounds: 4, minSilos: 3) with { Privacy = plan, SecureAggregation = Secure });
        var port = first.Address.Port;
        var roundTwo = TestFederation.WhenRoundFinished(first, 2);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        await roundTwo.WaitAsync(TestFederation.Timeout);
        await first.DisposeAsync();
        var second = await fed.StartCoordinatorAsync(fed.Options(rounds: 4, minSilos: 3, port: port) with { Privacy = plan, SecureAggregation = Secure });
        var outcome = await second.Completion.WaitAsync(TestFederation.Timeout);

        var charges = second.Store.PrivacyCharges();
        Assert.Equal([1L, 2L, 3L, 4L], charges.Select(c => c.Round));
        Assert.All(charges, c => Assert.Equal(3, c.Survivors));
        var expected = ExactGaussianAccountant.ComputeEpsilon(Enumerable.Repeat((1.5, 1.0, 1), 4).ToList(), 1e-5);
        Assert.Equal(expected, outcome.Epsilon, 9);
    }

    [Theory]
    [InlineData("gaussian")]
    [InlineData("discrete-gaussian")]
    public async Task Restart_WithMoreNoise_NeverRepricesTheRoundsAlreadyCharged(string mechanism)
    {
        // Reported: 10 rounds at z = 1, restart at z = 4: the stored epsilon fell and rounds ran past the budget.
        await using var fed = new TestFederation(3);
        var before = Plan(z: 1.0, threshold: 3, mechanism: mechanism);
        var first = await fed.StartCoordinatorAsync(fed.Options(rounds: 10, minSilos: 3) with { Privacy = before, SecureAggregation = Secure });
        var port = first.Address.Port;
        var roundThree = TestFederation.WhenRoundFinished(first, 3);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        await roundThree.WaitAsync(TestFederation.Timeout);
        await first.DisposeAsync();
        var charged = first.Store.PrivacyCharges();
        var spent = charged[^1].Epsilon;
        Assert.InRange(charged.Count, 3, 4);

        // The restarted coordinator asks for four times the noise, with a budget only a little above what was spent.
        var after = Plan(z: 4.0, threshold: 3, budget: spent * 1.01, mechanism: mechanism);
        var second = await fed.StartCoordinatorAsync(fed.Options(rounds: 10, minSilos: 3, port: port) with { Privacy = after, SecureAggregation = Secure });
        var outcome = await second.Completion.WaitAsync(TestFederation.Timeout);

        // At z = 4 one more round costs far more than 1% of the z = 1 history: the budget stops the federation at once.
        Assert.Equal(charged.Select(c => (c.Round, c.Pricing)), second.Store.PrivacyCharges().Select(c => (c.Round, c.Pricing)));
        Assert.Contains("budget", outcome.StopReason ?? "", StringComparison.Ordinal);
        Assert.Equal(spent, PrivacyCharge.CumulativeEpsilon([.. second.Store.PrivacyCharges().Select(c => c.Pricing)], after.Accountant, after.Delta), 9);
        Assert.All(charged, c => Assert.Equal(PrivacyCharge.Price(before, 3, 8), c.Pricing));
    }

    [Fact]
    public void PlainAggregation_ChargesWhatTheCoordinatorSees_OneSilosShareOfTheNoise()
    {
        // Reported: z = 1, t = 4, 5 silos, 20 rounds under plain aggregation was charged as the sum (25.9), but each
        // update arrives with only its own noise zC/sqrt(t), which is worth 81.1 (rdp, delta 1e-5).
        var plan = Plan(z: 1.0, threshold: 4);
        var plain = Enumerable.Repeat(PrivacyCharge.Price(plan, 5, 100, secure: false), 20).ToList();
        var secure = Enumerable.Repeat(PrivacyCharge.Price(plan, 5, 100), 20).ToList();

        Assert.Equal(0.5, plain[0].NoiseMultiplier, 12);
        Assert.Equal(81.1, PrivacyCharge.CumulativeEpsilon(plain, "rdp", 1e-5), 1);
        Assert.Equal(25.9, PrivacyCharge.CumulativeEpsilon(secure, "rdp", 1e-5), 1);
        Assert.Equal(0.5, PrivacyCharge.WorstCaseNoiseMultiplier(plan, 100, secure: false), 12);
    }

    [Fact]
    public async Task Federation_PlainAggregationWithPrivacy_LedgerAndSiloChargeOneSilosNoise()
    {
        await using var fed = new TestFederation(3);
        var plan = Plan(z: 2.0, threshold: 3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 2, minSilos: 3) with { Privacy = plan });
        var agents = Enumerable.Range(1, 3).Select(i => fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f))).ToList();

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        var perSilo = 2.0 / Math.Sqrt(3);
        Assert.All(coordinator.Store.PrivacyCharges(), c => Assert.Equal(perSilo, c.NoiseMultiplier, 12));
        Assert.All(Audit.AuditLedger.Read(coordinator.LedgerPath), e => Assert.Equal(perSilo, e.EffectiveNoiseMultiplier!.Value, 12));
        Assert.Equal(RdpAccountant.ComputeEpsilon([(perSilo, 1.0, 1), (perSilo, 1.0, 1)], 1e-5), outcome.Epsilon, 9);
        Assert.All(agents, a => Assert.All(a.Ledger.Entries, e => Assert.Equal(perSilo, e.NoiseMultiplier, 12)));
    }

    [Theory]
    [InlineData("gaussian", 2.0, 16, 16.0, 16, null)] // C + 4 sigma = 1 + 4 x 2/sqrt(3) = 5.6 fits under 16
    [InlineData("gaussian", 2.0, 16, 5.0, 16, "clamps at 5")]
    [InlineData("gaussian", 0.5, 16, 16.0, 0, "steps of 2^-0")] // sigma = 0.29 < 1
    [InlineData("discrete-gaussian", 2.0, 12, 16.0, 16, "2^-12 grid")]
    public void Policy_ClampBoundAndScale_MustLeaveTheNoiseIntact(string mechanism, double z, int privacyScaleBits, double bound, int scaleBits, string? refusal)
    {
        var dp = Plan(z: z, threshold: 3, mechanism: mechanism) with { ScaleBits = privacyScaleBits };
        var plan = new RoundPlan(
            "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
            ["silo-1", "silo-2", "silo-3"], DateTimeOffset.UnixEpoch, dp, new SecureAggregationPlan(64, scaleBits, bound, 3));
        var ledger = new SiloPrivacyLedger(Path.Combine(Path.GetTempPath(), "securefed-clamp-" + Guid.NewGuid().ToString("N"), "l.jsonl"));

        var error = Record.Exception(() => new LocalPolicy().CheckPrivacy(plan, ledger));

        if (refusal is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.Contains(refusal, Assert.IsType<PolicyRefusedException>(error).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Policy_TheSimulationsOwnEncoding_PassesTheCheck()
    {
        var dp = Plan(z: 0.5, threshold: 4);
        var plan = new RoundPlan(
            "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
            ["silo-1", "silo-2", "silo-3", "silo-4"], DateTimeOffset.UnixEpoch, dp, Hosting.FederationSimulation.SecureAggregationFor(dp, 32));

        new LocalPolicy().CheckPrivacy(plan, new SiloPrivacyLedger(Path.Combine(Path.GetTempPath(), "securefed-clamp-" + Guid.NewGuid().ToString("N"), "l.jsonl")));
    }

    [Fact]
    public async Task Federation_PlainAbortWithSomeUploads_ChargesWhatTheCoordinatorSaw()
    {
        // Two of three uploads arrive, one silo is too slow: no aggregate, but the coordinator saw two updates in the clear.
        await using var fed = new TestFederation(3);
        var plan = Plan(z: 2.0, threshold: 3);
        var options = fed.Options(rounds: 1, minSilos: 3) with { Privacy = plan, TrainTimeout = TimeSpan.FromSeconds(1), MaxConsecutiveAborts = 1 };
        var coordinator = await fed.StartCoordinatorAsync(options);
        fed.StartAgent("silo-1", new FakeTrainer(0.1f));
        fed.StartAgent("silo-2", new FakeTrainer(0.1f));
        fed.StartAgent("silo-3", new FakeTrainer(0.1f, delay: TimeSpan.FromSeconds(20)));

        await Assert.ThrowsAnyAsync<Exception>(() => coordinator.Completion.WaitAsync(TestFederation.Timeout));

        var release = Assert.Single(coordinator.Store.PrivacyReleases());
        Assert.Equal(("training", 2), (release.Task, release.Survivors));
        Assert.Equal(2.0 / Math.Sqrt(3), release.NoiseMultiplier, 12);
        var entries = Audit.AuditLedger.Read(coordinator.LedgerPath);
        var aborted = Assert.Single(entries);
        Assert.Equal(Audit.RoundStatus.Aborted, aborted.Status);
        Assert.Equal([("training", 2.0 / Math.Sqrt(3))], aborted.Releases!.Select(r => (r.Task, r.EffectiveNoiseMultiplier)));
        Assert.True(aborted.CumulativeEpsilon!.Rdp > 0);
        Assert.True(Audit.LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System).Ok);
    }

    [Fact]
    public async Task Restart_WithOtherPrivacySettings_WritesTheChangeIntoTheNextLedgerEntry()
    {
        await using var fed = new TestFederation(3);
        var first = await fed.StartCoordinatorAsync(fed.Options(rounds: 4, minSilos: 3) with { Privacy = Plan(z: 1.5, threshold: 3) });
        var port = first.Address.Port;
        var roundTwo = TestFederation.WhenRoundFinished(first, 2);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        await roundTwo.WaitAsync(TestFederation.Timeout);
        await first.DisposeAsync();
        var before = Audit.AuditLedger.Read(first.LedgerPath).Count;
        var second = await fed.StartCoordinatorAsync(fed.Options(rounds: 4, minSilos: 3, port: port) with { Privacy = Plan(z: 2.0, threshold: 3) });
        await second.Completion.WaitAsync(TestFederation.Timeout);

        var entries = Audit.AuditLedger.Read(second.LedgerPath);
        Assert.All(entries.Take(before), e => Assert.Null(e.SettingsChange));
        var change = Assert.Single(entries, e => e.SettingsChange is not null);
        Assert.Equal(entries[before].Sequence, change.Sequence);
        Assert.Contains("noise multiplier 1.5", change.SettingsChange, StringComparison.Ordinal);
        Assert.Contains("-> mechanism gaussian, noise multiplier 2,", change.SettingsChange, StringComparison.Ordinal);
        Assert.True(Audit.LedgerVerifier.Verify(entries, fed.Pki.Coordinator, fed.Pki.Ca.Certificate, TimeProvider.System).Ok);
    }
}

/// <summary>The silo's own ledger on disk.</summary>
public sealed class SiloPrivacyLedgerTests
{
    [Fact]
    public void Ledger_RetriedRound_IsASecondRelease_TheSameAttemptIsNot()
    {
        // Each attempt of a round sends a freshly noised vector: two plans for round 3 are two releases.
        var ledger = new SiloPrivacyLedger();
        ledger.Record("f", 3, 2.0, planHash: "attempt-1");
        ledger.Record("f", 3, 2.0, planHash: "attempt-1");
        ledger.Record("f", 3, 2.0, planHash: "attempt-2");
        ledger.Record("f", 3, 2.0, "evaluation", "attempt-2");

        Assert.Equal(["attempt-1", "attempt-2", "attempt-2"], ledger.Entries.Select(e => e.PlanHash));
        Assert.Equal(RdpAccountant.ComputeEpsilon([(2.0, 1.0, 1), (2.0, 1.0, 1), (2.0, 1.0, 1)], 1e-5), ledger.Epsilon(AccountantKind.Rdp, 1e-5), 12);
    }

    [Fact]
    public void Ledger_ReopenedFromFile_KeepsEveryEntryOnce()
    {
        var path = Path.Combine(Path.GetTempPath(), "securefed-ledger-tests", Guid.NewGuid().ToString("N"), "silo.jsonl");
        try
        {
            var ledger = new SiloPrivacyLedger(path);
            ledger.Record("f", 1, 2.0);
            ledger.Record("f", 2, 2.0);
            ledger.Record("f", 2, 2.0); // the same round again is not a second charge

            var reopened = new SiloPrivacyLedger(path);

            Assert.Equal([1L, 2L], reopened.Entries.Select(e => e.Round));
            var expected = RdpAccountant.ComputeEpsilon([(2.0, 1.0, 1), (2.0, 1.0, 1)], 1e-5);
            Assert.Equal(expected, reopened.Epsilon(AccountantKind.Rdp, 1e-5), 12);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}

/// <summary>Accounting of the discrete mechanism (Kairouz, Liu, Steinke 2021) and its run under secure aggregation.</summary>
public sealed class DiscreteMechanismTests
{
    [Fact]
    public void CumulativeEpsilon_DiscreteWithFineGrid_CloseToGaussianWithRoundingGrowth()
    {
        var discrete = new PrivacyPlan(1.0, 1.5, 4, 0, "discrete-gaussian", "rdp", 1e-5, 0, ScaleBits: 16);
        var rounds = new[] { 4, 5, 4 };

        var kls = PrivacyCharge.CumulativeEpsilon(discrete, rounds, 100);
        var gaussianEquivalent = RdpAccountant.ComputeEpsilon(rounds.Select(n => (PrivacyCharge.EffectiveNoiseMultiplier(discrete, n, 100), 1.0, 1)).ToList(), 1e-5);

        // With sigma of ~2^16 integer units the tau correction vanishes: the KLS bound equals the Gaussian RDP.
        Assert.Equal(gaussianEquivalent, kls, 4);
        Assert.True(kls > 0);
    }

    [Fact]
    public void CumulativeEpsilon_DiscreteCoarseGrid_ChargesRoundingGrowth()
    {
        var fine = new PrivacyPlan(1.0, 1.5, 4, 0, "discrete-gaussian", "rdp", 1e-5, 0, ScaleBits: 16);
        var coarse = fine with { ScaleBits = 4 };

        Assert.True(PrivacyCharge.CumulativeEpsilon(coarse, [4, 4], 1000) > PrivacyCharge.CumulativeEpsilon(fine, [4, 4], 1000));
    }

    [Fact]
    public async Task Federation_DiscreteMechanismUnderSecureAggregation_ChargesEveryRound()
    {
        await using var fed = new TestFederation(3);
        var plan = new PrivacyPlan(1.0, 2.0, 3, 0, "discrete-gaussian", "rdp", 1e-5, 0, ScaleBits: 16);
        var options = fed.Options(rounds: 2, minSilos: 3) with { Privacy = plan, SecureAggregation = new SecureAggregationPlan(64, 16, 64.0) };
        var coordinator = await fed.StartCoordinatorAsync(options);
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.1f));
        }

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(2, outcome.RoundsCompleted);
        var charges = coordinator.Store.PrivacyCharges();
        Assert.Equal(2, charges.Count);
        Assert.All(charges, c => Assert.Equal("kls-rdp", c.Accountant));
        Assert.Equal(PrivacyCharge.CumulativeEpsilon(plan, [3, 3], fed.Parameters), outcome.Epsilon, 9);
    }
}
