using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using SecureFed.Audit;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
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
    /// <summary>The reason an attempt's provisional entry gives: what the ledger shows for an attempt a crash interrupted.</summary>
    internal const string InterruptedReason = "interrupted: the coordinator stopped during the attempt; it is charged every release it had risked";

    private readonly CoordinatorOptions _options;
    private readonly FederationStore _store;
    private readonly SessionRegistry _registry;
    private readonly IModelEvaluator _evaluator;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AuditTrail _audit;
    private readonly RoundPrivacy _privacy;
    private readonly EvaluationStage _evaluation;
    private readonly ServerOptimizer _server;
    private readonly MemberStanding _standing = new();
    private readonly RetryPlanner _retries;
    private readonly JoinWait _join;
    private readonly AttemptNotes _notes = new();

    // One SecAgg+ ring order for the federation's rounds, so silos keep their neighbours (SecAggGraphOptions.NewFederationSeed).
    private readonly byte[] _graphSeed = SecAggGraphOptions.NewFederationSeed();
    private long _serverStateVersion = -1;
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
        _privacy = new RoundPrivacy(options, store);
        _evaluation = new EvaluationStage(registry, options.MaxChunkFloats, logger);
        _server = new ServerOptimizer(options.ServerOptimizer);
        _retries = new RetryPlanner(options, _standing);
        _join = new JoinWait(options, registry, time, logger);
        _registry.Disconnected += OnDisconnected;
    }

    public event Action<RoundReport>? RoundFinished;

    /// <summary>Fewest contributors a round needs to release anything (MinSilos, and the privacy threshold).</summary>
    private int Needed => Math.Max(_options.MinSilos, _options.Privacy?.Threshold ?? 0);

    /// <summary>
    /// Records in the ledger an event that costs its silo nothing (<see cref="AttemptFault.SitsOut"/> false): in the running
    /// attempt's faults, or the next attempt's when none runs. Thread-safe.
    /// </summary>
    public void NoteEvent(AttemptFault note)
    {
        RoundState? state;
        lock (_gate)
        {
            state = _current;
        }

        _notes.Note(state, note);
    }

    /// <summary>The abort reason an attempt a graceful shutdown stops is stored and signed with (set before cancelling).</summary>
    public string ShutdownReason { get; set; } = "the coordinator shut down during the round";

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

        PlanBudget(model.Parameters.Length, completed);
        var reports = new List<RoundReport>();
        var consecutiveAborts = 0;
        string? stopReason = null;

        // Runs rounds of one kind until one completes; false when the budget stops the federation first.
        async Task<bool> UntilCompletedAsync(string kind, FederationStore.ModelVersion subject)
        {
            while (true)
            {
                stopReason = _privacy.CheckBudget(kind, subject.Parameters.Length);
                if (stopReason is not null)
                {
                    Log.FederationStopped(_logger, stopReason);
                    return false;
                }

                var round = kind == RoundKinds.Statistics ? 0 : _store.NextRoundNumber();
                await _join.WaitAsync(id => _retries.LeftOut(id, round), cancellationToken);
                var report = await RunRoundAsync(kind, subject, cancellationToken);
                reports.Add(report);
                RoundFinished?.Invoke(report);
                if (report.Completed)
                {
                    consecutiveAborts = 0;
                    return true;
                }

                // A retry without the silos that refused (and those at fault) that cannot reach the round's need would
                // only fail again: stop now, saying who is left out and why.
                stopReason = _retries.StopReason(report.Round, Needed, [.. report.Participants, .. _registry.Snapshot().Select(s => s.SiloId)]);
                if (stopReason is not null)
                {
                    Log.FederationStopped(_logger, stopReason);
                    return false;
                }

                if (++consecutiveAborts >= _options.MaxConsecutiveAborts)
                {
                    throw new InvalidOperationException(
                        $"{consecutiveAborts} consecutive rounds aborted (last: {report.AbortReason}); stopping the federation");
                }
            }
        }

        var ready = _options.StatisticsLength == 0 || _store.Statistics() is not null || await UntilCompletedAsync(RoundKinds.Statistics, model);
        if (ready && _options.EvaluateModelHash is { } evaluate)
        {
            var subject = _store.ModelByHash(evaluate)
                ?? throw new InvalidOperationException($"model {evaluate} is not in the store {_options.StorePath}; evaluate a model this federation trained (see summary.json's final_model_hash)");
            await UntilCompletedAsync(RoundKinds.Evaluation, subject);
            model = subject;
        }
        else if (ready)
        {
            while (completed < _options.Rounds && await UntilCompletedAsync(RoundKinds.Training, model))
            {
                completed++;
                model = _store.LatestModel()!;
            }
        }

        Log.FederationComplete(_logger, _options.FederationId, completed);
        var header = DomainMapping.Header(_options.FederationId, Math.Max(0, _store.NextRoundNumber() - 1), Stage.Result);
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
        var last = _options.EvaluateModelHash is null
            ? _store.Rounds().LastOrDefault(r => r.Status == "completed" && r.Kind == RoundKinds.Training)
            : _store.Rounds().LastOrDefault(r => r.Status == "completed" && r.Kind == RoundKinds.Evaluation);
        return new FederationOutcome(
            completed, model.Hash, last?.Accuracy ?? double.NaN, last?.Loss ?? double.NaN, reports,
            _options.Privacy is null || (_store.PrivacyCharges().Count == 0 && _store.PrivacyReleases().Count == 0) ? double.NaN : _privacy.Spent(model.Parameters.Length), stopReason);
    }

    /// <summary>
    /// Before the first round: what the federation will run and under what privacy, and how many of the rounds still
    /// planned the budget covers at their worst case (a warning pointing at `privacy calibrate` when fewer).
    /// </summary>
    private void PlanBudget(int dimension, int completed)
    {
        var dp = _options.Privacy;
        var privacy = dp is null
            ? "no differential privacy"
            : FormattableString.Invariant($"{dp.Mechanism} noise z = {dp.NoiseMultiplier:G4}, clip {dp.ClipNorm:G4}, threshold {dp.Threshold}, {dp.Accountant} at delta {dp.Delta:G3}, budget {(dp.EpsilonBudget > 0 ? dp.EpsilonBudget.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) : "none")}");
        Log.Starting(_logger, _options.FederationId, _options.StudyHash.Length > 0 ? _options.StudyHash[..12] : "none", _options.Rounds, _options.Members.Count > 0 ? string.Join(",", _options.Members) : "any consortium member",
            _options.SecureAggregation is null ? "plain" : "secure", privacy, _options.StorePath, _audit.Path);
        var remaining = _options.Rounds - completed;
        if (_options.EvaluateModelHash is not null || remaining <= 0 || _privacy.RoundsCovered(RoundKinds.Training, dimension, remaining) is not { } covered || dp is null)
        {
            return;
        }

        if (covered >= remaining)
        {
            Log.BudgetCovers(_logger, dp.EpsilonBudget, remaining);
            return;
        }

        Log.BudgetShort(_logger, dp.EpsilonBudget, dp.Delta, covered, remaining, FormattableString.Invariant(
            $"securefed privacy calibrate --target-epsilon {dp.EpsilonBudget:G6} --delta {dp.Delta:G3} --rounds {_options.Rounds} --sampling-rate 1 --accountant {dp.Accountant}"));
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
            AgentMessage.BodyOneofCase.ShareComplaint => (Contracts.V1.Stage.MaskedInput, "share complaint"),
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
                if (!state.OnDecision(session.SiloId, message.PlanDecision))
                {
                    DiscardLate(session, round, $"{what} for round {round} arrived after the plan stage closed or names an earlier attempt's plan; discarded");
                    return;
                }

                if (!message.PlanDecision.Accepted)
                {
                    Log.PlanRefused(_logger, session.SiloId, round, message.PlanDecision.Reason);
                }
            }
            else if (!state.OnUpdateChunk(session.SiloId, message.UpdateChunk))
            {
                DiscardLate(session, round, $"{what} for an earlier task of round {round} arrived after it closed; discarded");
            }
        }
        catch (SecureFedException ex)
        {
            // On its own authenticated stream: the member's doing, and it costs it its seat (MemberStanding).
            state.NoteFault(session.SiloId, $"broke the protocol: {ex.Message}", proven: true);
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
        var task = DomainMapping.TaskOf(message.Header);
        if (!string.Equals(task, secure.Task, StringComparison.Ordinal))
        {
            if (state.Plan.IsEarlierTask(task, secure.Task))
            {
                DiscardLate(session, round, $"{what} of task {task} arrived after that task's secure sum closed; discarded");
                return;
            }

            throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"{what} for task '{SumTask.Printable(task)}' while the secure sum of '{secure.Task}' runs");
        }

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
            case AgentMessage.BodyOneofCase.ShareComplaint:
                Judge(session, state, secure, message.ShareComplaint);
                break;
            default:
                throw new ProtocolViolationException(FaultKind.InvalidArgument, $"unexpected message {message.BodyCase}");
        }
    }

    /// <summary>
    /// A member says the share another signed for it does not open: judged from the key it reveals against the accused's
    /// signed commitment, and whoever is at fault (the accused, or a false complainer) sits out the round's retries.
    /// </summary>
    private void Judge(AgentSession session, RoundState state, SecureAggregationRound secure, ShareComplaint complaint)
    {
        var accused = complaint.Accused;
        if (accused == session.SiloId || !secure.Parameters.Participants.Contains(accused, StringComparer.Ordinal))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, "a share complaint about a silo that is not another participant");
        }

        var verdict = secure.JudgeComplaint(session.SiloId, accused, complaint.ShareKey.Span);
        var complainer = session.SiloId;
        switch (verdict)
        {
            case ComplaintVerdict.AccusedAtFault:
                state.NoteFault(accused, $"sent {complainer} a signed share that does not open under the key it committed to (proven by {complainer}'s complaint)", proven: true);
                break;
            case ComplaintVerdict.ComplainerAtFault:
                state.NoteFault(complainer, $"complained falsely that the share {accused} signed for it does not open", proven: true);
                break;
            default:
                state.NoteFault(accused, $"disputed share with {complainer}: the key {complainer} revealed is not the one {accused} committed to", proven: false);
                state.NoteFault(complainer, $"disputed share with {accused}: the key it revealed is not the one {accused} committed to", proven: false);
                break;
        }

        Log.ShareComplaint(_logger, complainer, accused, state.Plan.Round, verdict.ToString(), Audit.LedgerEntryDraft.BoundReason(complaint.Reason) ?? "");
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

    private async Task<RoundReport> RunRoundAsync(string kind, FederationStore.ModelVersion model, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var round = kind == RoundKinds.Statistics ? 0 : _store.NextRoundNumber();
        var sessions = Eligible(_registry.Snapshot(), round);
        var statistics = kind == RoundKinds.Statistics ? null : _store.Statistics();
        var plan = new Protocol.RoundPlan(
            _options.FederationId, round, _options.Dataset, _options.Model, _options.Training with { Seed = _options.Training.Seed + round },
            model.Hash, model.Parameters.Length, [.. sessions.Select(s => s.SiloId)],
            _time.GetUtcNow() + _options.PlanTimeout + _options.TrainTimeout,
            _options.Privacy,
            _options.SecureAggregation is { } secureTemplate
                ? _options.SecureAggregationGraph.Apply(
                    secureTemplate with
                    {
                        Threshold = SecureAggregationPlan.ThresholdFor(sessions.Count, Needed),
                        KeyStageTimeout = _options.PlanTimeout,
                        MaskedInputTimeout = _options.TrainTimeout,
                    },
                    sessions.Count,
                    _options.Privacy,
                    _graphSeed)
                : null,
            _options.StudyHash,
            kind,
            _options.StudyHash.Length > 0 || kind != RoundKinds.Training || _options.FederatedEvaluation ? _privacy.TasksFor(kind, model.Parameters.Length, sessions.Count) : null,
            statistics?.Vector,
            statistics?.Hash ?? string.Empty,
            _options.StudyDocument);
        var state = new RoundState(plan, _options.MaxChunkFloats);
        _notes.MoveTo(state);
        var planHash = plan.ComputeHash();
        var attempt = 0;
        string Provisional(IReadOnlyList<FederationStore.ReleaseRow> risked)
        {
            var interrupted = new RoundReport(round, false, plan.Participants, 0, 0, 0, 0, double.NaN, double.NaN, model.Hash,
                Stopwatch.GetElapsedTime(started), InterruptedReason, Kind: kind);
            return AuditTrail.Serialize(Draft(plan, sessions, interrupted, null, model.Hash, risked, state: state, provisional: true, attempt: attempt));
        }

        // Stored with the attempt itself: a crash from here on leaves an interrupted attempt with this entry (and,
        // charged, whatever its stages go on to risk).
        attempt = _store.BeginRound(round, planHash, plan.Participants, model.Hash, kind, assigned =>
        {
            attempt = assigned;
            return Provisional([]);
        });
        state.Releases = new AttemptReleases(_privacy, _store, plan, attempt, Provisional);
        lock (_gate)
        {
            _current = state;
        }

        Log.RoundStarted(_logger, round, sessions.Count, planHash);
        using var roundSpan = CoordinatorTelemetry.Source.StartActivity("securefed.round", ActivityKind.Internal, default(ActivityContext));
        roundSpan?.SetTag("securefed.federation_id", plan.FederationId);
        roundSpan?.SetTag("securefed.round", round);
        roundSpan?.SetTag("securefed.round_kind", kind);
        roundSpan?.SetTag("securefed.participants", sessions.Count);
        roundSpan?.SetTag("securefed.plan_hash", planHash);
        roundSpan?.SetTag("securefed.aggregation", plan.SecureAggregation is null ? "plain" : "secure");
        if (plan.StudyHash.Length > 0)
        {
            roundSpan?.SetTag("securefed.study_hash", plan.StudyHash);
        }

        var planSpan = StageSupport.StartStage("plan");
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

                if (kind != RoundKinds.Statistics)
                {
                    _evaluation.SendModel(s, plan, Contracts.V1.Stage.Plan, model.Parameters);
                }
            }

            await StageSupport.WaitOrDeadline(state.AllDecided, _options.PlanTimeout, _time, cancellationToken);
            state.ClosePlanStage();
            StageSupport.EndStage(planSpan, state.Accepted().Count);
            var needed = Needed;
            ISumStage sum = plan.SecureAggregation is null
                ? new PlainSumStage(_options.TrainTimeout, _time)
                : new SecureSumStage(_registry, _options.MaxChunkFloats, _time);

            // The first task decides whether the round releases anything; its counts are the round's.
            var tasks = plan.TaskList;
            var primary = await sum.RunAsync(state, tasks[0], needed, cancellationToken);
            state.SetContributors(primary.Included);
            roundSpan?.SetTag("securefed.contributors", primary.Contributors);
            roundSpan?.SetTag("securefed.dropouts", primary.Dropped);
            CoordinatorTelemetry.Dropouts.Add(primary.Dropped);
            if (primary.AbortReason is { } reason)
            {
                return Aborted(state, sessions, model, primary, reason, started, roundSpan);
            }

            var next = model.Parameters;
            double[]? released = null;
            FederatedMetrics? metrics = null;
            switch (kind)
            {
                case RoundKinds.Statistics:
                    released = primary.Sum;
                    break;
                case RoundKinds.Evaluation:
                    metrics = EvaluationSums.Decode(primary.Sum, plan.Model.ClassCount, primary.Contributors);
                    break;
                default:
                    next = ServerStep(model, primary);

                    if (plan.Task(SumTask.Evaluation) is { } evaluation)
                    {
                        metrics = await _evaluation.RunAsync(state, plan, evaluation, next, sum, needed, cancellationToken);
                    }

                    break;
            }

            state.Finish();
            // Every sum the attempt revealed besides the training update (statistics, evaluation, even one whose
            // evaluation fell short of the threshold after unmasking) is charged with the round.
            return Completed(state, sessions, model, kind, primary, next, released, metrics, state.Releases.BesidesTraining(), started, roundSpan);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Graceful shutdown: the running stage is abandoned and the round is recorded as aborted, re-run under the
            // same number after a restart. Whatever it revealed before (a training sum unmasked before its evaluation,
            // uploads seen under plain aggregation) is charged all the same.
            state.Abort();
            var aborted = new RoundReport(round, false, plan.Participants, 0, 0, 0, 0, double.NaN, double.NaN, model.Hash,
                Stopwatch.GetElapsedTime(started), ShutdownReason, Kind: kind);
            var seen = state.Releases.All();
            _store.AbortRound(aborted, AuditTrail.Serialize(Draft(plan, sessions, aborted, null, model.Hash, seen, state: state)), seen);
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

    /// <summary>
    /// The sessions that may take part in <paramref name="round"/>: a member that refused the plan of an earlier attempt of
    /// it, was at fault in one, or is quarantined, is told why and left out (<see cref="RetryPlanner"/>).
    /// </summary>
    private List<AgentSession> Eligible(IReadOnlyList<AgentSession> sessions, long round)
    {
        var eligible = new List<AgentSession>(sessions.Count);
        foreach (var s in sessions)
        {
            if (_retries.LeftOut(s.SiloId, round) is { } why)
            {
                Log.MemberBarred(_logger, s.SiloId, round, why);
                s.TrySend(new CoordinatorMessage
                {
                    Header = DomainMapping.Header(_options.FederationId, round, Stage.Plan),
                    Notice = new Notice { StatusCode = (int)StatusCode.PermissionDenied, Message = $"not invited to round {round}: {why}" },
                });
                continue;
            }

            eligible.Add(s);
        }

        return eligible;
    }

    /// <summary>
    /// The server optimizer's step from <paramref name="model"/> with the round's mean delta. Its moments are those stored
    /// with that model version, so a retried round or a restarted coordinator steps from the same state.
    /// </summary>
    private float[] ServerStep(FederationStore.ModelVersion model, SumOutcome primary)
    {
        if (_serverStateVersion != model.Version)
        {
            _server.Restore(_store.OptimizerState(model.Version), model.Parameters.Length);
            _serverStateVersion = model.Version;
        }

        var mean = new double[model.Parameters.Length];
        for (var i = 0; i < mean.Length; i++)
        {
            mean[i] = primary.Sum![i] / primary.Weight;
        }

        _serverStateVersion = -1; // the moments now belong to the round's new model, not yet stored
        return _server.Step(model.Parameters, mean);
    }

    private RoundReport Aborted(RoundState state, IReadOnlyList<AgentSession> sessions, FederationStore.ModelVersion model, SumOutcome outcome, string reason, long started, Activity? roundSpan)
    {
        var plan = state.Plan;
        roundSpan?.SetTag("securefed.outcome", "aborted");
        roundSpan?.SetStatus(ActivityStatusCode.Error, "aborted");
        CoordinatorTelemetry.RoundsAborted.Add(1);
        state.Abort();
        var aborted = new RoundReport(plan.Round, false, plan.Participants, outcome.Contributors, outcome.Dropped, outcome.Refused, outcome.Rejected,
            double.NaN, double.NaN, model.Hash, Stopwatch.GetElapsedTime(started), reason, StageCounts: outcome.StageCounts, Kind: plan.Kind);
        var seen = state.Releases?.All() ?? [];
        _store.AbortRound(aborted, AuditTrail.Serialize(Draft(plan, sessions, aborted, null, model.Hash, seen, state: state)), seen);
        _audit.Flush();
        Log.RoundAborted(_logger, plan.Round, reason);
        return aborted;
    }

    private RoundReport Completed(
        RoundState state, IReadOnlyList<AgentSession> sessions, FederationStore.ModelVersion model, string kind, SumOutcome primary, float[] next,
        double[]? statistics, FederatedMetrics? metrics, IReadOnlyList<FederationStore.ReleaseRow> releases, long started, Activity? roundSpan)
    {
        var plan = state.Plan;
        var round = plan.Round;
        var charge = kind == RoundKinds.Training ? _privacy.Charge(plan, round, primary.Contributors) : null;
        var quality = metrics is not null
            ? new ModelQuality(metrics.Accuracy, metrics.Loss)
            : kind == RoundKinds.Training && _evaluator.HoldsTestData ? _evaluator.Evaluate(next) : new ModelQuality(double.NaN, double.NaN);
        var report = new RoundReport(round, true, plan.Participants, primary.Contributors, primary.Dropped, primary.Refused, primary.Rejected,
            quality.Accuracy, quality.Loss, kind == RoundKinds.Training ? ModelHash.Compute(next) : model.Hash, Stopwatch.GetElapsedTime(started), null,
            charge?.NoiseMultiplier ?? double.NaN, double.NaN, primary.StageCounts, primary.UnmaskTime, kind, metrics, releases);
        var statisticsHash = statistics is null ? null : Protocol.RoundPlan.HashStatistics(statistics);
        report = report with { Epsilon = _options.Privacy is null ? double.NaN : _privacy.Spent(model.Parameters.Length, charge, releases) };
        var draft = AuditTrail.Serialize(Draft(plan, sessions, report, charge, model.Hash, releases, statisticsHash, state));
        var hash = model.Hash;
        switch (kind)
        {
            case RoundKinds.Statistics:
                _store.CompleteStatisticsRound(report, statistics!, statisticsHash!, draft, releases);
                Log.StatisticsReleased(_logger, primary.Contributors, statisticsHash!);
                break;
            case RoundKinds.Evaluation:
                _store.CompleteEvaluationRound(report, draft, releases);
                break;
            default:
                var stored = _store.CompleteRound(report, next, charge, draft, releases, _server.State());
                hash = stored.Hash;
                _serverStateVersion = stored.Version;
                break;
        }

        _audit.Flush();
        Log.RoundCompleted(_logger, round, report.Contributors, report.Dropouts, quality.Accuracy, hash);
        roundSpan?.SetTag("securefed.outcome", "completed");
        roundSpan?.SetTag("securefed.model_hash", hash);
        CoordinatorTelemetry.RoundsCompleted.Add(1);
        CoordinatorTelemetry.RoundDuration.Record(report.Duration.TotalMilliseconds);
        if (double.IsFinite(report.Epsilon))
        {
            roundSpan?.SetTag("securefed.epsilon", report.Epsilon);
            if (charge is not null)
            {
                roundSpan?.SetTag("securefed.noise_multiplier_charged", charge.NoiseMultiplier);
            }

            CoordinatorTelemetry.Epsilon.Record(report.Epsilon);
        }

        foreach (var s in sessions)
        {
            s.TrySend(new CoordinatorMessage
            {
                Header = DomainMapping.Header(plan.FederationId, round, Stage.Result),
                RoundResult = new RoundResult
                {
                    NewModelVersionHash = hash,
                    Contributors = (uint)report.Contributors,
                    Dropouts = (uint)report.Dropouts,
                    Accuracy = quality.Accuracy,
                    Loss = quality.Loss,
                    Epsilon = double.IsFinite(report.Epsilon) ? report.Epsilon : 0,
                },
            });
        }

        return report;
    }

    /// <summary>The ledger entry of a finished round (DESIGN section 5): everything an auditor needs, no vectors.</summary>
    private LedgerEntryDraft Draft(
        Protocol.RoundPlan plan, IReadOnlyList<AgentSession> sessions, RoundReport report, FederationStore.PrivacyChargeRow? charge, string modelBefore,
        IReadOnlyList<FederationStore.ReleaseRow> releases, string? statisticsHash = null, RoundState? state = null, bool provisional = false, int attempt = 0)
    {
        var dp = plan.Privacy;
        var z = report.Completed ? charge?.NoiseMultiplier : null;
        var released = releases;
        var newCharges = (z is { } zz ? [zz] : Array.Empty<double>()).Concat(released.Select(r => r.NoiseMultiplier)).ToList();
        var change = _privacy.SettingsChange();
        IReadOnlyList<AttemptFault> faults = state?.Faults() ?? [];
        var outcomes = state?.Outcomes() ?? [];
        if (!provisional)
        {
            // Only the final entry settles what the attempt's faults and refusals cost their members.
            faults = _standing.After(plan.Round, faults, report.Completed);
            _retries.After(plan.Round, outcomes, report.Completed);

            // A provisional entry (what a crash would leave) shows the change too, but only a final one consumes it.
            if (change is not null)
            {
                Log.PrivacySettingsChanged(_logger, change);
            }

            _privacy.RecordSettings();
        }

        return new LedgerEntryDraft
        {
            FederationId = plan.FederationId,
            Round = checked((int)plan.Round),
            Attempt = attempt > 0 ? attempt : _store.RunningAttempt(plan.Round),
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
            CumulativeEpsilon = dp is null ? null : _audit.EpsilonWith(newCharges, dp.Delta),
            ModelHashBefore = modelBefore,
            ModelHashAfter = report.ModelHash,
            TraceId = Activity.Current?.TraceId.ToString() ?? string.Empty,
            Kind = plan.StudyHash.Length > 0 || plan.Kind != RoundKinds.Training ? plan.Kind : null,
            StudyHash = plan.StudyHash.Length > 0 ? plan.StudyHash : null,
            StatisticsHash = statisticsHash ?? (plan.StatisticsHash.Length > 0 ? plan.StatisticsHash : null),
            Evaluation = report.Evaluation is { Examples: > 0 } m
                ? new LedgerEvaluation(plan.Kind == RoundKinds.Evaluation ? plan.ModelVersionHash : report.ModelHash, m.Examples, m.Correct, m.LossSum, m.Accuracy, m.Loss, m.Contributors)
                : null,
            Releases = dp is null || released.Count == 0 ? null : [.. released.Select(r => new LedgerRelease(r.Task, r.NoiseMultiplier))],
            SettingsChange = change,
            AbortReason = report.Completed ? null : LedgerEntryDraft.BoundReason(report.AbortReason),
            Faults = faults.Count == 0 ? null : [.. faults.Select(f => new LedgerFault(f.SiloId, LedgerEntryDraft.BoundReason(f.What)!, f.Proven))],
            Outcomes = outcomes.Count > 0 ? outcomes : null,
            PlannedRounds = _options.Rounds,
            ModelKind = LedgerEntryDraft.BoundName(_options.Model.Kind),
            StudyName = plan.StudyHash.Length > 0 ? LedgerEntryDraft.BoundName(_options.Dataset) : null,
            RecordPrivacy = state?.RecordSpends() is { Count: > 0 } spends
                ? [.. spends.Select(x => new LedgerRecordPrivacy(x.SiloId, x.Spend.NoiseMultiplier, x.Spend.SamplingRate, checked((long)x.Spend.Steps), x.Spend.Delta, x.Spend.Accountant))]
                : null,
        };
    }
}
