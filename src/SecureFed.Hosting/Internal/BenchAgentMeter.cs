using SecureFed.Agent;
using SecureFed.Protocol;

namespace SecureFed.Hosting.Internal;

/// <summary>One agent's counters at one instant: after a round's result, or at the start.</summary>
/// <param name="Round">The round whose result had just arrived (0: before any).</param>
/// <param name="CpuMs">CPU time of the whole process (user + kernel), or null when the process holds more than this agent.</param>
/// <param name="BytesSent">Protobuf bytes the agent had sent.</param>
/// <param name="MaskMs">Time the agent had spent masking inputs.</param>
/// <param name="WireRead">TCP payload bytes the process had received (TLS records of its connection; Linux), or null.</param>
/// <param name="WireWritten">TCP payload bytes the process had sent and had acknowledged, or null.</param>
internal sealed record BenchAgentSample(long Round, double? CpuMs, long BytesSent, double MaskMs, long? WireRead, long? WireWritten);

/// <summary>What one agent cost in the measured round: the difference of its samples around it (TCP bytes: the mean per round of the run).</summary>
internal sealed record BenchAgentCost(double? CpuMs, long BytesUp, double MaskMs, long? WireUp, long? WireDown)
{
    /// <summary>The cost of round <paramref name="round"/>: from the sample before its result to the one at it (null
    /// when either is missing).</summary>
    public static BenchAgentCost? OfRound(IReadOnlyList<BenchAgentSample> samples, long round)
    {
        var rounds = samples.OrderBy(s => s.Round).ToList();
        var at = rounds.FindIndex(s => s.Round == round);
        if (at < 1)
        {
            return null;
        }

        var (before, after) = (rounds[at - 1], rounds[at]);

        // The kernel has already received part of the next round when the agent reads a result, so the socket's
        // counters cannot be cut at a round; they are taken over the whole run (from before connecting to the
        // last result, TLS handshake included) per round.
        var last = rounds[^1];
        var (start, perRound) = (rounds[0], Math.Max(1, last.Round - rounds[0].Round));
        return new BenchAgentCost(
            after.CpuMs - before.CpuMs, after.BytesSent - before.BytesSent, after.MaskMs - before.MaskMs,
            (last.WireWritten - start.WireWritten) / perRound, (last.WireRead - start.WireRead) / perRound);
    }
}

/// <summary>
/// Samples an agent's counters after every round result it receives, so a benchmark takes the last round's cost
/// alone (the first pays for connecting and the JIT). Thread-safe.
/// </summary>
internal sealed class BenchAgentMeter
{
    private readonly SiloAgent _agent;
    private readonly bool _ownsProcess;
    private readonly List<BenchAgentSample> _samples = [];

    /// <param name="agent">The agent to sample.</param>
    /// <param name="ownsProcess">Whether this agent is alone in its process, so process CPU and I/O are its own.</param>
    public BenchAgentMeter(SiloAgent agent, bool ownsProcess)
    {
        _agent = agent;
        _ownsProcess = ownsProcess;
        Record(0);
        agent.RoundResultReceived += (round, _) => Record(round);
    }

    /// <summary>The samples so far, in arrival order.</summary>
    public IReadOnlyList<BenchAgentSample> Samples
    {
        get
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }
    }

    private void Record(long round)
    {
        var statistics = _agent.Statistics;
        var (read, written) = _ownsProcess ? TcpCounters.Read() : (null, null);
        double? cpu = _ownsProcess ? Environment.CpuUsage.TotalTime.TotalMilliseconds : null;
        lock (_samples)
        {
            _samples.Add(new BenchAgentSample(round, cpu, statistics.BytesSent, statistics.MaskingTime.TotalMilliseconds, read, written));
        }
    }
}

/// <summary>The benchmark's local trainer: the same fixed delta every round; keeps the last plan's secure-aggregation settings.</summary>
internal sealed class FixedTrainer(float[] delta) : ILocalTrainer
{
    private volatile SecureAggregationPlan? _lastSecure;

    public string Dataset => "bench";

    /// <summary>The secure-aggregation settings of the last plan trained under (null: none yet, or plain): the graph that ran.</summary>
    public SecureAggregationPlan? LastSecure => _lastSecure;

    public Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
    {
        _lastSecure = plan.SecureAggregation;
        return Task.FromResult(new LocalUpdate(delta, 1));
    }

    /// <summary>Silo <paramref name="seed"/>'s delta: uniform in [-1, 1), the same in every process.</summary>
    public static float[] RandomDelta(int length, int seed)
    {
        var random = new Random(seed);
        var delta = new float[length];
        for (var j = 0; j < length; j++)
        {
            delta[j] = (float)((random.NextDouble() * 2) - 1);
        }

        return delta;
    }
}
