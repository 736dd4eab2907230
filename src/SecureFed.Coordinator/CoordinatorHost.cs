using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
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
    private readonly CancellationTokenSource _stopping = new();
    private Task<FederationOutcome>? _completion;
    private int _disposed;

    private CoordinatorHost(WebApplication app, RoundOrchestrator orchestrator, SessionRegistry registry, FederationStore store)
    {
        _app = app;
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

        var store = FederationStore.Open(options.StorePath, options.FederationId, options.StudyHash, options.StudyDocument);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 4;
            kestrel.Listen(options.ListenAddress, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = serverCertificate,
                    SslProtocols = SslProtocols.Tls13,
                    ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                    // Accepted here, validated per call against the consortium CA only (FederationService).
                    ClientCertificateValidation = static (_, _, _) => true,
                    CheckCertificateRevocation = false,
                });
            });
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxMessageBytes;
            o.MaxSendMessageSize = options.MaxMessageBytes;
            o.EnableDetailedErrors = false;
        });
        // grpc.health.v1 on the same endpoint: it needs TLS but no client certificate (the federation service
        // checks certificates per call), so an orchestrator's probe can reach it.
        builder.Services.AddGrpcHealthChecks().AddCheck("federation", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        var registry = new SessionRegistry();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(validator);
        builder.Services.AddSingleton<IReadOnlySet<string>>(new HashSet<string>(members.Ids, StringComparer.Ordinal));
        builder.Services.AddSingleton(registry);
        if (observer is not null)
        {
            builder.Services.AddSingleton(observer);
        }

        var audit = new AuditTrail(options.LedgerPath ?? Path.ChangeExtension(options.StorePath, ".ledger.jsonl"), serverCertificate, store, options.FederationId);
        builder.Services.AddSingleton(audit);
        builder.Services.AddSingleton(sp => new RoundOrchestrator(
            options, store, registry, evaluator, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureFed.Coordinator.Rounds"), audit));
        var app = builder.Build();
        app.MapGrpcService<FederationService>();
        app.MapGrpcHealthChecksService();
        return new CoordinatorHost(app, app.Services.GetRequiredService<RoundOrchestrator>(), registry, store);
    }

    /// <summary>Starts listening and begins the federation.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal));
        _completion = Task.Run(() => _orchestrator.RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Stops the federation and the server. A running round is left as interrupted in the store.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        if (_completion is not null)
        {
            try
            {
                await _completion;
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or InvalidOperationException)
            {
                // The outcome is observed through Completion by whoever awaits it.
            }
        }

        _registry.ShutDown();
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
    }
}
