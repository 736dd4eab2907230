using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureFed.Agent.Internal;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Crypto;
using SecureFed.Identity;
using SecureFed.Protocol;
using SecureFed.Protocol.SecureAggregation;
using Stage = SecureFed.Protocol.Stage;

namespace SecureFed.Agent;

/// <summary>
/// A silo's agent. Dials out to the coordinator (a silo opens no inbound port), reconnects with exponential
/// backoff, checks every plan against the silo's own policy, trains on local data and uploads the update.
/// <see cref="RunAsync"/> returns when the federation is complete. One run at a time; dispose the agent once its
/// run has returned.
/// </summary>
public sealed class SiloAgent : IDisposable
{
    private readonly AgentOptions _options;
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2 _root;
    private readonly PeerKeyCache _peers; // one for the agent's life: it remembers the chains it built and the keys it loaded
    private readonly ILocalTrainer _trainer;
    private readonly LocalPolicy _policy;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SiloPrivacyLedger _ledger;
    private readonly IRandomSource _noise;
    private readonly Random _dropouts;
    private long _bytesSent;
    private long _maskTicks;
    private int _disposed;

    /// <summary>Creates the agent; fails fast when the silo certificate is not a valid consortium silo certificate.</summary>
    public SiloAgent(
        AgentOptions options, X509Certificate2 siloCertificate, X509Certificate2 consortiumRoot, ILocalTrainer trainer,
        LocalPolicy? policy = null, ILogger? logger = null, TimeProvider? time = null, SiloPrivacyLedger? ledger = null, IRandomSource? noise = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(siloCertificate);
        ArgumentNullException.ThrowIfNull(consortiumRoot);
        _options = options.Validate();
        _certificate = siloCertificate;
        _root = consortiumRoot;
        _trainer = trainer ?? throw new ArgumentNullException(nameof(trainer));
        _policy = policy ?? new LocalPolicy();
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _ledger = ledger ?? new SiloPrivacyLedger();
        _noise = noise ?? SystemRandomSource.Instance;
        _dropouts = new Random(_options.DropoutSeed);
        var validator = new PeerCertificateValidator(consortiumRoot, _time, new PeerRestrictions { DenyList = _options.DenyList });
        var own = validator.ValidateSilo(siloCertificate);
        if (!own.IsValid)
        {
            throw new ArgumentException($"the silo certificate is not usable: {own.Message}", nameof(siloCertificate));
        }

        if (!siloCertificate.HasPrivateKey)
        {
            throw new ArgumentException("the silo certificate has no private key", nameof(siloCertificate));
        }

        SiloId = own.SiloId!.ToString();
        _peers = new PeerKeyCache(validator);
    }

    /// <summary>Protobuf bytes this agent has sent (all messages), and time spent masking inputs: for benchmarks.</summary>
    public AgentStatistics Statistics => new(Interlocked.Read(ref _bytesSent), TimeSpan.FromTicks(Interlocked.Read(ref _maskTicks)));

    /// <summary>This silo's own privacy ledger.</summary>
    public SiloPrivacyLedger Ledger => _ledger;

    /// <summary>This silo's id, as written in its certificate.</summary>
    public string SiloId { get; }

    /// <summary>What this silo's ledger entries state about it: its id and how its policy measures its epsilon.</summary>
    private SiloLedgerStamp LedgerStamp => new(SiloId, _policy.Accountant, _policy.Delta, _policy.EpsilonCap);

    /// <summary>Raised when local training of a round starts (after the plan passed policy and the model hash checked).</summary>
    public event Action<long>? TrainingStarted;

    /// <summary>Raised when a round's result arrives.</summary>
    public event Action<long, RoundResult>? RoundResultReceived;

    /// <summary>Frees the peer certificates and keys the agent keeps for its life. Call once <see cref="RunAsync"/> has
    /// returned: a run still going fails at its next secure round. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _peers.Dispose();
        }
    }

    /// <summary>Runs as <see cref="RunAsync"/> does, then disposes the agent however the run ends: for an agent made
    /// for one run.</summary>
    public async Task<AgentOutcome> RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(cancellationToken);
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Runs until the federation completes. Throws <see cref="RpcException"/> when the coordinator refuses this silo's identity.</summary>
    public async Task<AgentOutcome> RunAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var channel = AgentChannel.Create(_options.Coordinator, _certificate, _root, _options.MaxMessageBytes, _time, _options.DenyList, (_options.KeepAlivePingDelay, _options.KeepAlivePingTimeout));
        var client = new Federation.FederationClient(channel);
        var failures = 0;
        var participated = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var welcomed = false;
            try
            {
                var outcome = await RunSessionAsync(client, () => (failures, welcomed) = (0, true), r => participated++, cancellationToken);
                if (outcome is not null)
                {
                    return outcome with { RoundsParticipated = participated };
                }

                failures++;
                await BackoffAsync(failures, "stream ended", "the coordinator closed the stream", cancellationToken);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && Hopeless(ex, welcomed) is { } reason)
            {
                // Identity, membership, federation id, the coordinator's CA: none of these heals by retrying.
                Log.GaveUp(_logger, reason);
                throw new AgentGaveUpException(reason, ex);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && ex.StatusCode == StatusCode.AlreadyExists)
            {
                // This silo already has a live session: transient for an agent restarted after a crash (its old connection
                // is closed within the coordinator's keep-alive bound); lasting when a copy of this silo's key is in use.
                failures++;
                await BackoffAsync(failures, "seat taken", ex.Status.Detail, cancellationToken, seatTaken: true);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failures++;
                var refused = Cause<System.Net.Sockets.SocketException>(ex)?.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused;
                await BackoffAsync(failures, refused ? "connection refused" : ex.StatusCode.ToString(), refused ? $"connection refused at {_options.Coordinator}" : ex.Status.Detail, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
            {
                // Transport torn down under us (a coordinator restarting, a reset stream): reconnect.
                failures++;
                await BackoffAsync(failures, ex.GetType().Name, ex.Message, cancellationToken);
            }
        }
    }

    /// <summary>Why <paramref name="ex"/> cannot be fixed by retrying (one line naming the coordinator and the fix), or null when it may be transient.</summary>
    private string? Hopeless(RpcException ex, bool welcomed)
    {
        var detail = Identity.PeerText.Bound(ex.Status.Detail);
        if (ex.StatusCode == StatusCode.PermissionDenied)
        {
            return $"the coordinator at {_options.Coordinator} refuses this silo: {detail}";
        }

        if (!welcomed && ex.StatusCode == StatusCode.FailedPrecondition && detail.Contains("runs federation", StringComparison.Ordinal))
        {
            return $"wrong federation: {detail}; this agent is configured for '{Identity.PeerText.Bound(_options.FederationId)}' (Agent:FederationId)";
        }

        return Cause<System.Security.Authentication.AuthenticationException>(ex) is not null
            ? $"the coordinator at {_options.Coordinator} presented a certificate this consortium's CA (Agent:CaCertificate) does not accept, or refused this silo's; check both are from the same consortium"
            : null;
    }

    /// <summary>The first exception of type <typeparamref name="T"/> among <paramref name="ex"/>'s debug exception and its causes.</summary>
    private static T? Cause<T>(RpcException ex)
        where T : Exception
    {
        for (var e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private async Task BackoffAsync(int failures, string status, string detail, CancellationToken ct, bool seatTaken = false)
    {
        if (_options.MaxReconnectAttempts > 0 && failures > _options.MaxReconnectAttempts)
        {
            throw new TimeoutException($"could not reach the coordinator after {_options.MaxReconnectAttempts} attempts (last: {status}: {detail})");
        }

        var exp = Math.Min(_options.ReconnectMax.TotalMilliseconds, _options.ReconnectMin.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20)));
        var delay = TimeSpan.FromMilliseconds(exp * (0.5 + (Random.Shared.NextDouble() * 0.5)));
        if (seatTaken)
        {
            Log.SeatTaken(_logger, SiloId, Identity.PeerText.Bound(detail), delay);
        }
        else
        {
            Log.ConnectionFailed(_logger, status, detail, delay);
        }

        await Task.Delay(delay, _time, ct);
    }

    private async Task<AgentOutcome?> RunSessionAsync(
        Federation.FederationClient client, Action onConnected, Action<long> onParticipated, CancellationToken ct)
    {
        using var call = client.Connect(cancellationToken: ct);
        await SendAsync(call, new AgentMessage
        {
            Header = DomainMapping.Header(_options.FederationId, 0, Stage.Hello),
            Hello = new Hello { ClaimedSiloId = SiloId, AgentVersion = typeof(SiloAgent).Assembly.GetName().Version?.ToString() ?? "0" },
        }, ct);

        Protocol.RoundPlan? plan = null;
        Protocol.RoundPlan? accepted = null;     // the last plan this silo accepted, for its line when the round ends
        VectorAssembler? model = null;
        VectorAssembler? evaluated = null;       // a model sent for evaluation (STAGE_EVALUATE)
        string? evaluatedHash = null;
        var pending = new Dictionary<string, PendingInput>(StringComparer.Ordinal); // this round's vectors by task, kept until masked
        SecureAggregationSession? secure = null;
        var dropAt = Contracts.V1.Stage.Unspecified; // fault injection: the stage at which this silo goes silent
        var maxChunk = 1024;
        await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
        {
            if (message.Header is null || !string.Equals(message.Header.FederationId, _options.FederationId, StringComparison.Ordinal))
            {
                Log.CoordinatorViolation(_logger, 0, "message without header or for another federation");
                continue;
            }

            switch (message.BodyCase)
            {
                case CoordinatorMessage.BodyOneofCase.Welcome:
                    if (!string.Equals(message.Welcome.SiloId, SiloId, StringComparison.Ordinal))
                    {
                        throw new RpcException(new Status(StatusCode.PermissionDenied, "the coordinator names this silo differently from its certificate"));
                    }

                    maxChunk = (int)Math.Clamp(message.Welcome.MaxChunkFloats, 1u, (uint)((_options.MaxMessageBytes - 4096) / 4));
                    onConnected();
                    Log.Connected(_logger, SiloId, _options.Coordinator);
                    break;

                case CoordinatorMessage.BodyOneofCase.RoundPlan:
                    plan = null;
                    model = null;
                    evaluated = null;
                    evaluatedHash = null;
                    pending.Clear();
                    secure?.Dispose();
                    secure = null;
                    dropAt = ChooseDropout();
                    var planSpan = AgentTelemetry.Start("plan", DomainMapping.TraceContext(message.Header), SiloId, checked((long)message.Header.Round));
                    Protocol.RoundPlan? candidate = null;
                    try
                    {
                        candidate = DomainMapping.FromWire(message.Header, message.RoundPlan);
                        _policy.Check(candidate, _trainer.Dataset);
                        _policy.CheckPrivacy(candidate, _ledger);
                        _trainer.CheckPlan(candidate);
                        var recordSpend = candidate.Kind == RoundKinds.Training ? _trainer.RecordPrivacyFor(candidate) : null;
                        _policy.CheckRecordPrivacy(recordSpend, _ledger);
                        var statistics = candidate.Kind == RoundKinds.Statistics ? _trainer.ComputeStatistics(candidate) : null;
                        plan = candidate;
                        accepted = candidate;
                        model = candidate.Kind == RoundKinds.Statistics ? null : new VectorAssembler(candidate.ParameterCount, int.MaxValue);
                        await SendDecisionAsync(call, candidate.Round, candidate.ComputeHash(), true, string.Empty, ct, recordSpend);
                        if (statistics is not null && candidate.Task(SumTask.Statistics) is { } task)
                        {
                            Log.PlanAccepted(_logger, candidate.Round, candidate.ComputeHash());
                            await ContributeAsync(call, candidate, task, statistics, pending, maxChunk, ct);
                        }
                    }
                    catch (SecureFedException ex)
                    {
                        var round = checked((long)message.Header.Round);
                        Log.PlanRefused(_logger, round, ex.Message);
                        if (plan is null)
                        {
                            await SendDecisionAsync(call, round, candidate?.ComputeHash() ?? string.Empty, false, ex.Message, ct);
                        }

                        plan = null;
                    }

                    planSpan?.Dispose();
                    break;

                case CoordinatorMessage.BodyOneofCase.EvaluateModel:
                    if (plan is null || (long)message.Header.Round != plan.Round || plan.Task(SumTask.Evaluation) is null
                        || message.EvaluateModel.ParameterCount != (uint)plan.ParameterCount)
                    {
                        break; // not part of this round, or not a model this plan's study can evaluate
                    }

                    evaluatedHash = message.EvaluateModel.ModelVersionHash;
                    evaluated = new VectorAssembler(plan.ParameterCount, int.MaxValue);
                    break;

                case CoordinatorMessage.BodyOneofCase.ModelChunk:
                    var forEvaluation = message.Header.Stage == Contracts.V1.Stage.Evaluate;
                    var assembler = forEvaluation ? evaluated : model;
                    if (plan is null || assembler is null || (long)message.Header.Round != plan.Round)
                    {
                        break; // a model for a plan this silo refused or never saw
                    }

                    try
                    {
                        assembler.Add(message.ModelChunk.Offset, message.ModelChunk.TotalLength, message.ModelChunk.Values);
                        if (!assembler.IsComplete)
                        {
                            break;
                        }

                        var global = assembler.ToArray();
                        if (forEvaluation)
                        {
                            evaluated = null;
                        }
                        else
                        {
                            model = null;
                        }

                        if (!string.Equals(ModelHash.Compute(global), forEvaluation ? evaluatedHash : plan.ModelVersionHash, StringComparison.Ordinal))
                        {
                            throw new ProtocolViolationException(
                                FaultKind.InvalidArgument, forEvaluation ? "the model sent for evaluation does not match its hash" : "the global model does not match the plan's model hash");
                        }

                        if (!forEvaluation)
                        {
                            Log.PlanAccepted(_logger, plan.Round, plan.ComputeHash());
                        }

                        // A model sent after the round's training, or the one an evaluation-only round names.
                        if (forEvaluation || plan.Kind == RoundKinds.Evaluation)
                        {
                            using var evalSpan = AgentTelemetry.Start("evaluate", DomainMapping.TraceContext(message.Header), SiloId, plan.Round);
                            var task = plan.Task(SumTask.Evaluation)
                                ?? throw new ProtocolViolationException(FaultKind.InvalidArgument, "an evaluation round whose plan sums no evaluation vector");
                            var sums = await _trainer.EvaluateAsync(plan, global, ct);
                            LogLocalEvaluation(plan, sums);
                            await ContributeAsync(call, plan, task, sums, pending, maxChunk, ct);
                            break;
                        }

                        TrainingStarted?.Invoke(plan.Round);
                        using var trainSpan = AgentTelemetry.Start("train", DomainMapping.TraceContext(message.Header), SiloId, plan.Round);
                        var update = await _trainer.TrainAsync(plan, global, ct);
                        Log.Trained(_logger, plan.Round, update.ExampleCount, update.TrainLoss);
                        if (update.RecordPrivacy is { } spend)
                        {
                            // Written before the update leaves: a crash after the upload never under-counts the records' epsilon.
                            var recordEpsilon = _ledger.RecordTraining(plan.FederationId, plan.Round, spend, SiloId, _policy.RecordEpsilonCap, plan.ComputeHash());
                            Log.RecordEpsilon(_logger, plan.Round, recordEpsilon, _policy.RecordEpsilonCap, spend.Delta);
                        }

                        if (plan.Privacy is { } dp)
                        {
                            // Clip and noise before anything leaves; the silo's ledger is written first, so a
                            // crash after the upload can never under-count what this silo released.
                            _ledger.Record(plan.FederationId, plan.Round, PrivacyCharge.WorstCaseNoiseMultiplier(dp, plan.ParameterCount, plan.SecureAggregation is not null), planHash: plan.ComputeHash(), stamp: LedgerStamp);
                            update = new LocalUpdate(UpdatePrivatizer.Apply(update.Delta, dp, _noise), 1);
                        }

                        if (plan.SecureAggregation is not null)
                        {
                            pending[SumTask.Training] = PendingInput.Of(update.Delta); // leaves only masked, in the MaskedInput stage
                            onParticipated(plan.Round);
                        }
                        else
                        {
                            await UploadAsync(call, plan, SumTask.Training, update.Delta, update.ExampleCount, maxChunk, ct);
                            onParticipated(plan.Round);
                            Log.Uploaded(_logger, plan.Round, update.ExampleCount);
                            if (plan.Task(SumTask.Evaluation) is null)
                            {
                                plan = null;
                            }
                        }
                    }
                    catch (SecureFedException ex)
                    {
                        Log.CoordinatorViolation(_logger, checked((long)message.Header.Round), ex.Message);
                        plan = null;
                        model = null;
                        evaluated = null;
                    }
                    catch (Exception ex) when (ex is not (OperationCanceledException or RpcException))
                    {
                        // A local failure (training, ledger I/O) costs this silo the round, not the session:
                        // nothing was uploaded, and the coordinator counts the silo as a dropout.
                        Log.LocalFailure(_logger, checked((long)message.Header.Round), ex.GetType().Name, ex.Message);
                        plan = null;
                        model = null;
                        evaluated = null;
                    }

                    break;

                case CoordinatorMessage.BodyOneofCase.SecaggStart:
                case CoordinatorMessage.BodyOneofCase.AdvertisedKeys:
                case CoordinatorMessage.BodyOneofCase.ShareKeysDelivery:
                case CoordinatorMessage.BodyOneofCase.ConsistencyCheckRequest:
                case CoordinatorMessage.BodyOneofCase.UnmaskRequest:
                    if (plan is null || (long)message.Header.Round != plan.Round || message.Header.Stage == dropAt)
                    {
                        if (plan is not null && message.Header.Stage == dropAt)
                        {
                            // A simulated crash: the stream goes down (the coordinator sees the silo leave at once)
                            // and the agent reconnects for later rounds, as a restarted silo would.
                            Log.InjectedDropout(_logger, plan.Round, dropAt.ToString());
                            secure?.Dispose();
                            return null;
                        }

                        break; // not (or no longer) part of this round
                    }

                    var stageSpan = AgentTelemetry.Start(message.Header.Stage.ToString().ToLowerInvariant(), DomainMapping.TraceContext(message.Header), SiloId, plan.Round);
                    try
                    {
                        secure = await HandleSecureAsync(call, plan, secure, pending, message, maxChunk, ct);
                    }
                    catch (Exception ex) when (ex is SecureFedException or ArgumentException or System.Security.Cryptography.CryptographicException)
                    {
                        // An honest client stops at the first thing it must refuse; the round goes on (or aborts) without it.
                        Log.SecureAggregationRefused(_logger, plan.Round, ex.Message);
                        secure?.Dispose();
                        secure = null;
                        plan = null;
                        pending.Clear();
                    }

                    stageSpan?.Dispose();
                    break;

                case CoordinatorMessage.BodyOneofCase.RoundResult:
                    secure?.Dispose();
                    secure = null;
                    pending.Clear();
                    RoundResultReceived?.Invoke(checked((long)message.Header.Round), message.RoundResult);
                    if (accepted is not null && (long)message.Header.Round == accepted.Round)
                    {
                        LogEpsilon(accepted);
                        accepted = null;
                    }

                    break;

                case CoordinatorMessage.BodyOneofCase.Notice:
                    Log.Notice(_logger, message.Notice.Message);
                    break;

                case CoordinatorMessage.BodyOneofCase.FederationComplete:
                    Log.Complete(_logger, message.FederationComplete.RoundsCompleted, message.FederationComplete.FinalModelVersionHash);
                    await call.RequestStream.CompleteAsync();
                    return new AgentOutcome(
                        SiloId, checked((int)message.FederationComplete.RoundsCompleted), 0, message.FederationComplete.FinalModelVersionHash,
                        string.IsNullOrEmpty(message.FederationComplete.StopReason) ? null : message.FederationComplete.StopReason);

                case CoordinatorMessage.BodyOneofCase.None:
                default:
                    Log.CoordinatorViolation(_logger, 0, $"unexpected message {message.BodyCase}");
                    break;
            }
        }

        return null;
    }

    /// <summary>
    /// A statistics or evaluation vector of this silo: privatized under differential privacy (and recorded in the
    /// silo's own ledger first), then kept for the task's secure sum, or uploaded at once under plain aggregation.
    /// </summary>
    private async Task ContributeAsync(
        AsyncDuplexStreamingCall<AgentMessage, CoordinatorMessage> call, Protocol.RoundPlan plan, SumTask task, double[] vector,
        Dictionary<string, PendingInput> pending, int maxChunk, CancellationToken ct)
    {
        if (vector.Length != task.Length)
        {
            throw new PolicyRefusedException($"this silo's {task.Name} vector has {vector.Length} values; the plan expects {task.Length}");
        }

        if (plan.Privacy is { } dp && task.ClipNorm > 0)
        {
            _ledger.Record(plan.FederationId, plan.Round, PrivacyCharge.ReleaseNoiseMultiplier(dp, task, dp.Threshold, plan.SecureAggregation is not null), task.Name, plan.ComputeHash(), LedgerStamp);
            vector = UpdatePrivatizer.ApplyToRelease(vector, dp, task, _noise);
        }

        if (plan.SecureAggregation is not null)
        {
            pending[task.Name] = PendingInput.Of(vector);
            return;
        }

        await UploadAsync(call, plan, task.Name, [.. vector.Select(v => (float)v)], 1, maxChunk, ct);
    }

    /// <summary>This silo's own metrics of a model on its held-out rows, before any noise; they stay in its log.</summary>
    private void LogLocalEvaluation(Protocol.RoundPlan plan, double[] sums)
    {
        if (plan.Model.ClassCount < 2 || sums.Length != EvaluationSums.LengthFor(plan.Model.ClassCount))
        {
            return; // ContributeAsync refuses it with the reason
        }

        var local = EvaluationSums.Decode(sums, plan.Model.ClassCount, 1);
        Log.LocalEvaluation(_logger, plan.Round, local.Examples, local.Examples > 0 ? (double)local.Correct / local.Examples : double.NaN,
            local.Examples > 0 ? local.LossSum / local.Examples : double.NaN);
    }

    /// <summary>After a round this silo took part in: its own client-level epsilon (from its ledger) against its cap.</summary>
    private void LogEpsilon(Protocol.RoundPlan plan)
    {
        var cap = _policy.EpsilonCap > 0 ? _policy.EpsilonCap.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : "none";
        if (plan.Privacy is null)
        {
            Log.RoundWithoutNoise(_logger, plan.Round, cap);
            return;
        }

        var epsilon = _ledger.Epsilon(Privacy.PrivacyAccountants.ParseKind(_policy.Accountant), _policy.Delta);
        Log.RoundEpsilon(_logger, plan.Round, epsilon, _policy.Delta, _policy.Accountant, cap);
    }

    private async Task<SecureAggregationSession?> HandleSecureAsync(
        AsyncDuplexStreamingCall<AgentMessage, CoordinatorMessage> call, Protocol.RoundPlan plan, SecureAggregationSession? secure,
        Dictionary<string, PendingInput> pending, CoordinatorMessage message, int maxChunk, CancellationToken ct)
    {
        if (message.BodyCase == CoordinatorMessage.BodyOneofCase.SecaggStart)
        {
            secure?.Dispose();
            secure = SecureAggregationSession.Start(plan, message.SecaggStart, SiloId, _certificate, _peers, _noise);
            RunningSecureSum = secure.Parameters;
            await SendAsync(call, new AgentMessage { Header = HeaderOf(plan, secure.Task, Contracts.V1.Stage.AdvertiseKeys), KeyAdvertisement = secure.AdvertiseKeys() }, ct);
            return secure;
        }

        if (secure is null)
        {
            throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{message.BodyCase} before secure aggregation started");
        }

        if (!string.Equals(DomainMapping.TaskOf(message.Header), secure.Task, StringComparison.Ordinal))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"{message.BodyCase} for another task than the running secure sum of '{secure.Task}'");
        }

        switch (message.BodyCase)
        {
            case CoordinatorMessage.BodyOneofCase.AdvertisedKeys:
                await SendAsync(call, new AgentMessage { Header = HeaderOf(plan, secure.Task, Contracts.V1.Stage.ShareKeys), ShareKeys = secure.ShareKeys(message.AdvertisedKeys) }, ct);
                break;
            case CoordinatorMessage.BodyOneofCase.ShareKeysDelivery:
                var update = pending.GetValueOrDefault(secure.Task)
                    ?? throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"no local {secure.Task} vector to mask (the local work did not finish)");
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                ulong[] masked;
                try
                {
                    masked = secure.MaskInput(message.ShareKeysDelivery, update);
                }
                catch (Protocol.SecureAggregation.ShareComplaintException complaint)
                {
                    // A peer signed a share this silo cannot open: say who, with the key that proves it, then give up.
                    var body = new ShareComplaint { Accused = complaint.Accused, ShareKey = Google.Protobuf.ByteString.CopyFrom(complaint.ShareKey), Reason = complaint.Reason };
                    await SendAsync(call, new AgentMessage { Header = HeaderOf(plan, secure.Task, Contracts.V1.Stage.MaskedInput), ShareComplaint = body }, ct);
                    throw;
                }

                pending.Remove(secure.Task);
                Interlocked.Add(ref _maskTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
                // Fixed-width words, so the secure upload is the plain one's size plus a constant. One buffer serves
                // every chunk: the message wraps it instead of copying it, and a write has serialized the message into
                // the stream by the time it completes, so the next chunk may overwrite it (a fresh array per chunk was
                // 4 MB of new memory per silo at L = 1e6, and the kernel's page clearing showed in the profile).
                var ringBits = secure.Parameters.RingBits;
                var buffer = new byte[Protocol.SecureAggregation.RingWords.ByteCount(Math.Min(maxChunk, masked.Length), ringBits)];
                foreach (var (offset, values) in VectorAssembler.Chunk<ulong>(masked, maxChunk))
                {
                    var words = buffer.AsMemory(0, Protocol.SecureAggregation.RingWords.ByteCount(values.Length, ringBits));
                    Protocol.SecureAggregation.RingWords.Encode(values.Span, ringBits, words.Span);
                    var chunk = new MaskedInputChunk
                    {
                        Sender = SiloId, Offset = (uint)offset, TotalLength = (uint)masked.Length, Last = offset + values.Length >= masked.Length,
                        Words = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(words),
                    };
                    await SendAsync(call, new AgentMessage { Header = HeaderOf(plan, secure.Task, Contracts.V1.Stage.MaskedInput), MaskedInputChunk = chunk }, ct);
                }

                Log.Uploaded(_logger, plan.Round, 1);
                break;
            case CoordinatorMessage.BodyOneofCase.ConsistencyCheckRequest:
                await SendAsync(call, new AgentMessage { Header = HeaderOf(plan, secure.Task, Contracts.V1.Stage.ConsistencyCheck), ConsistencySignature = secure.SignConsistency(message.ConsistencyCheckRequest) }, ct);
                break;
            case CoordinatorMessage.BodyOneofCase.UnmaskRequest:
                await SendAsync(call, new AgentMessage { Header = HeaderOf(plan, secure.Task, Contracts.V1.Stage.Unmask), UnmaskResponse = secure.Unmask(message.UnmaskRequest) }, ct);
                break;
            default:
                throw new ProtocolViolationException(FaultKind.InvalidArgument, $"unexpected message {message.BodyCase}");
        }

        return secure;
    }

    private static Header HeaderOf(Protocol.RoundPlan plan, string task, Contracts.V1.Stage stage) =>
        new() { FederationId = plan.FederationId, Round = (ulong)plan.Round, Stage = stage, Task = DomainMapping.WireTask(task) };

    /// <summary>Fault injection for simulations: with probability DropoutProbability, the stage at which this silo goes silent this round.</summary>
    private Contracts.V1.Stage ChooseDropout()
    {
        if (_options.DropAtStage is { } forced)
        {
            return forced;
        }

        if (_options.DropoutProbability <= 0 || _dropouts.NextDouble() >= _options.DropoutProbability)
        {
            return Contracts.V1.Stage.Unspecified;
        }

        Contracts.V1.Stage[] stages = [Contracts.V1.Stage.AdvertiseKeys, Contracts.V1.Stage.ShareKeys, Contracts.V1.Stage.MaskedInput, Contracts.V1.Stage.ConsistencyCheck, Contracts.V1.Stage.Unmask];
        return stages[_dropouts.Next(stages.Length)];
    }

    /// <summary>
    /// Test seam: rewrites (or, by returning null, swallows) every message this agent sends, so a test can script a
    /// malicious member through the real agent and the real gRPC service. Never set outside tests.
    /// </summary>
    internal Func<AgentMessage, AgentMessage?>? Tamper { get; set; }

    /// <summary>Test seam: the parameters of the secure sum this agent runs now (what a scripted member re-signs under).</summary>
    internal SecAggParameters? RunningSecureSum { get; private set; }

    private Task SendAsync(AsyncDuplexStreamingCall<AgentMessage, CoordinatorMessage> call, AgentMessage message, CancellationToken ct)
    {
        if (Tamper is { } tamper)
        {
            if (tamper(message) is not { } tampered)
            {
                return Task.CompletedTask;
            }

            message = tampered;
        }

        Interlocked.Add(ref _bytesSent, message.CalculateSize());
        return call.RequestStream.WriteAsync(message, ct);
    }

    private Task SendDecisionAsync(
        AsyncDuplexStreamingCall<AgentMessage, CoordinatorMessage> call, long round, string planHash, bool accepted, string reason, CancellationToken ct, RecordSpend? spend = null) =>
        SendAsync(call, new AgentMessage
        {
            Header = DomainMapping.Header(_options.FederationId, round, Stage.Plan),
            PlanDecision = new PlanDecision
            {
                Accepted = accepted,
                Reason = reason,
                PlanHash = planHash,
                RecordPrivacy = spend is null ? null : new RecordPrivacySpend
                {
                    NoiseMultiplier = spend.NoiseMultiplier, SamplingRate = spend.SamplingRate, Steps = checked((ulong)spend.Steps), Delta = spend.Delta, Accountant = spend.Accountant,
                },
            },
        }, ct);

    private async Task UploadAsync(
        AsyncDuplexStreamingCall<AgentMessage, CoordinatorMessage> call, Protocol.RoundPlan plan, string task, float[] vector, long exampleCount, int maxChunk, CancellationToken ct)
    {
        foreach (var (offset, values) in VectorAssembler.Chunk<float>(vector, maxChunk))
        {
            var last = offset + values.Length >= vector.Length;
            var chunk = new UpdateChunk
            {
                Offset = (uint)offset, TotalLength = (uint)vector.Length, Last = last, ExampleCount = last ? (ulong)exampleCount : 0,
                Task = DomainMapping.WireTask(task),
            };
            WireVectors.Append(chunk.Values, values);
            await SendAsync(call, new AgentMessage { Header = DomainMapping.Header(plan.FederationId, plan.Round, Stage.Train), UpdateChunk = chunk }, ct);
        }
    }
}

/// <summary>How an agent's run ended; <paramref name="StopReason"/> says why the federation stopped early, if it did.</summary>
public sealed record AgentOutcome(string SiloId, int RoundsCompleted, int RoundsParticipated, string FinalModelHash, string? StopReason = null);

/// <summary>What an agent has sent and how long it spent masking, cumulative over its run.</summary>
public readonly record struct AgentStatistics(long BytesSent, TimeSpan MaskingTime);
