using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureFed.Coordinator.Internal;
using SecureFed.Identity;

namespace SecureFed.Coordinator;

/// <summary>
/// A running coordinator: Kestrel serving gRPC over HTTP/2 and TLS 1.3 with client certificates, and the
/// round orchestrator. Client certificates are accepted at the TLS layer and validated per call against the
/// consortium CA only, so a bad peer gets PERMISSION_DENIED with a reason rather than a dropped connection.
/// Start once; dispose to stop.
/// </summary>
public sealed class CoordinatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RoundOrchestrator _orchestrator;
    private readonly SessionRegistry _registry;
    private readonly FederationHealth _health;
    private readonly TimeSpan _drainTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly StoreLock _storeLock;
    private Task<FederationOutcome>? _completion;
    private int _disposed;

    private CoordinatorHost(WebApplication app, RoundOrchestrator orchestrator, SessionRegistry registry, FederationStore store, FederationHealth health, TimeSpan drainTimeout, StoreLock storeLock)
    {
        _app = app;
        _health = health;
        _drainTimeout = drainTimeout;
        _storeLock = storeLock;
        _registry = registry;
        LedgerPath = app.Services.GetRequiredService<AuditTrail>().Path;
        _orchestrator = orchestrator;
        Store = store;
    }

    /// <summary>Raised after each round is stored (completed or aborted). Handlers run on the orchestrator's thread.</summary>
    public event Action<RoundReport>? RoundFinished
    {
        add => _orchestrator.RoundFinished += value;
        remove => _orchestrator.RoundFinished -= value;
    }

    /// <summary>The signed, hash-chained audit ledger file.</summary>
    public string LedgerPath { get; }

    /// <summary>The coordinator's durable state.</summary>
    public FederationStore Store { get; }

    /// <summary>The bound address (https://host:port), known after <see cref="StartAsync"/>.</summary>
    public Uri Address { get; private set; } = new("https://unstarted.invalid");

    /// <summary>Completes when the federation finishes all rounds, faults when it cannot go on.</summary>
    public Task<FederationOutcome> Completion => _completion ?? throw new InvalidOperationException("the coordinator has not started");

    /// <summary>Builds a coordinator. Nothing listens until <see cref="StartAsync"/>.</summary>
    public static CoordinatorHost Create(
        CoordinatorOptions options,
        X509Certificate2 serverCertificate,
        X509Certificate2 consortiumRoot,
        IModelEvaluator evaluator,
        Action<ILoggingBuilder>? configureLogging = null,
        TimeProvider? time = null) => Create(options, serverCertificate, consortiumRoot, evaluator, configureLogging, time, null);

    /// <summary>As the public overload, with a test seam that observes every inbound agent message.</summary>
    internal static CoordinatorHost Create(
        CoordinatorOptions options,
        X509Certificate2 serverCertificate,
        X509Certificate2 consortiumRoot,
        IModelEvaluator evaluator,
        Action<ILoggingBuilder>? configureLogging,
        TimeProvider? time,
        InboundObserver? observer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(serverCertificate);
        ArgumentNullException.ThrowIfNull(consortiumRoot);
        ArgumentNullException.ThrowIfNull(evaluator);
        options.Validate();
        time ??= TimeProvider.System;
        if (!serverCertificate.HasPrivateKey)
        {
            throw new ArgumentException("the coordinator certificate has no private key", nameof(serverCertificate));
        }

        var members = MemberList.Parse(options.Members);
        var validator = new PeerCertificateValidator(
            consortiumRoot, time, new PeerRestrictions { DenyList = options.DenyList, PinnedFingerprints = members.Pins });
        var serverCheck = validator.ValidateCoordinator(serverCertificate);
        if (!serverCheck.IsValid)
        {
            throw new ArgumentException($"the coordinator certificate is not usable: {serverCheck.Message}", nameof(serverCertificate));
        }

        // One writer per store, for the coordinator's lifetime: taken before the store is touched (a second coordinator
        // must not mark this one's running round interrupted), released by the kernel if this process dies.
        var storeLock = StoreLock.Acquire(options.StorePath);
        try
        {
            return Build(options, serverCertificate, validator, evaluator, configureLogging, time, observer, storeLock);
        }
        catch
        {
            storeLock.Dispose();
            throw;
        }
    }

    private static CoordinatorHost Build(
        CoordinatorOptions options, X509Certificate2 serverCertificate, PeerCertificateValidator validator, IModelEvaluator evaluator,
        Action<ILoggingBuilder>? configureLogging, TimeProvider time, InboundObserver? observer, StoreLock storeLock)
    {
        var store = FederationStore.Open(options.StorePath, options.FederationId, options.StudyHash, options.StudyDocument, storeLock);
        var builder = CoordinatorTransport.CreateBuilder();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        }

        var limits = options.Limits;
        builder.WebHost.ConfigureKestrel(kestrel => CoordinatorTransport.Configure(kestrel, limits, options.ListenAddress, options.Port, serverCertificate));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxMessageBytes;
            o.MaxSendMessageSize = options.MaxMessageBytes;
            o.EnableDetailedErrors = false;
            o.Interceptors.Add<CallGuardInterceptor>();
        });
        // grpc.health.v1 on the same endpoint: it needs TLS but no client certificate (the federation service
        // checks certificates per call), so an orchestrator's probe can reach it.
        var health = new FederationHealth(limits.UnhealthyAfterAborts);
        builder.Services.AddGrpcHealthChecks().AddCheck("federation", health.Check);
        var registry = new SessionRegistry();
        builder.Services.AddSingleton(health);
        // The process that embeds the coordinator owns SIGINT/SIGTERM (the CLI stops it cleanly, a test harness has its
        // own): the default console lifetime would swallow them and stop nothing.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EmbeddedLifetime>();
        // One instance for every call: it counts the open health watches (an interceptor unknown to DI is made per call).
        builder.Services.AddSingleton<CallGuardInterceptor>();
        builder.Services.AddSingleton(new CoordinatorClock(time));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(validator);
        builder.Services.AddSingleton<IReadOnlySet<string>>(new HashSet<string>(MemberList.Parse(options.Members).Ids, StringComparer.Ordinal));
        builder.Services.AddSingleton(registry);
        if (observer is not null)
        {
            builder.Services.AddSingleton(observer);
        }

        var ledgerPath = options.LedgerPath ?? Path.ChangeExtension(options.StorePath, ".ledger.jsonl");
        builder.Services.AddSingleton(sp => new AuditTrail(
            ledgerPath, serverCertificate, store, options.FederationId, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFed.Coordinator.Audit")));
        builder.Services.AddSingleton(sp => new RoundOrchestrator(
            options, store, registry, evaluator, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFed.Coordinator.Rounds"), sp.GetRequiredService<AuditTrail>()));
        var app = builder.Build();
        try
        {
            var storeLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFed.Coordinator.Store");
            Log.StoreChecked(storeLog, store.Path);
            if (store.RowsHashedAtOpen > 0)
            {
                Log.RowsHashed(storeLog, store.Path, store.RowsHashedAtOpen);
            }

            _ = app.Services.GetRequiredService<AuditTrail>(); // compares the ledger with the store now, before anything listens
            app.MapGrpcService<FederationService>();
            app.MapGrpcHealthChecksService();
            var orchestrator = app.Services.GetRequiredService<RoundOrchestrator>();
            // Health follows the rounds through the orchestrator's own report event: no change to the orchestrator.
            orchestrator.RoundFinished += health.OnRoundFinished;
            return new CoordinatorHost(app, orchestrator, registry, store, health, options.Limits.DrainTimeout, storeLock);
        }
        catch
        {
            ((IDisposable)app).Dispose();
            throw;
        }
    }

    /// <summary>Starts listening and begins the federation.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        Address = CoordinatorTransport.ClientAddress(_app);
        _completion = Task.Run(() => _orchestrator.RunAsync(_stopping.Token), CancellationToken.None);
        _ = _completion.ContinueWith(
            t => _health.OnStopped(t.Exception!.InnerException?.Message ?? "error"),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Stops the federation and the server. A running round is left as interrupted in the store.</summary>
    public Task StopAsync() => StopAsync(null);

    /// <summary>
    /// Stops the federation and the server. The attempt in progress is stored and signed in the ledger as aborted with
    /// <paramref name="reason"/> (charged every release it had revealed) and run again under the same number on resume.
    /// </summary>
    /// <param name="reason">Why it stopped, for the aborted attempt's ledger entry (null: "the coordinator shut down").</param>
    public async Task StopAsync(string? reason)
    {
        if (reason is not null && !_stopping.IsCancellationRequested)
        {
            _orchestrator.ShutdownReason = reason;
        }

        await _stopping.CancelAsync();
        if (_completion is not null)
        {
            try
            {
                await _completion;
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or InvalidOperationException or IOException)
            {
                // The outcome is observed through Completion by whoever awaits it.
            }
        }

        // Every session first delivers what is queued for it (a federation's last messages above all), bounded.
        await _registry.ShutDownAsync(_drainTimeout);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync();
        _app.Services.GetRequiredService<AuditTrail>().Dispose();
        await _app.DisposeAsync();
        _stopping.Dispose();
        _storeLock.Dispose();
    }
}
