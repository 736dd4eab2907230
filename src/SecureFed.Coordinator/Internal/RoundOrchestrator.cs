using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using SecureFed.Audit;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Crypto;
using SecureFed.Privacy;
using SecureFed.Protocol;
using SecureFed.Protocol.SecureAggregation;
using Stage = SecureFed.Protocol.Stage;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Drives the federation round by round: waits for silos, sends the plan and the global model, collects
/// updates within each stage's deadline, aggregates over those that answered, evaluates and stores the new
/// model. Incoming agent messages are routed here by the gRPC service; <see cref="Handle"/> is thread-safe.
/// </summary>
internal sealed class RoundOrchestrator
{
    private readonly CoordinatorOptions _options;
    private readonly FederationStore _store;
    private readonly SessionRegistry _registry;
    private readonly IModelEvaluator _evaluator;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AuditTrail _audit;
    private readonly Lock _gate = new();
    private RoundState? _current;

    public RoundOrchestrator(
        CoordinatorOptions options, FederationStore store, SessionRegistry registry, IModelEvaluator evaluator, TimeProvider time, ILogger logger, AuditTrail audit)
    {
        _audit = audit;
        _options = options;
        _store = store;
        _registry = registry;
        _evaluator = evaluator;
        _time = time;
        _logger = logger;
        _registry.Disconnected += OnDisconnected;
    }

    public event Action<RoundReport>? RoundFinished;

    /// <summary>The round a newly connected silo should expect next.</summary>
    public long NextRound => _store.NextRoundNumber();

    public async Task<FederationOutcome> RunAsync(CancellationToken cancellationToken)
    {
        _audit.Flush(); // entries a crash left in the store's outbox
        var model = _store.EnsureInitialModel(_evaluator.InitialParameters());
        if (model.Parameters.Length == 0)
        {
            throw new InvalidOperationException("the initial model has no parameters");
        }

        var completed = _store.CompletedRounds();
        if (model.Version > 0 || _store.Rounds().Count > 0)
        {
            Log.Resumed(_logger, _options.FederationId, _store.NextRoundNumber() - 1, model.Hash, completed);
        }

        var reports = new List<RoundReport>();
        var consecutiveAborts = 0;
        string? stopReason = null;
        while (completed < _options.Rounds)
        {
            stopReason = CheckBudget(model.Parameters.Length);
            if (stopReason is not null)
            {
                Log.BudgetExhausted(_logger, stopReason);
                break;
            }

            await WaitForSilosAsync(cancellationToken);
            var report = await RunRoundAsync(model, cancellationToken);
            reports.Add(report);
            if (report.Completed)
            {
                completed++;
                consecutiveAborts = 0;
                model = _store.LatestModel()!;
            }
            else if (++consecutiveAborts >= _options.MaxConsecutiveAborts)
            {
                throw new InvalidOperationException(
                    $"{consecutiveAborts} consecutive rounds aborted (last: {report.AbortReason}); stopping the federation");
            }

            RoundFinished?.Invoke(report);
        }

        Log.FederationComplete(_logger, _options.FederationId, completed);
        var header = DomainMapping.Header(_options.FederationId, _store.NextRoundNumber() - 1, Stage.Result);
        foreach (var s in _registry.Snapshot())
        {
            if (stopReason is not null)
            {
                s.TrySend(new CoordinatorMessage { Header = header, Notice = new Notice { StatusCode = (int)StatusCode.FailedPrecondition, Message = stopReason } });
            }

            s.TrySend(new CoordinatorMessage
            {
                Header = header,
                FederationComplete = new FederationComplete { RoundsCompleted = (ulong)completed, FinalModelVersionHash = model.Hash, StopReason = stopReason ?? string.Empty },
            });
        }

        _registry.CompleteAll();
        var last = _store.Rounds().LastOrDefault(r => r.Status == "completed");
        var charges = _store.PrivacyCharges();
        return new FederationOutcome(
            completed, model.Hash, last?.Accuracy ?? double.NaN, last?.Loss ?? double.NaN, reports,
            charges.Count > 0 ? charges[^1].Epsilon : double.NaN, stopReason);
    }

    /// <summary>Routes one message from an authenticated agent. Throws <see cref="SecureFedException"/> on a violation.</summary>
    public void Handle(AgentSession session, AgentMessage message)
    {
        if (message.Header is null)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "message without header");
        }

        if (!string.Equals(message.Header.FederationId, _options.FederationId, StringComparison.Ordinal))
        {
            throw new ProtocolViolationException(FaultKind.FailedPrecondition, "message for another federation");
        }

        var (expectedStage, what) = message.BodyCase switch
        {
            AgentMessage.BodyOneofCase.PlanDecision => (Contracts.V1.Stage.Plan, "plan decision"),
            AgentMessage.BodyOneofCase.UpdateChunk => (Contracts.V1.Stage.Train, "update"),
            AgentMessage.BodyOneofCase.KeyAdvertisement => (Contracts.V1.Stage.AdvertiseKeys, "key advertisement"),
            AgentMessage.BodyOneofCase.ShareKeys => (Contracts.V1.Stage.ShareKeys, "encrypted shares"),
            AgentMessage.BodyOneofCase.MaskedInputChunk => (Contracts.V1.Stage.MaskedInput, "masked input"),
            AgentMessage.BodyOneofCase.ConsistencySignature => (Contracts.V1.Stage.ConsistencyCheck, "consistency signature"),
            AgentMessage.BodyOneofCase.UnmaskResponse => (Contracts.V1.Stage.Unmask, "unmask response"),
            AgentMessage.BodyOneofCase.Hello => throw new ProtocolViolationException(FaultKind.FailedPrecondition, "hello already received on this stream"),
            AgentMessage.BodyOneofCase.None => throw new ProtocolViolationException(FaultKind.InvalidArgument, "message without body"),
            _ => throw new ProtocolViolationException(FaultKind.InvalidArgument, $"unexpected message {message.BodyCase}"),
        };
        if (message.Header.Stage != expectedStage)
        {
            throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{what} labelled stage {message.Header.Stage}, expected {expectedStage}");
        }

        RoundState? state;
        lock (_gate)
        {
            state = _current;
        }

        var round = checked((long)Math.Min(message.Header.Round, long.MaxValue));
        if (state is null || round < state.Plan.Round || state.Stage is Stage.Result or Stage.Aborted)
        {
            if (state is not null && round > state.Plan.Round)
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{what} for round {round}, but round {state.Plan.Round} is running");
            }

            if (state is null && round >= _store.NextRoundNumber())
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{what} for round {round}, which has not started");
            }

            // Late: the stage closed before it arrived. Harmless; tell the agent and discard.
            DiscardLate(session, round, $"{what} for round {round} arrived after its stage closed; discarded");
            return;
        }

        if (round > state.Plan.Round)
        {
            throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{what} for round {round}, but round {state.Plan.Round} is running");
        }

        if (!state.IsParticipant(session.SiloId))
        {
            throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{what} from a silo that is not a participant of round {round}");
        }

        try
        {
            if (expectedStage >= Contracts.V1.Stage.AdvertiseKeys)
            {
                HandleSecure(session, state, round, expectedStage, what, message);
            }
            else if (message.BodyCase == AgentMessage.BodyOneofCase.UpdateChunk && state.Plan.SecureAggregation is not null)
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, "plain updates are not accepted: this round uses secure aggregation");
            }
            else if (message.BodyCase == AgentMessage.BodyOneofCase.PlanDecision)
            {
                state.OnDecision(session.SiloId, message.PlanDecision);
                if (!message.PlanDecision.Accepted)
                {
                    Log.PlanRefused(_logger, session.SiloId, round, message.PlanDecision.Reason);
                }
            }
            else
            {
                state.OnUpdateChunk(session.SiloId, message.UpdateChunk);
            }
        }
        catch (SecureFedException)
        {
            state.Reject(session.SiloId);
            throw;
        }
    }

    private void HandleSecure(AgentSession session, RoundState state, long round, Contracts.V1.Stage labelled, string what, AgentMessage message)
    {
        var secure = state.Secure;
        if (secure is null)
        {
            // Most likely left over from an earlier attempt of this round number (rounds are retried under the same
            // number); nothing of this attempt can be affected, so it is discarded like any late message.
            DiscardLate(session, round, $"{what} arrived before secure aggregation started in this attempt of round {round}; discarded");
            return;
        }

        var current = secure.Stage switch
        {
            SecAggStage.AdvertiseKeys => Contracts.V1.Stage.AdvertiseKeys,
            SecAggStage.ShareKeys => Contracts.V1.Stage.ShareKeys,
            SecAggStage.MaskedInput => Contracts.V1.Stage.MaskedInput,
            SecAggStage.ConsistencyCheck => Contracts.V1.Stage.ConsistencyCheck,
            SecAggStage.Unmask => Contracts.V1.Stage.Unmask,
            SecAggStage.Completed or SecAggStage.Aborted => Contracts.V1.Stage.Result,
            _ => throw new InvalidOperationException($"unknown secure aggregation stage {secure.Stage}"),
        };
        if (labelled < current)
        {
            // Late: that stage closed without this silo. Discarded without harm; the protocol already counts it out.
            DiscardLate(session, round, $"{what} arrived after stage {labelled} closed; discarded");
            return;
        }

        switch (message.BodyCase)
        {
            case AgentMessage.BodyOneofCase.KeyAdvertisement:
                secure.Receive(session.SiloId, SecAggMapping.FromWire(round, message.KeyAdvertisement));
                break;
            case AgentMessage.BodyOneofCase.ShareKeys:
                secure.Receive(session.SiloId, SecAggMapping.FromWire(round, message.ShareKeys));
                break;
            case AgentMessage.BodyOneofCase.MaskedInputChunk:
                secure.ReceiveMaskedChunk(session.SiloId, round, message.MaskedInputChunk);
                break;
            case AgentMessage.BodyOneofCase.ConsistencySignature:
                secure.Receive(session.SiloId, SecAggMapping.FromWire(round, message.ConsistencySignature));
                break;
            case AgentMessage.BodyOneofCase.UnmaskResponse:
                secure.Receive(session.SiloId, SecAggMapping.FromWire(round, message.UnmaskResponse));
                break;
            default:
                throw new ProtocolViolationException(FaultKind.InvalidArgument, $"unexpected message {message.BodyCase}");
        }
    }

    /// <summary>A message that can no longer affect anything: logged, answered with a notice, dropped.</summary>
    private void DiscardLate(AgentSession session, long round, string notice)
    {
        Log.LateMessage(_logger, session.SiloId, round);
        session.TrySend(new CoordinatorMessage
        {
            Header = DomainMapping.Header(_options.FederationId, round, Stage.Result),
            Notice = new Notice { StatusCode = (int)StatusCode.FailedPrecondition, Message = notice },
        });
    }

    private void OnDisconnected(AgentSession session)
    {
        RoundState? state;
        lock (_gate)
        {
            state = _current;
        }

        state?.OnDisconnect(session.SiloId);
    }

    private async Task WaitForSilosAsync(CancellationToken cancellationToken)
    {
        var target = Math.Max(_options.TargetSilos, _options.MinSilos);
        var start = _time.GetTimestamp();
        var logged = -1;
        while (true)
        {
            var changed = _registry.NextChange();
            var count = _registry.Count;
            var waited = _time.GetElapsedTime(start);
            if (count >= target || (count >= _options.MinSilos && waited >= _options.JoinTimeout))
            {
                return;
            }

            if (waited >= _options.IdleTimeout)
            {
                throw new TimeoutException(
                    $"only {count} silos connected after {_options.IdleTimeout}; at least {_options.MinSilos} (MinSilos) are needed");
            }

            if (count != logged)
            {
                Log.WaitingForSilos(_logger, count, target);
                logged = count;
            }

            var limit = (count >= _options.MinSilos ? _options.JoinTimeout : _options.IdleTimeout) - waited;
            await Task.WhenAny(changed, Task.Delay(limit > TimeSpan.Zero ? limit : TimeSpan.Zero, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<RoundReport> RunRoundAsync(FederationStore.ModelVersion model, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var round = _store.NextRoundNumber();
        var sessions = _registry.Snapshot();
        var plan = new Protocol.RoundPlan(
            _options.FederationId, round, _options.Dataset, _options.Model, _options.Training with { Seed = _options.Training.Seed + round },
            model.Hash, model.Parameters.Length, [.. sessions.Select(s => s.SiloId)],
            _time.GetUtcNow() + _options.PlanTimeout + _options.TrainTimeout,
            _options.Privacy,
            _options.SecureAggregation is { } secureTemplate
                ? secureTemplate with
                {
                    Threshold = SecureAggregationPlan.ThresholdFor(sessions.Count, Math.Max(_options.MinSilos, _options.Privacy?.Threshold ?? 0)),
                    KeyStageTimeout = _options.PlanTimeout,
                    MaskedInputTimeout = _options.TrainTimeout,
                }
                : null);
        var state = new RoundState(plan, _options.MaxChunkFloats);
        var planHash = plan.ComputeHash();
        _store.BeginRound(round, planHash, plan.Participants, model.Hash);
        lock (_gate)
        {
            _current = state;
        }

        Log.RoundStarted(_logger, round, sessions.Count, planHash);
        using var roundSpan = CoordinatorTelemetry.Source.StartActivity("securefed.round", ActivityKind.Internal, default(ActivityContext));
        roundSpan?.SetTag("securefed.federation_id", plan.FederationId);
        roundSpan?.SetTag("securefed.round", round);
        roundSpan?.SetTag("securefed.participants", sessions.Count);
        roundSpan?.SetTag("securefed.plan_hash", planHash);
        roundSpan?.SetTag("securefed.aggregation", plan.SecureAggregation is null ? "plain" : "secure");
        var planSpan = StartStage("plan");
        try
        {
            var wirePlan = DomainMapping.ToWire(plan);
            foreach (var s in sessions)
            {
                if (!s.TrySend(new CoordinatorMessage { Header = DomainMapping.Header(plan.FederationId, round, Stage.Plan), RoundPlan = wirePlan }))
                {
                    state.OnDisconnect(s.SiloId);
                    continue;
                }

                foreach (var (offset, values) in VectorAssembler.Chunk<float>(model.Parameters, _options.MaxChunkFloats))
                {
                    var chunk = new ModelChunk { Offset = (uint)offset, TotalLength = (uint)model.Parameters.Length };
                    chunk.Values.AddRange(values.ToArray());
                    s.TrySend(new CoordinatorMessage { Header = DomainMapping.Header(plan.FederationId, round, Stage.Plan), ModelChunk = chunk });
                }
            }

            await WaitOrDeadline(state.AllDecided, _options.PlanTimeout, cancellationToken);
            state.ClosePlanStage();
            EndStage(planSpan, state.Accepted().Count);
            var needed = Math.Max(_options.MinSilos, _options.Privacy?.Threshold ?? 0);
            var outcome = plan.SecureAggregation is { } sa
                ? await AggregateSecurelyAsync(state, plan, sa, needed, cancellationToken)
                : await AggregatePlainlyAsync(state, plan, model.Parameters.Length, needed, cancellationToken);
            roundSpan?.SetTag("securefed.contributors", outcome.Contributors);
            roundSpan?.SetTag("securefed.dropouts", outcome.Dropped);
            CoordinatorTelemetry.Dropouts.Add(outcome.Dropped);
            if (outcome.AbortReason is { } reason)
            {
                roundSpan?.SetTag("securefed.outcome", "aborted");
                roundSpan?.SetStatus(ActivityStatusCode.Error, "aborted");
                CoordinatorTelemetry.RoundsAborted.Add(1);
                state.Abort();
                var aborted = new RoundReport(round, false, plan.Participants, outcome.Contributors, outcome.Dropped, outcome.Refused, outcome.Rejected,
                    double.NaN, double.NaN, model.Hash, Stopwatch.GetElapsedTime(started), reason, StageCounts: outcome.StageCounts);
                _store.AbortRound(aborted, AuditTrail.Serialize(Draft(plan, sessions, aborted, null, model.Hash)));
                _audit.Flush();
                Log.RoundAborted(_logger, round, reason);
                return aborted;
            }

            var next = new float[model.Parameters.Length];
            for (var i = 0; i < next.Length; i++)
            {
                next[i] = (float)(model.Parameters[i] + outcome.MeanDelta![i]);
            }

            var charge = Charge(plan, round, outcome.Contributors);
            var quality = _evaluator.Evaluate(next);
            var report = new RoundReport(round, true, plan.Participants, outcome.Contributors, outcome.Dropped, outcome.Refused, outcome.Rejected,
                quality.Accuracy, quality.Loss, ModelHash.Compute(next), Stopwatch.GetElapsedTime(started), null,
                charge?.NoiseMultiplier ?? double.NaN, charge?.Epsilon ?? double.NaN, outcome.StageCounts, outcome.UnmaskTime);
            var stored = _store.CompleteRound(report, next, charge, AuditTrail.Serialize(Draft(plan, sessions, report, charge, model.Hash)));
            _audit.Flush();
            Log.RoundCompleted(_logger, round, report.Contributors, report.Dropouts, quality.Accuracy, stored.Hash);
            roundSpan?.SetTag("securefed.outcome", "completed");
            roundSpan?.SetTag("securefed.model_hash", stored.Hash);
            CoordinatorTelemetry.RoundsCompleted.Add(1);
            CoordinatorTelemetry.RoundDuration.Record(report.Duration.TotalMilliseconds);
            if (charge is not null)
            {
                roundSpan?.SetTag("securefed.epsilon", charge.Epsilon);
                roundSpan?.SetTag("securefed.noise_multiplier_charged", charge.NoiseMultiplier);
                CoordinatorTelemetry.Epsilon.Record(charge.Epsilon);
            }

            foreach (var s in sessions)
            {
                s.TrySend(new CoordinatorMessage
                {
                    Header = DomainMapping.Header(plan.FederationId, round, Stage.Result),
                    RoundResult = new RoundResult
                    {
                        NewModelVersionHash = stored.Hash,
                        Contributors = (uint)report.Contributors,
                        Dropouts = (uint)report.Dropouts,
                        Accuracy = quality.Accuracy,
                        Loss = quality.Loss,
                        Epsilon = charge?.Epsilon ?? 0,
                    },
                });
            }

            return report;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Graceful shutdown: the running stage is abandoned, the round is recorded as aborted (nothing was
            // released, nothing is charged) and re-run under the same number after a restart.
            state.Abort();
            var aborted = new RoundReport(round, false, plan.Participants, 0, 0, 0, 0, double.NaN, double.NaN, model.Hash,
                Stopwatch.GetElapsedTime(started), "the coordinator shut down during the round");
            _store.AbortRound(aborted, AuditTrail.Serialize(Draft(plan, sessions, aborted, null, model.Hash)));
            _audit.Flush();
            Log.RoundAborted(_logger, round, aborted.AbortReason!);
            throw;
        }
        finally
        {
            lock (_gate)
            {
                _current = null;
            }
        }
    }

    /// <summary>The ledger entry of a finished round (DESIGN section 5): everything an auditor needs, no vectors.</summary>
    private LedgerEntryDraft Draft(Protocol.RoundPlan plan, IReadOnlyList<AgentSession> sessions, RoundReport report, FederationStore.PrivacyChargeRow? charge, string modelBefore)
    {
        var dp = plan.Privacy;
        var z = report.Completed ? charge?.NoiseMultiplier : null;
        return new LedgerEntryDraft
        {
            FederationId = plan.FederationId,
            Round = checked((int)plan.Round),
            Attempt = _store.RunningAttempt(plan.Round),
            Status = report.Completed ? RoundStatus.Completed : RoundStatus.Aborted,
            Timestamp = _time.GetUtcNow(),
            PlanHash = plan.ComputeHash(),
            Participants = [.. sessions.Select(s => new LedgerParticipant(s.SiloId, s.Fingerprint))],
            Stages = new LedgerStageCounts(
                plan.Participants.Count, report.Contributors, report.Dropouts, report.Refused, report.Rejected,
                report.StageCounts is { } c ? new SecureAggregationSurvivors(c.AdvertiseKeys, c.ShareKeys, c.MaskedInput, c.ConsistencyCheck, c.Unmask) : null),
            Aggregation = plan.SecureAggregation is null ? "plain" : "secure",
            Privacy = dp is null ? null : new LedgerPrivacy(dp.Mechanism, dp.NoiseMultiplier, dp.ClipNorm, dp.Threshold, dp.Colluding, dp.Delta, dp.EpsilonBudget, dp.Accountant),
            EffectiveNoiseMultiplier = dp is null ? null : z,
            CumulativeEpsilon = dp is null ? null : _audit.EpsilonWith(z, dp.Delta),
            ModelHashBefore = modelBefore,
            ModelHashAfter = report.ModelHash,
            TraceId = Activity.Current?.TraceId.ToString() ?? string.Empty,
        };
    }

    /// <summary>Starts the span of one stage (a child of the round's span; the current activity until it ends).</summary>
    private static Activity? StartStage(string name)
    {
        var span = CoordinatorTelemetry.Source.StartActivity($"securefed.stage.{name}");
        span?.SetTag("securefed.stage", name);
        return span;
    }

    /// <summary>Ends a stage span with its survivor count, making the round's span current again.</summary>
    private static void EndStage(Activity? span, int survivors)
    {
        if (span is null)
        {
            return;
        }

        span.SetTag("securefed.survivors", survivors);
        var parent = span.Parent;
        span.Dispose();
        Activity.Current = parent;
    }

    /// <summary>Plain upload (the baseline): collects every accepted silo's delta in the clear and averages them.</summary>
    private async Task<AggregationOutcome> AggregatePlainlyAsync(RoundState state, Protocol.RoundPlan plan, int length, int needed, CancellationToken ct)
    {
        var stage = StartStage("train");
        await WaitOrDeadline(state.AllUploaded, _options.TrainTimeout, ct);
        var tally = state.CloseTrainStage();
        EndStage(stage, tally.Updates.Count);
        if (tally.Updates.Count < needed)
        {
            return new AggregationOutcome(null, tally.Updates.Count, tally.Dropped, tally.Refused, tally.Rejected, null,
                $"{tally.Updates.Count} updates received, fewer than the {needed} needed to release an aggregate");
        }

        var aggregator = new FedAvgAggregator(length);
        foreach (var u in tally.Updates)
        {
            // Under differential privacy every silo weighs the same: a weight would scale its sensitivity.
            aggregator.Add(u.Delta, plan.Privacy is null ? u.Examples : 1);
        }

        var mean = aggregator.Apply(new float[length]).Select(v => (double)v).ToArray();
        return new AggregationOutcome(mean, tally.Updates.Count, tally.Dropped, tally.Refused, tally.Rejected, null, null);
    }

    /// <summary>
    /// Secure aggregation (Bonawitz et al. 2017) over the agents' streams: the coordinator routes keys, encrypted
    /// shares and masked inputs, and learns only the sum over the silos that completed, which it divides by their
    /// number. Every stage has a deadline; below the threshold the round aborts and nothing is released.
    /// </summary>
    private async Task<AggregationOutcome> AggregateSecurelyAsync(
        RoundState state, Protocol.RoundPlan plan, SecureAggregationPlan sa, int needed, CancellationToken ct)
    {
        var accepted = state.Accepted();
        var before = state.Tally();
        AggregationOutcome Outcome(double[]? mean, int contributors, SecAggSurvivorCounts? counts, string? why)
        {
            // Dropouts: silos lost in the plan stage, plus accepted silos that did not complete, less those rejected.
            var after = state.Tally();
            var rejectedDuring = after.Rejected - before.Rejected;
            return new AggregationOutcome(mean, contributors, before.Dropped + accepted.Count - contributors - rejectedDuring, after.Refused, after.Rejected, counts, why);
        }

        AggregationOutcome Abort(string why, int contributors = 0, SecAggSurvivorCounts? counts = null) => Outcome(null, contributors, counts, why);

        if (accepted.Count < Math.Max(Math.Max(needed, sa.Threshold), 2))
        {
            state.CloseSecure();
            return Abort($"{accepted.Count} silos accepted the plan, fewer than the threshold {Math.Max(Math.Max(needed, sa.Threshold), 2)}");
        }

        SecAggParameters parameters;
        FixedPointEncoder encoder;
        try
        {
            parameters = SecAggParameters.Create(plan.FederationId, plan.Round, accepted, plan.ParameterCount, sa.RingBits, sa.ScaleBits, sa.Threshold);
            encoder = parameters.CreateEncoder(sa.MaxAbsValue);
        }
        catch (Exception ex) when (ex is ArgumentException or SecureFedException)
        {
            state.CloseSecure();
            return Abort($"secure aggregation refused the plan: {ex.Message}");
        }

        var sessions = accepted.Select(id => _registry.Find(id)).OfType<AgentSession>().ToDictionary(s => s.SiloId, StringComparer.Ordinal);
        var verifiers = new Dictionary<string, ISignatureVerifier>(StringComparer.Ordinal);
        try
        {
            foreach (var (id, session) in sessions)
            {
                using var certificate = X509CertificateLoader.LoadCertificate(session.CertificateDer);
                verifiers[id] = CryptoProvider.Default.CreateVerifier(certificate);
            }

            var secure = new SecureAggregationRound(parameters, verifiers, _options.MaxChunkFloats);
            state.Secure = secure;
            foreach (var id in accepted.Where(id => !sessions.ContainsKey(id)))
            {
                secure.Drop(id);
            }

            var stage = StartStage("advertise_keys");
            secure.Start();
            var start = new SecAggStart
            {
                Threshold = (uint)parameters.Threshold,
                RingBits = (uint)parameters.RingBits,
                ScaleBits = (uint)parameters.ScaleBits,
                VectorLength = (uint)parameters.VectorLength,
            };
            start.Participants.AddRange(parameters.Participants);
            start.Certificates.AddRange(sessions.Values.Select(s => new PeerCertificate { SiloId = s.SiloId, Der = ByteString.CopyFrom(s.CertificateDer) }));
            Broadcast(secure, plan, Contracts.V1.Stage.AdvertiseKeys, sessions.Keys, m => m.SecaggStart = start);

            await WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, ct);
            var keys = SecAggMapping.ToWire(secure.CloseAdvertiseKeys());
            EndStage(stage, keys.Advertisements.Count);
            stage = StartStage("share_keys");
            Broadcast(secure, plan, Contracts.V1.Stage.ShareKeys, keys.Advertisements.Select(a => a.Sender), m => m.AdvertisedKeys = keys);

            await WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, ct);
            var deliveries = secure.CloseShareKeys();
            EndStage(stage, deliveries.Count);
            stage = StartStage("masked_input");
            foreach (var (recipient, delivery) in deliveries)
            {
                Broadcast(secure, plan, Contracts.V1.Stage.MaskedInput, [recipient], m => m.ShareKeysDelivery = SecAggMapping.ToWire(delivery));
            }

            // Training happens before a silo masks its input, so this stage has the training deadline.
            await WaitOrDeadline(secure.StageDone, sa.MaskedInputTimeout, ct);
            var check = secure.CloseMaskedInput();
            EndStage(stage, check.Survivors.Count);
            stage = StartStage("consistency_check");
            var checkWire = SecAggMapping.ToWire(check);
            Broadcast(secure, plan, Contracts.V1.Stage.ConsistencyCheck, check.Survivors, m => m.ConsistencyCheckRequest = checkWire);

            await WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, ct);
            var unmask = secure.CloseConsistencyCheck();
            EndStage(stage, unmask.Signatures.Count);
            stage = StartStage("unmask");
            var unmaskWire = SecAggMapping.ToWire(unmask);
            Broadcast(secure, plan, Contracts.V1.Stage.Unmask, unmask.Signatures.Select(x => x.Sender), m => m.UnmaskRequest = unmaskWire);

            await WaitOrDeadline(secure.StageDone, sa.KeyStageTimeout, ct);
            var unmaskStarted = Stopwatch.GetTimestamp();
            var (sum, included) = secure.CloseUnmask();
            var unmaskTime = Stopwatch.GetElapsedTime(unmaskStarted);
            EndStage(stage, included.Count);
            state.CloseSecure();
            var counts = secure.Survivors;
            if (included.Count < needed)
            {
                return Abort($"{included.Count} silos completed secure aggregation, fewer than the {needed} needed to release an aggregate", included.Count, counts);
            }

            var mean = encoder.Decode(sum);
            for (var i = 0; i < mean.Length; i++)
            {
                mean[i] /= included.Count;
            }

            return Outcome(mean, included.Count, counts, null) with { UnmaskTime = unmaskTime };
        }
        catch (SecAggAbortedException ex)
        {
            state.CloseSecure();
            return Abort($"secure aggregation aborted at {ex.Stage}: {ex.Message}", 0, state.Secure?.Survivors);
        }
        finally
        {
            foreach (var v in verifiers.Values)
            {
                v.Dispose();
            }
        }
    }

    private void Broadcast(SecureAggregationRound secure, Protocol.RoundPlan plan, Contracts.V1.Stage stage, IEnumerable<string> recipients, Action<CoordinatorMessage> fill)
    {
        foreach (var id in recipients)
        {
            var message = new CoordinatorMessage { Header = DomainMapping.Header(plan.FederationId, plan.Round, stage) };
            fill(message);
            if (_registry.Find(id) is not { } session || !session.TrySend(message))
            {
                secure.Drop(id);
            }
        }
    }

    /// <summary>
    /// The consortium's budget, checked before a round starts with the round's worst-case charge (exactly t
    /// survivors): returns why the federation must stop, or null.
    /// </summary>
    private string? CheckBudget(int dimension)
    {
        if (_options.Privacy is not { EpsilonBudget: > 0 } dp)
        {
            return null;
        }

        var history = _store.PrivacyCharges().Select(c => c.Survivors).ToList();
        var spent = PrivacyCharge.CumulativeEpsilon(dp, history, dimension);
        history.Add(dp.Threshold);
        var wouldSpend = PrivacyCharge.CumulativeEpsilon(dp, history, dimension);
        return wouldSpend <= dp.EpsilonBudget
            ? null
            : $"privacy budget exhausted: {new PrivacyBudgetExhaustedException(spent, wouldSpend, dp.EpsilonBudget, dp.Delta).Message}";
    }

    /// <summary>The charge of a round with <paramref name="survivors"/> contributors: the noise actually present.</summary>
    private FederationStore.PrivacyChargeRow? Charge(Protocol.RoundPlan plan, long round, int survivors)
    {
        if (plan.Privacy is not { } dp)
        {
            return null;
        }

        var z = PrivacyCharge.EffectiveNoiseMultiplier(dp, survivors, plan.ParameterCount);
        var history = _store.PrivacyCharges().Select(c => c.Survivors).ToList();
        history.Add(survivors);
        var epsilon = PrivacyCharge.CumulativeEpsilon(dp, history, plan.ParameterCount);
        var accountant = dp.Mechanism == "discrete-gaussian" ? "kls-rdp" : dp.Accountant;
        return new FederationStore.PrivacyChargeRow(round, z, 1.0, 1, survivors, accountant, dp.Delta, epsilon);
    }

    private async Task WaitOrDeadline(Task condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, _time, cts.Token);
        await Task.WhenAny(condition, delay);
        await cts.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>What an aggregation produced: the mean delta (null when aborted) and the counts for the report.</summary>
internal sealed record AggregationOutcome(
    double[]? MeanDelta, int Contributors, int Dropped, int Refused, int Rejected, SecAggSurvivorCounts? StageCounts, string? AbortReason)
{
    /// <summary>Time the server spent removing masks (secure rounds).</summary>
    public TimeSpan? UnmaskTime { get; init; }
}
