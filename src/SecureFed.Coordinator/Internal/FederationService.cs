using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
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
/// clear status; the coordinator itself keeps running. Text a peer sent is bounded (<see cref="PeerText"/>)
/// before it reaches the orchestrator, a log line or a status.
/// </summary>
internal sealed class FederationService : Federation.FederationBase
{
    /// <summary>The key under which a call's authenticated silo id is kept, so <see cref="CallGuardInterceptor"/> can name it.</summary>
    internal const string SiloKey = "securefed.silo";

    private const int EnhanceYourCalm = 0xB;

    private readonly CoordinatorOptions _options;
    private readonly PeerCertificateValidator _validator;
    private readonly IReadOnlySet<string> _members;
    private readonly SessionRegistry _registry;
    private readonly RoundOrchestrator _orchestrator;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly InboundObserver? _observer;

    public FederationService(
        CoordinatorOptions options, PeerCertificateValidator validator, IReadOnlySet<string> members, SessionRegistry registry,
        RoundOrchestrator orchestrator, ILogger<FederationService> logger, CoordinatorClock clock, InboundObserver? observer = null)
    {
        _observer = observer;
        _options = options;
        _validator = validator;
        _members = members;
        _registry = registry;
        _orchestrator = orchestrator;
        _logger = logger;
        _time = clock.Time;
    }

    public override async Task Connect(
        IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<CoordinatorMessage> responseStream, ServerCallContext context)
    {
        var (siloId, fingerprint, der) = Authenticate(context);
        context.UserState[SiloKey] = siloId;
        var ct = context.CancellationToken;
        if (!await ReadHelloAsync(requestStream, siloId, ct))
        {
            return;
        }

        CheckHello(requestStream.Current, siloId);
        // A member that stops reading cannot receive a trailer (flow control holds it back), so an overflowing outbox
        // resets the stream with ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED (gRPC's HTTP/2 mapping).
        var reset = context.GetHttpContext().Features.Get<IHttpResetFeature>();
        var session = new AgentSession(siloId, fingerprint, der, _options.Limits, _time, () =>
        {
            Log.OutboxFull(_logger, siloId, _options.Limits.MaxSessionOutboxBytes);
            reset?.Reset(EnhanceYourCalm);
        });
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, session.Aborted);
        // Welcome goes into the outbox before the session is visible to the orchestrator, so it precedes any plan.
        session.TrySend(new CoordinatorMessage
        {
            Header = DomainMapping.Header(_options.FederationId, 0, Stage.Hello),
            Welcome = new Welcome { SiloId = siloId, NextRound = (ulong)_orchestrator.NextRound, MaxChunkFloats = (uint)_options.MaxChunkFloats },
        });
        var peer = PeerOf(context);
        session.Peer = peer;
        switch (_registry.Open(session, out var live))
        {
            case SessionAdmission.Opened:
                break;
            case SessionAdmission.ShuttingDown:
                throw new RpcException(new Status(StatusCode.Unavailable, "the coordinator is shutting down"));
            case SessionAdmission.SeatTaken:
                throw SeatTaken(session, live!);
            default:
                throw new InvalidOperationException("unknown session admission");
        }

        Log.SiloConnected(_logger, siloId, fingerprint);
        var writer = session.RunWriterAsync(responseStream, linked.Token);
        try
        {
            var reader = ReadAsync(requestStream, session, linked.Token);
            var first = await Task.WhenAny(reader, writer);
            await first; // surfaces a violation or a transport error
            if (first == writer && session.End == SessionEnd.Completed)
            {
                // Federation complete (outbox drained): give the agent a moment to close its side.
                await Task.WhenAny(reader, Task.Delay(_options.Limits.DrainTimeout, _time, linked.Token));
            }

            ThrowIfEnded(session);
        }
        catch (SecureFedException ex)
        {
            var message = PeerText.Bound(ex.Message, 500);
            Log.ProtocolViolation(_logger, siloId, ex.Kind.ToString(), message);
            throw new RpcException(new Status(StatusMapping.ToStatusCode(ex.Kind), message));
        }
        catch (OperationCanceledException) when (session.Aborted.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            if (session.End == SessionEnd.Completed)
            {
                return; // cut after the drain window of a finished federation: everything was delivered
            }

            ThrowIfEnded(session);
            throw new RpcException(new Status(StatusCode.Unavailable, "the coordinator is shutting down"));
        }
        finally
        {
            _registry.Close(session);
            session.Abort(SessionEnd.Closed);
            if (session.SuppressedNotices > 0)
            {
                Log.NoticesSuppressed(_logger, siloId, session.SuppressedNotices, _options.Limits.NoticesPerMinute);
            }

            Log.SiloDisconnected(_logger, siloId);
            session.MarkClosed();
        }
    }

    /// <summary>Ends the call with the status that says why the session ended (OK after a completed federation).</summary>
    private void ThrowIfEnded(AgentSession session)
    {
        switch (session.End)
        {
            case SessionEnd.Open:
            case SessionEnd.Completed:
            case SessionEnd.Closed:
                return;
            case SessionEnd.ShuttingDown:
                throw new RpcException(new Status(StatusCode.Unavailable, "the coordinator is shutting down"));
            case SessionEnd.OutboxFull:
                var why = $"silo '{session.SiloId}' does not read its stream: more than Limits.MaxSessionOutboxBytes = {_options.Limits.MaxSessionOutboxBytes} bytes are queued for it";
                throw new RpcException(new Status(StatusCode.ResourceExhausted, why));
            default:
                throw new InvalidOperationException($"unknown session end {session.End}");
        }
    }

    /// <summary>
    /// A second session of a silo whose session is live: refused, logged and noted in the ledger (at no cost to the member:
    /// the coordinator cannot tell the genuine agent from a copy of its key). ALREADY_EXISTS tells the agent to retry: an
    /// agent restarted after a crash gets in once its old connection is closed.
    /// </summary>
    private RpcException SeatTaken(AgentSession refused, AgentSession live)
    {
        var since = live.ConnectedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var sameKey = string.Equals(refused.Fingerprint, live.Fingerprint, StringComparison.Ordinal) ? "the same certificate" : $"certificate {refused.Fingerprint}";
        Log.SeatTaken(_logger, refused.SiloId, refused.Peer, refused.Fingerprint, live.Peer);
        _orchestrator.NoteEvent(new AttemptFault(
            refused.SiloId,
            PeerText.Bound($"a second session presented {sameKey} from {refused.Peer} while the silo's session from {live.Peer} (since {since}) was live; refused, and the live session kept its seat"),
            Proven: false,
            SitsOut: false));
        var seconds = _options.Limits.DeadPeerBound.TotalSeconds;
        return new RpcException(new Status(StatusCode.AlreadyExists,
            $"silo '{refused.SiloId}' already has a live session with this coordinator (since {since}); a second one is refused so a copied key cannot take its seat. An agent restarted after a crash gets in once its old connection is closed (within {seconds} s of it going silent)"));
    }

    /// <summary>The peer's address as the transport saw it (not anything the peer said).</summary>
    private static string PeerOf(ServerCallContext context)
    {
        var connection = context.GetHttpContext().Connection;
        return connection.RemoteIpAddress is { } ip ? $"{ip}:{connection.RemotePort}" : PeerText.Bound(context.Peer, 80);
    }

    private async Task<bool> ReadHelloAsync(IAsyncStreamReader<AgentMessage> stream, string siloId, CancellationToken ct)
    {
        using var deadline = new CancellationTokenSource(_options.Limits.HelloTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            return await stream.MoveNext(linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            var seconds = _options.Limits.HelloTimeout.TotalSeconds;
            Log.HelloTimeout(_logger, siloId, seconds);
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"no Hello within Limits.HelloTimeout = {seconds} s; connect again and send Hello first"));
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<AgentMessage> stream, AgentSession session, CancellationToken ct)
    {
        while (await stream.MoveNext(ct))
        {
            if (session.End is SessionEnd.OutboxFull or SessionEnd.ShuttingDown)
            {
                // An ended session's messages must not reach the round: a cut stream may still have some in flight.
                return;
            }

            var message = stream.Current;
            if (message.BodyCase == AgentMessage.BodyOneofCase.PlanDecision)
            {
                // The one free-text field a peer sends: bounded once here, so the log, the round's stored row and the
                // ledger all see the same one-line reason.
                message.PlanDecision.Reason = PeerText.Bound(message.PlanDecision.Reason);
            }

            _observer?.Invoke(session.SiloId, message);
            _orchestrator.Handle(session, message);
        }
    }

    private (string SiloId, string Fingerprint, byte[] CertificateDer) Authenticate(ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        var result = _validator.ValidateSilo(certificate);
        if (!result.IsValid)
        {
            var reason = PeerText.Bound(result.Message, 500);
            Log.ConnectionRefused(_logger, reason);
            throw new RpcException(new Status(StatusCode.PermissionDenied, reason));
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
            fault = new ProtocolViolationException(FaultKind.FailedPrecondition, $"this coordinator runs federation '{_options.FederationId}', not '{PeerText.Bound(message.Header.FederationId, 80)}'");
        }
        else if (!string.Equals(message.Hello.ClaimedSiloId, siloId, StringComparison.Ordinal))
        {
            fault = new ProtocolViolationException(FaultKind.PermissionDenied, $"the message claims silo '{PeerText.Bound(message.Hello.ClaimedSiloId, 80)}' but the certificate belongs to '{siloId}'");
        }

        if (fault is not null)
        {
            Log.ProtocolViolation(_logger, siloId, fault.Kind.ToString(), fault.Message);
            throw StatusMapping.ToRpcException(fault);
        }
    }
}

/// <summary>Test seam: sees every message an authenticated agent sends, before the orchestrator does.</summary>
internal delegate void InboundObserver(string siloId, AgentMessage message);

/// <summary>The coordinator's clock, shared with the gRPC services (a holder, so no other component's TimeProvider changes).</summary>
internal sealed record CoordinatorClock(TimeProvider Time);
