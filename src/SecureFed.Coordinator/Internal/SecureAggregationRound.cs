using MaskedInputChunk = SecureFed.Contracts.V1.MaskedInputChunk;
using SecureFed.Crypto;
using SecureFed.Protocol;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The coordinator's side of one round's secure aggregation over the agents' streams: wraps the protocol's
/// <see cref="SecAggServer"/>, checks that every message's sender is the silo whose certificate the stream
/// presented, reassembles masked inputs sent in chunks, and tracks which silos still owe an answer in the current
/// stage so the stage can close early. Masked inputs live only inside the protocol server until the sum is taken.
/// Thread-safe: one lock around all state; waiters are signalled after it is released.
/// </summary>
internal sealed class SecureAggregationRound
{
    private readonly Lock _gate = new();
    private readonly SecAggServer _server;
    private readonly int _maxChunk;
    // Each silo's masked chunks as they arrived (the words' own buffers, not a decoded copy) until its last chunk hands
    // them to the protocol, which folds them into the running sum: a silo that stops mid-upload leaves no trace in it.
    private readonly Dictionary<string, (List<ReadOnlyMemory<byte>> Chunks, int Filled)> _masked = new(StringComparer.Ordinal);
    private HashSet<string> _awaiting;
    private TaskCompletionSource _stageDone = NewSignal();

    public SecureAggregationRound(SecAggParameters parameters, IReadOnlyDictionary<string, ISignatureVerifier> verifiers, int maxChunk, string task = SumTask.Training)
    {
        Parameters = parameters;
        Task = task;
        _server = new SecAggServer(parameters, verifiers);
        _maxChunk = maxChunk;
        _awaiting = new HashSet<string>(parameters.Participants, StringComparer.Ordinal);
    }

    private readonly HashSet<string> _stalled = new(StringComparer.Ordinal);

    public SecAggParameters Parameters { get; }

    /// <summary>The plan task this secure sum belongs to.</summary>
    public string Task { get; }

    public SecAggStage Stage
    {
        get
        {
            lock (_gate)
            {
                return _server.Stage;
            }
        }
    }

    public SecAggSurvivorCounts Survivors
    {
        get
        {
            lock (_gate)
            {
                return _server.Survivors;
            }
        }
    }

    /// <summary>Unmask responses received so far (<see cref="SecAggServer.UnmaskResponsesReceived"/>).</summary>
    public int UnmaskResponsesReceived
    {
        get
        {
            lock (_gate)
            {
                return _server.UnmaskResponsesReceived;
            }
        }
    }

    /// <summary>Completes when every silo expected in the current stage has answered or left.</summary>
    public Task StageDone
    {
        get
        {
            lock (_gate)
            {
                return _stageDone.Task;
            }
        }
    }

    public AdvertiseKeysRequest Start()
    {
        lock (_gate)
        {
            return _server.Start();
        }
    }

    /// <summary>Routes one client message. Throws <see cref="ProtocolViolationException"/> on a violation.</summary>
    public void Receive(string siloId, SecAggClientMessage message)
    {
        TaskCompletionSource? done;
        lock (_gate)
        {
            RequireSender(siloId, message.Sender);
            _server.Receive(message);
            done = Answered(siloId);
        }

        done?.TrySetResult();
    }

    /// <summary>
    /// One chunk of a masked input; the last one hands the whole vector to the protocol. The words (k/8 little-endian
    /// bytes an element) are kept as received; a chunk in the older varint form (<c>values</c>) is still accepted and
    /// re-encoded as words, and one carrying both is refused. Every refusal names the silo.
    /// </summary>
    public void ReceiveMaskedChunk(string siloId, long round, MaskedInputChunk chunk)
    {
        TaskCompletionSource? done = null;
        lock (_gate)
        {
            RequireSender(siloId, chunk.Sender);
            if (_server.Stage != SecAggStage.MaskedInput)
            {
                throw new ProtocolViolationException(FaultKind.FailedPrecondition, $"expected stage {_server.Stage}, received a masked input from {siloId}");
            }

            if (chunk.TotalLength != (uint)Parameters.VectorLength)
            {
                throw new ProtocolViolationException(FaultKind.InvalidArgument, $"the masked vector of {siloId} has length {chunk.TotalLength}; the round needs {Parameters.VectorLength}");
            }

            var words = Words(siloId, chunk);
            int count = words.Length / RingWords.WordBytes(Parameters.RingBits);
            if (count > _maxChunk)
            {
                throw new ProtocolViolationException(FaultKind.ResourceExhausted, $"the masked chunk of {siloId} has {count} values, over the limit of {_maxChunk}");
            }

            if (!_masked.TryGetValue(siloId, out var entry))
            {
                entry = ([], 0);
            }

            if (chunk.Offset != (uint)entry.Filled)
            {
                throw new ProtocolViolationException(FaultKind.InvalidArgument, $"the masked chunk of {siloId} is at offset {chunk.Offset} where {entry.Filled} was expected");
            }

            if ((long)entry.Filled + count > Parameters.VectorLength)
            {
                throw new ProtocolViolationException(
                    FaultKind.InvalidArgument, $"the masked chunk of {siloId} carries {count} values at offset {entry.Filled}, past the vector's {Parameters.VectorLength}");
            }

            entry.Chunks.Add(words);
            entry.Filled += count;
            if (!chunk.Last)
            {
                _masked[siloId] = entry;
                return;
            }

            _masked.Remove(siloId);
            if (entry.Filled != Parameters.VectorLength)
            {
                throw new ProtocolViolationException(FaultKind.InvalidArgument, $"the masked vector of {siloId} is incomplete: {entry.Filled} of {Parameters.VectorLength} values");
            }

            _server.Receive(new MaskedInputWordsMessage(round, siloId, entry.Chunks));
            done = Answered(siloId);
        }

        done?.TrySetResult();
    }

    /// <summary>The chunk's elements as words: its <c>words</c> as received, or its legacy varints checked and re-encoded.</summary>
    private ReadOnlyMemory<byte> Words(string siloId, MaskedInputChunk chunk)
    {
        int ringBits = Parameters.RingBits;
        if (chunk.Values.Count == 0)
        {
            if (RingWords.ElementCount(chunk.Words.Length, ringBits) is null)
            {
                throw new ProtocolViolationException(
                    FaultKind.InvalidArgument,
                    $"the masked chunk of {siloId} is {chunk.Words.Length} bytes, not a whole number of {RingWords.WordBytes(ringBits)}-byte words of Z/2^{ringBits}");
            }

            return chunk.Words.Memory;
        }

        if (!chunk.Words.IsEmpty)
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"the masked chunk of {siloId} carries both words and varint values; send one");
        }

        if (chunk.Values.Count > _maxChunk)
        {
            throw new ProtocolViolationException(FaultKind.ResourceExhausted, $"the masked chunk of {siloId} has {chunk.Values.Count} values, over the limit of {_maxChunk}");
        }

        var values = new ulong[chunk.Values.Count];
        chunk.Values.CopyTo(values, 0);
        if (!ModularArithmetic.AllInRing(values, ringBits))
        {
            throw new ProtocolViolationException(FaultKind.InvalidArgument, $"the masked chunk of {siloId} has an element not below 2^{ringBits}");
        }

        return RingWords.Encode(values, ringBits);
    }

    /// <summary>The silo left or broke the protocol: it owes nothing more.</summary>
    public void Drop(string siloId)
    {
        TaskCompletionSource? done;
        lock (_gate)
        {
            _masked.Remove(siloId);
            done = Answered(siloId);
        }

        done?.TrySetResult();
    }

    public AdvertisedKeys CloseAdvertiseKeys() =>
        Close(() => _server.CloseAdvertiseKeys(), r => r.Advertisements.Select(a => a.Sender));

    public IReadOnlyDictionary<string, ShareKeysDelivery> CloseShareKeys() =>
        Close(() => _server.CloseShareKeys(), r => r.Keys);

    public ConsistencyCheckRequest CloseMaskedInput() =>
        Close(() => _server.CloseMaskedInput(), r => r.Survivors);

    public UnmaskRequest CloseConsistencyCheck() =>
        Close(() => _server.CloseConsistencyCheck(), r => r.Signatures.Select(s => s.Sender));

    public (RingVector Sum, IReadOnlyList<string> Included) CloseUnmask()
    {
        lock (_gate)
        {
            _stalled.UnionWith(_awaiting);
            var sum = _server.CloseUnmask();
            _awaiting = [];
            return (sum, _server.IncludedClients);
        }
    }

    /// <summary>
    /// Judges a member's complaint about a share (<see cref="SecAggServer.JudgeComplaint"/>). The complainer has given
    /// up this sum, so it owes nothing more here.
    /// </summary>
    public ComplaintVerdict JudgeComplaint(string complainer, string accused, ReadOnlySpan<byte> shareKey)
    {
        ComplaintVerdict verdict;
        lock (_gate)
        {
            verdict = _server.JudgeComplaint(complainer, accused, shareKey);
        }

        Drop(complainer);
        return verdict;
    }

    /// <summary>Members that owed an answer when a stage closed and gave none while connected (left and rejected ones are not counted).</summary>
    public IReadOnlyList<string> Stalled
    {
        get
        {
            lock (_gate)
            {
                return [.. _stalled.Order(StringComparer.Ordinal)];
            }
        }
    }

    private T Close<T>(Func<T> close, Func<T, IEnumerable<string>> nextRecipients)
    {
        lock (_gate)
        {
            _stalled.UnionWith(_awaiting);
            _masked.Clear();
            var result = close();
            _awaiting = new HashSet<string>(nextRecipients(result), StringComparer.Ordinal);
            _stageDone = NewSignal();
            if (_awaiting.Count == 0)
            {
                _stageDone.TrySetResult();
            }

            return result;
        }
    }

    private TaskCompletionSource? Answered(string siloId) =>
        _awaiting.Remove(siloId) && _awaiting.Count == 0 ? _stageDone : null;

    private static void RequireSender(string siloId, string sender)
    {
        if (!string.Equals(siloId, sender, StringComparison.Ordinal))
        {
            throw new ProtocolViolationException(FaultKind.PermissionDenied, $"message names sender '{Truncate(sender)}' but the stream belongs to '{siloId}'");
        }
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64];

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
