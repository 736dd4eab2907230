using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SecureFed.Audit;
using SecureFed.Crypto;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The coordinator's side of the audit ledger. Each round's entry is committed to the store in the same
/// transaction as the round (an outbox) and then appended, signed with the coordinator's certificate key, to the
/// hash-chained ledger file; the store records the sequence number and entry hash each entry got there.
/// </summary>
/// <remarks>
/// <para>The store is the source of truth. At construction the ledger file is compared with it: every entry of this
/// federation in the file must be, byte for byte, the entry the store holds for that attempt (its hash recomputed from
/// the stored draft at its position); a file that holds an attempt the store lacks, or another entry than the store's,
/// is refused with one line. Entries the store holds but the file lacks at its end (a deleted file, a cut tail) are
/// re-derived from the stored drafts and re-signed, with a warning naming them; at the same positions they get the same
/// entry hashes as when first written, so a head published before the loss still matches. <see cref="Flush"/> then
/// appends the outbox. Cumulative epsilon is always composed from the store's charges, never from the file.</para>
/// <para>Thread-safe.</para>
/// </remarks>
internal sealed class AuditTrail : IDisposable
{
    private readonly AuditLedger _ledger;
    private readonly ISigner _signer;
    private readonly FederationStore _store;
    private readonly string _federationId;
    private readonly Lock _gate = new();
    private int _disposed;

    public AuditTrail(string path, X509Certificate2 coordinatorCertificate, FederationStore store, string federationId, ILogger logger)
    {
        Path = System.IO.Path.GetFullPath(path);
        _store = store;
        _federationId = federationId;
        try
        {
            _ledger = AuditLedger.Open(Path);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException(
                $"{ex.Message.ReplaceLineEndings(" ")} The store {store.Path} holds every entry: move the file aside (keep it for the auditors) and start again to have the ledger re-derived from the store.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"ledger {Path}: cannot open it for appending ({ex.Message.ReplaceLineEndings(" ")}); make it writable, or stop the process that writes it", ex);
        }

        _signer = CryptoProvider.Default.CreateSigner(coordinatorCertificate);
        try
        {
            Reconcile(logger);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>
    /// Cumulative epsilons (rdp, exact) as the ledger will record them with this entry's charges: every release the
    /// store has charged so far (<see cref="FederationStore.ChargedNoiseMultipliers"/>) composed with <paramref name="newCharges"/>.
    /// </summary>
    public LedgerEpsilon EpsilonWith(IReadOnlyList<double> newCharges, double delta) =>
        LedgerEpsilons.Compute([.. _store.ChargedNoiseMultipliers(), .. newCharges], delta);

    public static string Serialize(LedgerEntryDraft draft) => JsonSerializer.Serialize(draft);

    /// <summary>Appends every stored entry not yet in the file, in order.</summary>
    /// <exception cref="IOException">The file could not be written (disk full, read-only); the store keeps the entries
    /// and the next start appends them.</exception>
    public void Flush()
    {
        lock (_gate)
        {
            foreach (var (round, attempt, json) in _store.PendingLedgerDrafts())
            {
                Append(round, attempt, json);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _ledger.Dispose();
        _signer.Dispose();
    }

    private void Append(long round, int attempt, string json)
    {
        LedgerEntry entry;
        try
        {
            entry = _ledger.Append(Draft(round, attempt, json), _signer);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException and not ObjectDisposedException)
        {
            throw new IOException(
                $"ledger {Path}: appending the entry of round {round} attempt {attempt} failed ({ex.Message.ReplaceLineEndings(" ")}); the store keeps the entry and the next start appends it: free space or make the file writable, then start the coordinator again", ex);
        }

        _store.MarkLedgerAppended(round, attempt, entry.Sequence, entry.EntryHash);
    }

    private static LedgerEntryDraft Draft(long round, int attempt, string json) =>
        JsonSerializer.Deserialize<LedgerEntryDraft>(json) ?? throw new InvalidDataException($"stored ledger entry of round {round} attempt {attempt} is empty");

    /// <summary>Compares the file with the store (see the remarks) and re-derives what the file lost at its end.</summary>
    private void Reconcile(ILogger logger)
    {
        var entries = AuditLedger.Read(Path);
        var records = _store.LedgerRecords();
        var byAttempt = records.ToDictionary(r => (r.Round, r.Attempt));
        var inFile = new HashSet<(long, int)>();
        foreach (var e in entries.Where(e => e.FederationId == _federationId))
        {
            if (!byAttempt.TryGetValue((e.Round, e.Attempt), out var record))
            {
                throw new InvalidOperationException(
                    $"ledger {Path} entry {e.Sequence} (round {e.Round} attempt {e.Attempt}) is not in the store {_store.Path}: the ledger is newer than the store (restored from an older copy?) or belongs to another store; start the coordinator with the store that wrote this ledger");
            }

            var expected = LedgerCanonicalForm.Hash(LedgerCanonicalForm.Encode(Draft(record.Round, record.Attempt, record.Draft), e.Sequence, e.PreviousHash));
            if (!string.Equals(expected, e.EntryHash, StringComparison.Ordinal) || (record.EntryHash is { } h && !string.Equals(h, e.EntryHash, StringComparison.Ordinal)))
            {
                throw new InvalidOperationException(
                    $"ledger {Path} entry {e.Sequence} (round {e.Round} attempt {e.Attempt}) is not the entry the store {_store.Path} holds for that attempt: the file was altered or belongs to another store; check it with `securefed audit verify`, and start with the ledger this store wrote");
            }

            inFile.Add((e.Round, e.Attempt));
            if (!record.Appended || record.Sequence != e.Sequence)
            {
                // Appended before a crash could record it (or by a version that kept no sequence numbers).
                _store.MarkLedgerAppended(record.Round, record.Attempt, e.Sequence, e.EntryHash);
            }
        }

        var last = entries.Count == 0 ? 0 : entries[^1].Sequence;
        var lost = records.Where(r => r.Appended && !inFile.Contains((r.Round, r.Attempt))).ToList();
        if (lost.FirstOrDefault(r => r.Sequence is { } s && s <= last) is { } hole)
        {
            throw new InvalidOperationException(
                $"ledger {Path} lacks round {hole.Round} attempt {hole.Attempt}, which the store {_store.Path} recorded as its entry {hole.Sequence}, yet the file goes on to entry {last}: it is not this store's ledger; start with the ledger this store wrote, or move the file aside to have it re-derived from the store");
        }

        if (lost.Count == 0)
        {
            return;
        }

        var from = last + 1;
        var same = true;
        foreach (var record in lost)
        {
            var entry = _ledger.Append(Draft(record.Round, record.Attempt, record.Draft), _signer);
            same &= record.EntryHash is null || string.Equals(record.EntryHash, entry.EntryHash, StringComparison.Ordinal);
            _store.MarkLedgerAppended(record.Round, record.Attempt, entry.Sequence, entry.EntryHash);
        }

        Log.LedgerRederived(logger, Path, lost.Count, lost[0].Round, lost[0].Attempt, lost[^1].Round, lost[^1].Attempt, from,
            same ? "their entry hashes equal the ones first written, so a published head still matches" : "their entry hashes differ from the ones first written (check the ledger against the head you published)");
    }
}
