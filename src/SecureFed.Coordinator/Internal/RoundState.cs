using SecureFed.Contracts.V1;
using SecureFed.Protocol;
using Stage = SecureFed.Protocol.Stage;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The coordinator's view of one running round: the round's stage and each participant's progress.
/// All state changes happen under one lock; waiters are signalled after it is released.
/// </summary>
internal sealed class RoundState
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Participant> _participants;
    private readonly int _maxChunk;
    private readonly TaskCompletionSource _allDecided = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _allUploaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private long _uploadBytes; // the current task's plain upload payload so far, and when its first and last chunk came
    private long _firstUpload;
    private long _lastUpload;
    private TimeSpan _firstUploadCpu; // this process's CPU time at the first and the last chunk
    private TimeSpan _lastUploadCpu;
    private readonly List<AttemptFault> _faults = [];
    private readonly HashSet<string> _contributors = new(StringComparer.Ordinal);
    private string _task;

    public RoundState(Protocol.RoundPlan plan, int maxChunk)
    {
        Plan = plan;
        PlanHash = plan.ComputeHash();
        _maxChunk = maxChunk;
        _participants = plan.Participants.ToDictionary(p => p, _ => new Participant(), StringComparer.Ordinal);
        Stage = Stage.Plan;
        _task = plan.TaskList[0].Name;
    }

    public enum SiloStatus
    {
        Invited,
        Accepted,
        Uploading,
        Done,
        Refused,
        Dropped,
        Rejected,
    }

    public Protocol.RoundPlan Plan { get; }

    /// <summary>The plan's hash (what a silo's decision names).</summary>
    public string PlanHash { get; }

    public Stage Stage { get; private set; }

    public Task AllDecided => _allDecided.Task;

    public Task AllUploaded
    {
        get
        {
            lock (_gate)
            {
                return _allUploaded.Task;
            }
        }
    }

    /// <summary>
    /// Starts collecting plain uploads of the plan's next task: silos that completed the previous task are expected
    /// again; those that dropped out, refused or were rejected stay out.
    /// </summary>
    public void BeginUploads(string task)
    {
        lock (_gate)
        {
            _task = task;
            _seen.Clear();
            (_uploadBytes, _firstUpload, _lastUpload) = (0, 0, 0);
            (_firstUploadCpu, _lastUploadCpu) = (TimeSpan.Zero, TimeSpan.Zero);
            foreach (var p in _participants.Values.Where(p => p.Status is SiloStatus.Done or SiloStatus.Uploading))
            {
                p.Status = SiloStatus.Accepted;
                p.Delta = null;
                p.Assembler = null;
            }

            _allUploaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public bool IsParticipant(string siloId) => _participants.ContainsKey(siloId);

    /// <summary>
    /// A silo's answer to the plan; false when it is late (the plan stage closed) or decides another plan (an earlier
    /// attempt's, by plan hash), which is harmless and discarded. A decision without a hash is taken as this plan's.
    /// </summary>
    public bool OnDecision(string siloId, PlanDecision decision)
    {
        bool decidedAll;
        lock (_gate)
        {
            var p = Get(siloId);
            if (Stage != Stage.Plan || (decision.PlanHash.Length > 0 && !string.Equals(decision.PlanHash, PlanHash, StringComparison.Ordinal)))
            {
                return false;
            }

            if (p.Status != SiloStatus.Invited)
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"duplicate plan decision (silo is {p.Status})");
            }

            p.Status = decision.Accepted ? SiloStatus.Accepted : SiloStatus.Refused;
            p.RefusalReason = decision.Accepted ? null : Truncate(decision.Reason);
            p.RecordSpend = decision.Accepted ? RecordSpendOf(siloId, decision.RecordPrivacy) : null;
            decidedAll = _participants.Values.All(x => x.Status != SiloStatus.Invited);
        }

        if (decidedAll)
        {
            _allDecided.TrySetResult();
        }

        return true;
    }

    /// <summary>One chunk of a silo's update; false when it belongs to an earlier task of the plan (late, harmless).</summary>
    public bool OnUpdateChunk(string siloId, UpdateChunk chunk)
    {
        bool uploadedAll = false;
        lock (_gate)
        {
            var p = Get(siloId);
            var task = string.IsNullOrEmpty(chunk.Task) ? SumTask.Training : chunk.Task;
            if (!string.Equals(task, _task, StringComparison.Ordinal))
            {
                if (Plan.IsEarlierTask(task, _task))
                {
                    return false;
                }

                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"update for task '{SumTask.Printable(task)}' while this round collects '{_task}'");
            }

            if (Stage is not (Stage.Plan or Stage.Train))
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"expected stage {Stage}, received an update");
            }

            if (p.Status is SiloStatus.Done)
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, "duplicate update submission for this round");
            }

            if (p.Status is not (SiloStatus.Accepted or SiloStatus.Uploading))
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"update from a silo that is {p.Status} in this round");
            }

            p.Assembler ??= new VectorAssembler(Plan.Task(_task)?.Length ?? Plan.ParameterCount, _maxChunk);
            p.Status = SiloStatus.Uploading;
            _seen.Add(siloId);
            p.Assembler.Add(chunk.Offset, chunk.TotalLength, chunk.Values);
            _lastUpload = System.Diagnostics.Stopwatch.GetTimestamp();

            // The window's last chunk is always some silo's last: reading the CPU (a system call) at the first chunk
            // and at each silo's last one costs one read per upload instead of one per chunk.
            if (_firstUpload == 0 || chunk.Last)
            {
                _lastUploadCpu = Environment.CpuUsage.TotalTime;
            }

            (_firstUpload, _firstUploadCpu) = _firstUpload == 0 ? (_lastUpload, _lastUploadCpu) : (_firstUpload, _firstUploadCpu);
            _uploadBytes += (long)chunk.Values.Count * sizeof(float);
            if (chunk.Last)
            {
                if (chunk.ExampleCount == 0 || chunk.ExampleCount > int.MaxValue)
                {
                    throw new ProtocolViolationException(FaultKind.InvalidArgument, $"example count {chunk.ExampleCount} is out of range");
                }

                p.Delta = p.Assembler.ToArray();
                p.Examples = (long)chunk.ExampleCount;
                p.Assembler = null;
                p.Status = SiloStatus.Done;
                uploadedAll = Stage == Stage.Train && AllSettled();
            }
        }

        if (uploadedAll)
        {
            _allUploaded.TrySetResult();
        }

        return true;
    }

    /// <summary>Silos that accepted the plan and are still connected.</summary>
    /// <summary>The record-level DP-SGD each accepting silo declared it runs this round (silo id, spend).</summary>
    public IReadOnlyList<(string SiloId, RecordPrivacySpend Spend)> RecordSpends()
    {
        lock (_gate)
        {
            return [.. _participants.Where(kv => kv.Value.RecordSpend is not null).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value.RecordSpend!))];
        }
    }

    /// <summary>A silo's declared spend, checked: an out-of-range value is the silo's protocol fault, not a ledger row.</summary>
    private static RecordPrivacySpend? RecordSpendOf(string siloId, RecordPrivacySpend? spend)
    {
        if (spend is null)
        {
            return null;
        }

        if (!(spend.NoiseMultiplier > 0 && double.IsFinite(spend.NoiseMultiplier)) || !(spend.SamplingRate > 0 && spend.SamplingRate <= 1)
            || spend.Steps is 0 or > int.MaxValue || !(spend.Delta > 0 && spend.Delta < 1) || spend.Accountant is not ("rdp" or "pld"))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"silo {siloId} declared an invalid record-level privacy spend");
        }

        return spend;
    }

    public IReadOnlyList<string> Accepted()
    {
        lock (_gate)
        {
            return [.. _participants.Where(kv => kv.Value.Status == SiloStatus.Accepted).Select(kv => kv.Key).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Silos any part of whose vector for the current task reached the coordinator in the clear (plain aggregation),
    /// whether or not it was completed, kept or later rejected: each was seen.
    /// </summary>
    public int UploadsSeen()
    {
        lock (_gate)
        {
            return _seen.Count;
        }
    }

    /// <summary>The current task's accepted plain upload payload (4 bytes a value), the time from its first chunk's
    /// arrival to its last's, and this process's CPU time over that window: the coordinator's ingest, for the stage
    /// span. The CPU is the coordinator's own only when no agent runs in its process.</summary>
    public (long Bytes, TimeSpan Window, TimeSpan Cpu) UploadIngest()
    {
        lock (_gate)
        {
            return _firstUpload == 0
                ? (_uploadBytes, TimeSpan.Zero, TimeSpan.Zero)
                : (_uploadBytes, System.Diagnostics.Stopwatch.GetElapsedTime(_firstUpload, _lastUpload), _lastUploadCpu - _firstUploadCpu);
        }
    }

    /// <summary>
    /// Records that <paramref name="siloId"/> cost this attempt something (<see cref="AttemptFault"/>); the first fault
    /// of a member in an attempt is the one kept.
    /// </summary>
    public void NoteFault(string siloId, string what, bool proven)
    {
        lock (_gate)
        {
            if (_participants.ContainsKey(siloId))
            {
                FaultLocked(siloId, what, proven);
            }
        }
    }

    /// <summary>
    /// Records an event about <paramref name="note"/>'s silo that costs it nothing (<see cref="AttemptFault.SitsOut"/>
    /// false), member of this attempt or not; one per silo and attempt. False once the attempt is over (its entry may
    /// already be drafted), so the caller keeps it for the next attempt.
    /// </summary>
    public bool NoteEvent(AttemptFault note)
    {
        lock (_gate)
        {
            if (Stage is Stage.Result or Stage.Aborted)
            {
                return false;
            }

            FaultLocked(note.SiloId, note.What, note.Proven, note.SitsOut);
            return true;
        }
    }

    /// <summary>The silos whose inputs are in the attempt's (primary) sum, once it is known.</summary>
    public void SetContributors(IReadOnlyList<string> siloIds)
    {
        lock (_gate)
        {
            _contributors.Clear();
            _contributors.UnionWith(siloIds);
        }
    }

    /// <summary>What each invited silo did in this attempt, in silo order (<see cref="Audit.LedgerSiloOutcome"/>).</summary>
    public IReadOnlyList<Audit.LedgerSiloOutcome> Outcomes()
    {
        lock (_gate)
        {
            return [.. _participants.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value.Status switch
            {
                _ when _contributors.Contains(kv.Key) => new Audit.LedgerSiloOutcome(kv.Key, "contributed"),
                SiloStatus.Refused => new Audit.LedgerSiloOutcome(kv.Key, "refused", Audit.LedgerEntryDraft.BoundReason(kv.Value.RefusalReason ?? "")),
                SiloStatus.Rejected => new Audit.LedgerSiloOutcome(kv.Key, "rejected"),
                _ => new Audit.LedgerSiloOutcome(kv.Key, "dropped"),
            })];
        }
    }

    /// <summary>The faults of this attempt, in the order they happened.</summary>
    public IReadOnlyList<AttemptFault> Faults()
    {
        lock (_gate)
        {
            return [.. _faults];
        }
    }

    /// <summary>What this attempt has shown the coordinator, for its charges (set by the orchestrator when the attempt starts).</summary>
    public AttemptReleases? Releases { get; set; }

    /// <summary>The secure aggregation of this round, once it started.</summary>
    public SecureAggregationRound? Secure { get; set; }

    /// <summary>
    /// The silo broke the protocol; its contribution is discarded, even a complete upload made earlier in the
    /// round (a peer that misbehaves is not trusted for the rest of the round), unless the aggregate is already
    /// being computed.
    /// </summary>
    public void Reject(string siloId)
    {
        Secure?.Drop(siloId);
        lock (_gate)
        {
            if (Stage is not (Stage.Result or Stage.Aborted) && _participants.TryGetValue(siloId, out var p) && p.Status == SiloStatus.Done)
            {
                p.Status = SiloStatus.Rejected;
                p.Delta = null;
                return;
            }
        }

        Settle(siloId, SiloStatus.Rejected);
    }

    /// <summary>The silo's connection ended.</summary>
    public void OnDisconnect(string siloId)
    {
        Secure?.Drop(siloId);
        Settle(siloId, SiloStatus.Dropped);
    }

    /// <summary>Closes the plan stage: undecided silos count as dropouts.</summary>
    public void ClosePlanStage()
    {
        bool uploadedAll;
        lock (_gate)
        {
            StageTransitions.Require(Stage, Stage.Train);
            foreach (var (id, p) in _participants.Where(kv => kv.Value.Status == SiloStatus.Invited))
            {
                p.Status = SiloStatus.Dropped;
                FaultLocked(id, "did not answer the plan before its deadline while connected", proven: false);
            }

            Stage = Stage.Train;
            uploadedAll = AllSettled();
        }

        if (uploadedAll)
        {
            _allUploaded.TrySetResult();
        }
    }

    /// <summary>Closes the current task's uploads: unfinished ones count as dropouts. Returns the complete updates.</summary>
    public RoundTally CloseUploads()
    {
        lock (_gate)
        {
            if (Stage != Stage.Train)
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"uploads closed in stage {Stage}");
            }

            foreach (var (id, p) in _participants.Where(kv => kv.Value.Status is SiloStatus.Accepted or SiloStatus.Uploading))
            {
                p.Status = SiloStatus.Dropped;
                p.Assembler = null;
                FaultLocked(id, $"did not upload its {_task} vector before the deadline while connected", proven: false);
            }

            return Tally();
        }
    }

    /// <summary>Every task of the round is done: nothing more is accepted.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            StageTransitions.Require(Stage, Stage.Result);
            Stage = Stage.Result;
        }
    }

    /// <summary>Marks the round aborted (no aggregate released).</summary>
    public void Abort()
    {
        lock (_gate)
        {
            if (Stage != Stage.Aborted)
            {
                StageTransitions.Require(Stage == Stage.Result ? Stage.Train : Stage, Stage.Aborted);
                Stage = Stage.Aborted;
            }
        }
    }

    /// <summary>The silos whose messages this round rejected (protocol faults).</summary>
    public IReadOnlyList<string> RejectedSilos()
    {
        lock (_gate)
        {
            return [.. _participants.Where(kv => kv.Value.Status == SiloStatus.Rejected).Select(kv => kv.Key)];
        }
    }

    public RoundTally Tally()
    {
        lock (_gate)
        {
            var done = _participants.Where(kv => kv.Value.Status == SiloStatus.Done)
                .Select(kv => new SiloUpdate(kv.Key, kv.Value.Delta!, kv.Value.Examples)).ToList();
            int Count(SiloStatus s) => _participants.Values.Count(p => p.Status == s);
            return new RoundTally(done, Count(SiloStatus.Dropped), Count(SiloStatus.Refused), Count(SiloStatus.Rejected));
        }
    }

    private void Settle(string siloId, SiloStatus status)
    {
        bool decidedAll;
        bool uploadedAll;
        lock (_gate)
        {
            if (!_participants.TryGetValue(siloId, out var p) || p.Status is SiloStatus.Done or SiloStatus.Refused or SiloStatus.Dropped or SiloStatus.Rejected)
            {
                return;
            }

            p.Status = status;
            p.Assembler = null;
            decidedAll = _participants.Values.All(x => x.Status != SiloStatus.Invited);
            uploadedAll = Stage == Stage.Train && AllSettled();
        }

        if (decidedAll)
        {
            _allDecided.TrySetResult();
        }

        if (uploadedAll)
        {
            _allUploaded.TrySetResult();
        }
    }

    /// <summary>
    /// A stall (a connected member that owed an answer and gave none): unproven, it may be a slow machine. A stalled
    /// member sits out the round's retries, unless more than half of the attempt's members stalled together: then the
    /// deadline (an overloaded coordinator or network) is the likely cause, not the members, and keeping them all out
    /// would leave a retry that cannot reach its threshold (issue 14: at 1000 silos every retry was planned with 7). The
    /// stall is still recorded, at no cost to the member.
    /// </summary>
    public void NoteStalled(IReadOnlyCollection<string> siloIds, string task)
    {
        lock (_gate)
        {
            var stalled = siloIds.Where(_participants.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
            var together = stalled.Count * 2 > _participants.Count;
            foreach (var id in stalled)
            {
                var what = $"did not answer a stage of the {task} secure sum before its deadline while connected";
                FaultLocked(
                    id,
                    together ? $"{what}, with {stalled.Count} of the {_participants.Count} members: the deadline is the likely cause, so it is invited to the retry" : what,
                    proven: false,
                    sitsOut: !together);
            }
        }
    }

    /// <summary>
    /// Keeps a member's first fault of the attempt, and apart from it its first event that costs nothing, so a note
    /// never hides a fault (the caller holds the lock).
    /// </summary>
    private void FaultLocked(string siloId, string what, bool proven, bool sitsOut = true)
    {
        if (_faults.All(f => f.SiloId != siloId || f.SitsOut != sitsOut))
        {
            _faults.Add(new AttemptFault(siloId, what, proven, sitsOut));
        }
    }

    private bool AllSettled() =>
        _participants.Values.All(p => p.Status is SiloStatus.Done or SiloStatus.Refused or SiloStatus.Dropped or SiloStatus.Rejected);

    private Participant Get(string siloId) =>
        _participants.TryGetValue(siloId, out var p)
            ? p
            : throw new ProtocolViolationException(FaultKind.FailedPrecondition, "silo is not a participant of this round");

    private static string Truncate(string s) => s.Length <= 200 ? s : s[..200];

    private sealed class Participant
    {
        public SiloStatus Status { get; set; } = SiloStatus.Invited;

        public VectorAssembler? Assembler { get; set; }

        public float[]? Delta { get; set; }

        public long Examples { get; set; }

        public string? RefusalReason { get; set; }

        public RecordPrivacySpend? RecordSpend { get; set; }
    }
}

internal sealed record SiloUpdate(string SiloId, float[] Delta, long Examples);

internal sealed record RoundTally(IReadOnlyList<SiloUpdate> Updates, int Dropped, int Refused, int Rejected);
