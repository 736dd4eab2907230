using SecureFed.Coordinator;

namespace SecureFed.Hosting;

/// <summary>How to start <c>securefed bench secagg-agent</c>: a program and the arguments before the subcommand.</summary>
/// <param name="FileName">The program (the dotnet host, or the securefed apphost).</param>
/// <param name="PrefixArguments">Arguments before <c>bench secagg-agent</c> (securefed.dll under the dotnet host).</param>
public sealed record SecAggBenchAgentCommand(string FileName, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>The securefed CLI beside the running program (securefed.dll under the dotnet host that runs this process).</summary>
    /// <exception cref="FileNotFoundException">No securefed.dll beside this program.</exception>
    public static SecAggBenchAgentCommand Locate()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "securefed.dll");
        if (!File.Exists(dll) || !File.Exists(Path.Combine(AppContext.BaseDirectory, "securefed.runtimeconfig.json")))
        {
            throw new FileNotFoundException($"--agents-in-process false needs the securefed CLI: no securefed.dll in {AppContext.BaseDirectory}");
        }

        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return new SecAggBenchAgentCommand(host, [dll]);
    }
}

/// <summary>Settings of <see cref="SecAggBenchmark"/> (validated by <see cref="Validate"/>, naming the option).</summary>
public sealed record SecAggBenchmarkOptions
{
    /// <summary>Most silos of an in-process run.</summary>
    public const int MaxSilosInProcess = 10_000;

    /// <summary>Most silos run as separate processes (each a .NET process of its own).</summary>
    public const int MaxSilosAsProcesses = 200;

    /// <summary>N, the silos of the secure run (the plain run has the N - dropped that do not drop).</summary>
    public int Silos { get; init; } = 10;

    /// <summary>L, parameters per update.</summary>
    public int Parameters { get; init; } = 100_000;

    /// <summary>Fraction of silos that drop at the MaskedInput stage (secure run).</summary>
    public double Dropout { get; init; }

    /// <summary>Ring 2^k: 32 or 64.</summary>
    public int RingBits { get; init; } = 32;

    /// <summary>The plan's mask PRG (the coordinator's SecAggMaskPrg): aes-128-ctr or aes-256-ctr.</summary>
    public string MaskPrg { get; init; } = Crypto.MaskPrgs.Aes128Ctr;

    /// <summary>Floats (or ring words) per upload chunk (the coordinator's MaxChunkFloats).</summary>
    public int ChunkFloats { get; init; } = CoordinatorOptions.DefaultMaxChunkFloats;

    /// <summary>The coordinator's graph choice: auto, complete or harary.</summary>
    public string Graph { get; init; } = SecAggGraphOptions.Auto;

    /// <summary>γ that sizes a SecAgg+ graph (the coordinator's SecAggCorruption).</summary>
    public double Corruption { get; init; } = SecAggGraphOptions.Default.CorruptFraction;

    /// <summary>δ that sizes a SecAgg+ graph (the coordinator's SecAggDropout); raised to <see cref="Dropout"/> when that is larger.</summary>
    public double GraphDropout { get; init; } = SecAggGraphOptions.Default.DropoutFraction;

    /// <summary>
    /// Rounds run before the measured one (null: 10 up to 30 silos, 3 up to 100, 1 above). The runtime compiles a hot method at its
    /// optimising tier only after it has run a while, so a round right after start-up measures the JIT as much as the
    /// protocol; larger federations' rounds are long enough to settle within the first.
    /// </summary>
    public int? WarmupRounds { get; init; }

    /// <summary>The warm-up rounds this run uses: short rounds need more of them for the JIT to settle (a plain round of
    /// 10 silos cost each client 223 ms of CPU after 3 rounds, 45 ms after 15).</summary>
    public int EffectiveWarmupRounds => WarmupRounds ?? (Silos <= 30 ? 10 : Silos <= 100 ? 3 : 1);

    /// <summary>The HTTP/2 window the coordinator grants each connection and stream, as its Limits.ReceiveWindowBytes.</summary>
    public int ReceiveWindowBytes { get; init; } = ConnectionLimits.DefaultReceiveWindowBytes;

    /// <summary>
    /// Rounds measured after the warm-up (1..20): every figure is the median of theirs, so one round slowed by a
    /// neighbour on a shared machine does not decide a ratio.
    /// </summary>
    public int MeasuredRounds { get; init; } = 1;

    /// <summary>The coordinator's log level on standard error (warnings by default: dropped or stalled silos, aborts).</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Warning;

    /// <summary>Agents in the benchmark's process (true), or each in a process of its own, so a client's CPU and bytes are its own.</summary>
    public bool AgentsInProcess { get; init; } = true;

    /// <summary>
    /// With agents as processes, how many processes the silos are spread over (null: one each). Fewer processes cost
    /// the shared machine less, so the coordinator's side is measured with cheaper producers; a client's CPU and wire
    /// bytes are then no longer its own and are not reported.
    /// </summary>
    public int? AgentProcesses { get; init; }

    /// <summary>How to start an agent process (null: <see cref="SecAggBenchAgentCommand.Locate"/>).</summary>
    public SecAggBenchAgentCommand? AgentCommand { get; init; }

    /// <summary>The graph options the secure run's coordinator gets: δ covers the dropout the run injects.</summary>
    public SecAggGraphOptions GraphOptions => new(Graph, Corruption, Math.Max(GraphDropout, Dropout));

    /// <summary>Throws <see cref="ArgumentException"/> naming the option, its value and the limit.</summary>
    public SecAggBenchmarkOptions Validate()
    {
        var most = AgentsInProcess ? MaxSilosInProcess : MaxSilosAsProcesses;
        if (Silos < 3 || Silos > most)
        {
            throw new ArgumentException($"--silos {Silos} is invalid: must be within 3..{most}{(AgentsInProcess ? "" : " with --agents-in-process false (one process per silo)")}");
        }

        if (Parameters is < 1 or > 10_000_000)
        {
            throw new ArgumentException($"--params {Parameters} is invalid: must be within 1..10000000");
        }

        if (Dropout is < 0 or >= 0.5 || double.IsNaN(Dropout))
        {
            throw new ArgumentException($"--dropout {Dropout} is invalid: must be within 0..0.5 (the threshold needs a majority)");
        }

        if (WarmupRounds is < 1 or > 20)
        {
            throw new ArgumentException($"--warmup-rounds {WarmupRounds} is invalid: must be within 1..20 (the measured round is cut from the one before it)");
        }

        if (ReceiveWindowBytes is < 65_535)
        {
            throw new ArgumentException($"--receive-window {ReceiveWindowBytes} is invalid: must be at least 65535 (HTTP/2's initial window)");
        }

        if (AgentProcesses is { } processes && (AgentsInProcess || processes < 1 || processes > Silos))
        {
            throw new ArgumentException($"--agent-processes {processes} is invalid: must be within 1..{Silos} (the silos), with --agents-in-process false");
        }

        if (MeasuredRounds is < 1 or > 20)
        {
            throw new ArgumentException($"--measured-rounds {MeasuredRounds} is invalid: must be within 1..20");
        }

        if (RingBits is not (32 or 64))
        {
            throw new ArgumentException($"--ring-bits {RingBits} is invalid: must be 32 or 64");
        }

        if (!Crypto.MaskPrgs.All.Contains(MaskPrg))
        {
            throw new ArgumentException($"--mask-prg '{MaskPrg}' is invalid: must be {string.Join(" or ", Crypto.MaskPrgs.All)}");
        }

        if (ChunkFloats is < 1 or > CoordinatorOptions.MaxChunkFloatsLimit)
        {
            throw new ArgumentException($"--chunk-floats {ChunkFloats} is invalid: must be within 1..{CoordinatorOptions.MaxChunkFloatsLimit}");
        }

        if (!SecAggGraphOptions.Modes.Contains(Graph))
        {
            throw new ArgumentException($"--graph '{Graph}' is invalid: must be {string.Join(", ", SecAggGraphOptions.Modes)}");
        }

        if (!(Corruption is >= 0 and < 1) || !(GraphDropout is >= 0 and < 1) || Corruption + Math.Max(GraphDropout, Dropout) >= 1)
        {
            throw new ArgumentException(FormattableString.Invariant($"--corruption {Corruption} and --graph-dropout {GraphDropout} are invalid: each must be within [0, 1) and their sum below 1"));
        }

        return this;
    }
}
