using SecureFed.Coordinator;

namespace SecureFed.Federation.Tests;

/// <summary>The coordinator's server optimizers against Reddi et al.'s update rules, and their state across a restart.</summary>
public sealed class ServerOptimizerTests
{
    [Fact]
    public void FedAvg_AddsTheScaledMeanDelta()
    {
        var next = new ServerOptimizer(new ServerOptimizerSettings("fedavg", 0.5)).Step([1f, 2f], [0.4, -1.0]);

        Assert.Equal([1.2f, 1.5f], next);
    }

    [Theory]
    [InlineData("fedadam")]
    [InlineData("fedyogi")]
    public void Adaptive_FirstTwoSteps_FollowThePaper(string kind)
    {
        var (eta, b1, b2, tau) = (0.1, 0.9, 0.99, 1e-3);
        var optimizer = new ServerOptimizer(new ServerOptimizerSettings(kind, eta, b1, b2, tau));
        double[] d1 = [0.5, -0.02];
        double[] d2 = [0.1, 0.3];

        var x1 = optimizer.Step([0f, 0f], d1);
        var x2 = optimizer.Step(x1, d2);

        // By hand: m_-1 = 0, v_-1 = tau^2.
        for (var i = 0; i < 2; i++)
        {
            var m = (1 - b1) * d1[i];
            var v = Second(kind, tau * tau, d1[i], b2);
            var expected1 = eta * m / (Math.Sqrt(v) + tau);
            Assert.Equal(expected1, x1[i], 5);
            m = (b1 * m) + ((1 - b1) * d2[i]);
            v = Second(kind, v, d2[i], b2);
            Assert.Equal(x1[i] + (eta * m / (Math.Sqrt(v) + tau)), x2[i], 5);
        }
    }

    [Fact]
    public void Adam_AndYogi_DifferOnceTheSecondMomentShrinks()
    {
        float[] start = [0f];
        var adam = new ServerOptimizer(new ServerOptimizerSettings("fedadam", 0.1));
        var yogi = new ServerOptimizer(new ServerOptimizerSettings("fedyogi", 0.1));
        float[] a = start, y = start;
        foreach (var d in new[] { 1.0, 0.01, 0.01 })
        {
            a = adam.Step(a, [d]);
            y = yogi.Step(y, [d]);
        }

        Assert.NotEqual(a[0], y[0]);
    }

    [Fact]
    public void State_RestoredInANewOptimizer_ContinuesExactly()
    {
        var settings = new ServerOptimizerSettings("fedadam", 0.05);
        var running = new ServerOptimizer(settings);
        var x = running.Step([1f, -1f, 0.5f], [0.2, 0.1, -0.3]);
        var state = running.State();

        var restarted = new ServerOptimizer(settings);
        restarted.Restore(state, 3);

        Assert.Equal(running.Step(x, [0.05, -0.2, 0.1]), restarted.Step(x, [0.05, -0.2, 0.1]));
        Assert.Throws<InvalidDataException>(() => restarted.Restore(state, 4));
        Assert.Null(new ServerOptimizer(ServerOptimizerSettings.FedAvg).State());
    }

    [Fact]
    public void Store_KeepsTheStateWithTheModelVersion()
    {
        var dir = Directory.CreateTempSubdirectory("securefed-server-opt-");
        try
        {
            var store = FederationStore.Open(Path.Combine(dir.FullName, "f.db"), "fed");
            store.EnsureInitialModel([0f, 0f]);
            store.BeginRound(1, "plan", ["silo-1"], "h0");
            var report = new RoundReport(1, true, ["silo-1"], 1, 0, 0, 0, double.NaN, double.NaN, "", TimeSpan.Zero, null);
            byte[] state = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
            var stored = store.CompleteRound(report, [1f, 2f], optimizerState: state);

            Assert.Equal(state, FederationStore.Open(Path.Combine(dir.FullName, "f.db"), "fed").OptimizerState(stored.Version));
            Assert.Null(store.OptimizerState(0));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("fedsgd", 1.0, 0.9, 0.99, 1e-3)]
    [InlineData("fedadam", 0.0, 0.9, 0.99, 1e-3)]
    [InlineData("fedadam", 0.1, 1.0, 0.99, 1e-3)]
    [InlineData("fedyogi", 0.1, 0.9, 0.99, 0.0)]
    public void Settings_OutOfRange_AreRefused(string kind, double eta, double b1, double b2, double tau)
    {
        Assert.Throws<ArgumentException>(() => new ServerOptimizer(new ServerOptimizerSettings(kind, eta, b1, b2, tau)));
    }

    private static double Second(string kind, double v, double d, double b2) =>
        kind == "fedadam" ? (b2 * v) + ((1 - b2) * d * d) : v - ((1 - b2) * d * d * Math.Sign(v - (d * d)));
}
