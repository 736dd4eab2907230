using Grpc.Core;
using Microsoft.Extensions.Logging;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Identity;
using SecureFed.Protocol;
using Stage = SecureFed.Protocol.Stage;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The gRPC endpoint. Authenticates the peer from its TLS client certificate (never from a message),
/// opens a session, and forwards each message to the orchestrator. Any violation ends the stream with a
/// clear status; the coordinator itself keeps running.
/// </summary>
internal sealed class FederationService : Federation.FederationBase
{
    private readonly CoordinatorOptions _options;
    private readonly PeerCertificateValidator _validator;
    private readonly IReadOnlySet<string> _members;
    private readonly SessionRegistry _registry;
    private readonly RoundOrchestrator _orchestrator;
    private readonly ILogger _logger;
    private readonly InboundObserver? _observer;

    public FederationService(
        CoordinatorOptions options, PeerCertificateValidator validator, IReadOnlySet<string> members, SessionRegistry registry,
        RoundOrchestrator orchestrator, ILogger<FederationService> logger, InboundObserver? observer = null)
    {
        _observer = observer;
        _options = options;
        _validator = validator;
        _members = members;
        _registry = registry;
        _orchestrator = orchestrator;
        _logger = logger;
    }

    public override async Task Connect(
        IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<CoordinatorMessage> responseStream, ServerCallContext context)
    {
        var (siloId, fingerprint, der) = Authenticate(context);
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct))
        {
            return;
        }

        CheckHello(requestStream.Current, siloId);
        var session = new AgentSession(siloId, fingerprint, der);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, session.Aborted);
        // Welcome goes into the outbox before the session is visible to the orchestrator, so it precedes any plan.
        session.TrySend(new CoordinatorMessage
        {
            Header = DomainMapping.Header(_options.FederationId, 0, Stage.Hello),
            Welcome = new Welcome { SiloId = siloId, NextRound = (ulong)_orchestrator.NextRound, MaxChunkFloats = (uint)_options.MaxChunkFloats },
        });
        if (!_registry.Open(session))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the coordinator is shutting down"));
        }

        Log.SiloConnected(_logger, siloId, fingerprint);
        var writer = session.RunWriterAsync(responseStream, linked.Token);
        try
        {
            var reader = ReadAsync(requestStream, session, linked.Token);
            var first = await Task.WhenAny(reader, writer);
            await first; // surfaces a violation or a transport error
            if (first == writer)
            {
                // Federation complete (outbox drained): give the agent a moment to close its side.
                await Task.WhenAny(reader, Task.Delay(TimeSpan.FromSeconds(5), ct));
            }
        }
        catch (SecureFedException ex)
        {
            Log.ProtocolViolation(_logger, siloId, ex.Kind.ToString(), ex.Message);
            throw StatusMapping.ToRpcException(ex);
        }
        catch (OperationCanceledException) when (session.Aborted.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw _registry.IsShuttingDown
                ? new RpcException(new Status(StatusCode.Unavailable, "the coordinator is shutting down"))
                : new RpcException(new Status(StatusCode.Aborted, "session replaced by a newer connection of the same silo"));
        }
        finally
        {
            _registry.Close(session);
            session.Abort();
            Log.SiloDisconnected(_logger, siloId);
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<AgentMessage> stream, AgentSession session, CancellationToken ct)
    {
        while (await stream.MoveNext(ct))
        {
            _observer?.Invoke(session.SiloId, stream.Current);
            _orchestrator.Handle(session, stream.Current);
        }
    }

    private (string SiloId, string Fingerprint, byte[] CertificateDer) Authenticate(ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        var result = _validator.ValidateSilo(certificate);
        if (!result.IsValid)
        {
            Log.ConnectionRefused(_logger, result.Message);
            throw new RpcException(new Status(StatusCode.PermissionDenied, result.Message));
        }

        var siloId = result.SiloId!.ToString();
        if (_members.Count > 0 && !_members.Contains(siloId))
        {
            var message = $"silo '{siloId}' is not a member of federation '{_options.FederationId}'";
            Log.ConnectionRefused(_logger, message);
            throw new RpcException(new Status(StatusCode.PermissionDenied, message));
        }

        return (siloId, result.Sha256Fingerprint!, certificate!.RawData);
    }

    private void CheckHello(AgentMessage message, string siloId)
    {
        SecureFedException? fault = null;
        if (message.BodyCase != AgentMessage.BodyOneofCase.Hello || message.Header is null)
        {
            fault = new ProtocolViolationException(FaultKind.FailedPrecondition, $"expected stage Hello, received {message.BodyCase}");
        }
        else if (!string.Equals(message.Header.FederationId, _options.FederationId, StringComparison.Ordinal))
        {
            fault = new ProtocolViolationException(FaultKind.FailedPrecondition, $"this coordinator runs federation '{_options.FederationId}', not '{message.Header.FederationId}'");
        }
        else if (!string.Equals(message.Hello.ClaimedSiloId, siloId, StringComparison.Ordinal))
        {
            fault = new ProtocolViolationException(FaultKind.PermissionDenied, $"the message claims silo '{Sanitize(message.Hello.ClaimedSiloId)}' but the certificate belongs to '{siloId}'");
        }

        if (fault is not null)
        {
            Log.ProtocolViolation(_logger, siloId, fault.Kind.ToString(), fault.Message);
            throw StatusMapping.ToRpcException(fault);
        }
    }

    private static string Sanitize(string s) =>
        new([.. s.Take(64).Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '?')]);
}

/// <summary>Test seam: sees every message an authenticated agent sends, before the orchestrator does.</summary>
internal delegate void InboundObserver(string siloId, AgentMessage message);
