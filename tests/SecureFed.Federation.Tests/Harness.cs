using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using SecureFed.Agent;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Coordinator;
using SecureFed.Identity;
using SecureFed.Protocol;
using RoundPlan = SecureFed.Protocol.RoundPlan;
using Stage = SecureFed.Protocol.Stage;

namespace SecureFed.Federation.Tests;

/// <summary>Certificates minted per test run: a consortium CA with coordinator and silo certificates, and a foreign CA.</summary>
internal sealed class TestPki : IDisposable
{
    public TestPki(int silos)
    {
        Ca = ConsortiumCa.Create("test-consortium", TimeProvider.System, TimeSpan.FromDays(1));
        Foreign = ConsortiumCa.Create("test-consortium", TimeProvider.System, TimeSpan.FromDays(1));
        Coordinator = Ca.IssueCoordinator(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        SiloIds = [.. Enumerable.Range(1, silos).Select(i => $"silo-{i}")];
        Silos = SiloIds.ToDictionary(id => id, id => Ca.IssueSilo(SiloId.Parse(id), TimeSpan.FromDays(1)));
    }

    public ConsortiumCa Ca { get; }

    public ConsortiumCa Foreign { get; }

    public X509Certificate2 Coordinator { get; }

    public IReadOnlyList<string> SiloIds { get; }

    public IReadOnlyDictionary<string, X509Certificate2> Silos { get; }

    public void Dispose()
    {
        foreach (var c in Silos.Values)
        {
            c.Dispose();
        }

        Coordinator.Dispose();
        Foreign.Dispose();
        Ca.Dispose();
    }
}

/// <summary>Initial model of zeros; reports accuracy as the model's first parameter so tests can see what was aggregated.</summary>
internal sealed class FakeEvaluator(int parameters) : IModelEvaluator
{
    public float[] InitialParameters() => new float[parameters];

    public ModelQuality Evaluate(float[] p) => new(0.5, p[0]);
}

/// <summary>Returns a fixed delta (every value = <paramref name="value"/>) after an optional delay.</summary>
internal sealed class FakeTrainer(float value, long examples = 10, TimeSpan? delay = null) : ILocalTrainer
{
    private int _calls;

    public string Dataset => "fake";

    public int Calls => _calls;

    public List<string> ModelHashesSeen { get; } = [];

    public async Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        lock (ModelHashesSeen)
        {
            ModelHashesSeen.Add(plan.ModelVersionHash);
        }

        if (delay is { } d)
        {
            await Task.Delay(d, cancellationToken);
        }

        return new LocalUpdate(Enumerable.Repeat(value, globalParameters.Length).ToArray(), examples);
    }
}

/// <summary>Builds coordinators and agents wired to each other over loopback mutual TLS.</summary>
internal sealed class TestFederation : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly List<CancellationTokenSource> _agentStops = [];

    public TestFederation(int silos, int parameters = 8)
    {
        Pki = new TestPki(silos);
        Parameters = parameters;
        Directory = Path.Combine(Path.GetTempPath(), "securefed-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public TestPki Pki { get; }

    public int Parameters { get; }

    public string Directory { get; }

    public string StorePath => Path.Combine(Directory, "federation.db");

    public CoordinatorHost? Coordinator { get; private set; }

    public List<Task<AgentOutcome>> AgentRuns { get; } = [];

    /// <summary>A task that completes when <paramref name="host"/> finishes round <paramref name="round"/> (subscribe before starting agents).</summary>
    public static Task WhenRoundFinished(CoordinatorHost host, long round)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.RoundFinished += r =>
        {
            if (r.Round == round)
            {
                finished.TrySetResult();
            }
        };
        return finished.Task;
    }

    public CoordinatorOptions Options(int rounds, int minSilos, int port = 0) => new()
    {
        FederationId = "test-federation",
        Port = port,
        Rounds = rounds,
        MinSilos = minSilos,
        TargetSilos = Pki.SiloIds.Count,
        Members = Pki.SiloIds,
        JoinTimeout = TimeSpan.FromSeconds(20),
        PlanTimeout = TimeSpan.FromSeconds(10),
        TrainTimeout = TimeSpan.FromSeconds(10),
        Dataset = "fake",
        Model = new ModelDescriptor("logreg", 3, 2, 1),
        Training = new TrainingParameters(1, 8, 0.1, 1),
        StorePath = StorePath,
        MaxChunkFloats = 4,
        MaxMessageBytes = 64 * 1024,
    };

    public System.Collections.Concurrent.ConcurrentQueue<(string SiloId, AgentMessage Message)> Inbound { get; } = new();

    /// <summary>Every log line the coordinator wrote, at every level.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Logs { get; } = new();

    public async Task<CoordinatorHost> StartCoordinatorAsync(CoordinatorOptions options, IModelEvaluator? evaluator = null)
    {
        Coordinator = CoordinatorHost.Create(
            options, Pki.Coordinator, Pki.Ca.Certificate, evaluator ?? new FakeEvaluator(Parameters),
            b => b.AddProvider(new ListLoggerProvider(Logs)).SetMinimumLevel(LogLevel.Debug), null, (id, m) => Inbound.Enqueue((id, m.Clone())));
        await Coordinator.StartAsync();
        return Coordinator;
    }

    public SiloAgent StartAgent(string siloId, ILocalTrainer trainer, LocalPolicy? policy = null, CancellationTokenSource? stop = null) =>
        StartAgent(CreateAgent(siloId, trainer, policy), stop);

    /// <summary>Runs an agent made by <see cref="CreateAgent"/> (for one a test configures first).</summary>
    public SiloAgent StartAgent(SiloAgent agent, CancellationTokenSource? stop = null)
    {
        stop ??= new CancellationTokenSource();
        _agentStops.Add(stop);
        AgentRuns.Add(Task.Run(() => agent.RunOnceAsync(stop.Token)));
        return agent;
    }

    public SiloAgent CreateAgent(string siloId, ILocalTrainer trainer, LocalPolicy? policy = null) => new(
        new AgentOptions { Coordinator = Coordinator!.Address, FederationId = "test-federation", ReconnectMin = TimeSpan.FromMilliseconds(50), ReconnectMax = TimeSpan.FromMilliseconds(500) },
        Pki.Silos[siloId], Pki.Ca.Certificate, trainer, policy ?? new LocalPolicy { AllowedDatasets = ["fake"] });

    /// <summary>
    /// A raw client presenting <paramref name="clientCertificate"/> (or none), trusting the consortium CA for the server;
    /// to the coordinator, or to <paramref name="address"/> (a proxy in front of it).
    /// </summary>
    public GrpcChannel RawChannel(X509Certificate2? clientCertificate, Uri? address = null)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        };
        return GrpcChannel.ForAddress(address ?? Coordinator!.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true, MaxSendMessageSize = 16 * 1024 * 1024 });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _agentStops)
        {
            await s.CancelAsync();
        }

        try
        {
            await Task.WhenAll(AgentRuns).WaitAsync(Timeout);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or TimeoutException or SecureFed.Agent.AgentGaveUpException)
        {
            // agents cancelled by the test
        }

        if (Coordinator is not null)
        {
            await Coordinator.DisposeAsync();
        }

        Pki.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

/// <summary>A scripted peer speaking the wire protocol directly, to send malformed, late and out-of-stage messages.</summary>
internal sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<AgentMessage, CoordinatorMessage> _call;

    public ScriptedPeer(TestFederation federation, X509Certificate2? certificate, Uri? address = null)
    {
        _channel = federation.RawChannel(certificate, address);
        _call = new Contracts.V1.Federation.FederationClient(_channel).Connect();
    }

    /// <summary>Connects presenting <paramref name="cert"/> (or none), says Hello as <paramref name="claimedId"/>, and returns the status the call ends with.</summary>
    public static async Task<Status> ConnectAsync(TestFederation fed, X509Certificate2? cert, string claimedId)
    {
        await using var peer = new ScriptedPeer(fed, cert);
        try
        {
            await peer.SendAsync(Hello(claimedId));
        }
        catch (RpcException)
        {
            // The server may end the call before the Hello is written; its status arrives with the response.
        }

        return await peer.ReadToEndAsync();
    }

    public static AgentMessage Hello(string siloId, string federationId = "test-federation") => new()
    {
        Header = DomainMapping.Header(federationId, 0, Stage.Hello),
        Hello = new Hello { ClaimedSiloId = siloId },
    };

    public Task SendAsync(AgentMessage message) => _call.RequestStream.WriteAsync(message);

    /// <summary>Reads until a message of <paramref name="kind"/> arrives; throws the stream's RpcException if it ends.</summary>
    public async Task<CoordinatorMessage> ReadUntilAsync(CoordinatorMessage.BodyOneofCase kind)
    {
        using var cts = new CancellationTokenSource(TestFederation.Timeout);
        while (await _call.ResponseStream.MoveNext(cts.Token))
        {
            if (_call.ResponseStream.Current.BodyCase == kind)
            {
                return _call.ResponseStream.Current;
            }
        }

        throw new InvalidOperationException("stream ended without the expected message");
    }

    /// <summary>Reads until the stream ends and returns its final status; <paramref name="seen"/> sees every message on the way.</summary>
    public async Task<Status> ReadToEndAsync(Action<CoordinatorMessage>? seen = null)
    {
        using var cts = new CancellationTokenSource(TestFederation.Timeout);
        try
        {
            while (await _call.ResponseStream.MoveNext(cts.Token))
            {
                seen?.Invoke(_call.ResponseStream.Current);
            }

            return _call.GetStatus();
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
    }

    public static AgentMessage Update(long round, int offset, int total, float[] values, bool last, ulong examples = 10, string federationId = "test-federation", Stage stage = Stage.Train)
    {
        var chunk = new UpdateChunk { Offset = (uint)offset, TotalLength = (uint)total, Last = last, ExampleCount = examples };
        chunk.Values.AddRange(values);
        return new AgentMessage { Header = DomainMapping.Header(federationId, round, stage), UpdateChunk = chunk };
    }

    public static AgentMessage Accept(long round) => new()
    {
        Header = DomainMapping.Header("test-federation", round, Stage.Plan),
        PlanDecision = new PlanDecision { Accepted = true },
    };

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        await Task.Yield();
        _channel.Dispose();
    }
}

/// <summary>Collects formatted log lines (with exception messages) in memory.</summary>
internal sealed class ListLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new ListLogger(lines, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(System.Collections.Concurrent.ConcurrentQueue<string> lines, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category} {formatter(state, exception)} {exception?.Message}");
    }
}
