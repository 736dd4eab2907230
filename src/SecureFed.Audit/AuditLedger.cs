using System.Runtime.CompilerServices;
using System.Text;
using SecureFed.Audit.Internal;
using SecureFed.Crypto;

namespace SecureFed.Audit;

/// <summary>
/// The coordinator's append-only audit ledger: a JSON-lines file with one signed, hash-chained
/// <see cref="LedgerEntry"/> per line (format in <see cref="LedgerCanonicalForm"/>).
/// </summary>
/// <remarks>
/// <para><see cref="Open"/> reads an existing file and checks its chain (sequence numbers, previous hashes and entry
/// hashes; signatures are the verifier's business) before anything is appended, so a new entry never extends a
/// broken or truncated-mid-line file. Each <see cref="Append(LedgerEntryDraft, ISigner)"/> writes one line and
/// flushes it to disk before returning. After a failed write the ledger refuses further appends: reopen it.</para>
/// <para>The file is held open for writing while the instance lives; other processes may read it. One writer at a
/// time: <see cref="Open"/> takes an exclusive operating-system lock on <c>&lt;ledger&gt;.lock</c> (released by the kernel
/// when the process ends, however it ends), so a second writer, in this process or another, is refused. Appends are
/// serialized under a lock, so the instance is thread-safe. Dispose closes the file and releases the lock.</para>
/// </remarks>
public sealed class AuditLedger : IDisposable
{
    private readonly Lock _gate = new();
    private readonly FileStream _stream;
    private readonly FileStream _writerLock;
    private readonly Dictionary<string, List<double>> _charged = new(StringComparer.Ordinal);
    private string? _broken;
    private bool _disposed;

    private AuditLedger(string path, FileStream stream, FileStream writerLock, IReadOnlyList<LedgerEntry> existing)
    {
        Path = path;
        _stream = stream;
        _writerLock = writerLock;
        HeadHash = LedgerEntry.GenesisHash;
        foreach (var entry in existing)
        {
            Advance(entry);
        }
    }

    /// <summary>The ledger file.</summary>
    public string Path { get; }

    /// <summary>The sequence number of the last entry; 0 when empty.</summary>
    public long LastSequence { get; private set; }

    /// <summary>The hash of the last entry (the value to publish or pin); <see cref="LedgerEntry.GenesisHash"/> when empty.</summary>
    public string HeadHash { get; private set; }

    /// <summary>Opens (or creates) the ledger at <paramref name="path"/> for appending.</summary>
    /// <exception cref="InvalidDataException">The existing file is malformed, its chain is broken, or its last line is
    /// incomplete; the message names the file and line.</exception>
    /// <exception cref="IOException">The file cannot be opened, or another writer holds it (the message says so).</exception>
    public static AuditLedger Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        FileStream writerLock;
        try
        {
            writerLock = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (File.Exists(path + ".lock") && ex.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021))
        {
            throw new IOException($"The ledger '{path}' is being written by another process (another coordinator?); one writer per ledger: stop it first.", ex);
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        }
        catch
        {
            writerLock.Dispose();
            throw;
        }

        try
        {
            string text;
            using (var reader = new StreamReader(stream, new UTF8Encoding(false, true), false, 4096, leaveOpen: true))
            {
                text = reader.ReadToEnd();
            }

            if (text.Length > 0 && text[^1] != '\n')
            {
                throw new InvalidDataException(
                    $"The ledger '{path}' does not end with a newline: its last line is incomplete (an interrupted write?). Repair or move it before appending.");
            }

            var entries = Parse(text, path);
            CheckChain(entries, path);
            stream.Seek(0, SeekOrigin.End);
            return new AuditLedger(path, stream, writerLock, entries);
        }
        catch
        {
            stream.Dispose();
            writerLock.Dispose();
            throw;
        }
    }

    /// <summary>Reads every entry of a ledger file without checking anything but its syntax.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist; the message names it.</exception>
    /// <exception cref="InvalidDataException">A line is not a well-formed entry; the message names the file, the line
    /// number and the problem.</exception>
    public static IReadOnlyList<LedgerEntry> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The ledger file '{path}' does not exist.", path);
        }

        string text;
        try
        {
            text = File.ReadAllText(path, new UTF8Encoding(false, true));
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidDataException($"The ledger file '{path}' is not UTF-8 text.", ex);
        }

        return Parse(text, path);
    }

    /// <summary>
    /// The cumulative epsilon to put into the next entry of <paramref name="federationId"/>: the releases already
    /// charged in this ledger plus, when not <see langword="null"/>, one more charged with <paramref name="effectiveNoiseMultiplier"/>.
    /// Same as <see cref="CumulativeEpsilonWith(string, IEnumerable{double}, double)"/> with zero or one new charge.
    /// </summary>
    // Preferred for a literal null, which would otherwise be ambiguous with the collection overload (source compatibility).
    [OverloadResolutionPriority(1)]
    public LedgerEpsilon CumulativeEpsilonWith(string federationId, double? effectiveNoiseMultiplier, double delta) =>
        CumulativeEpsilonWith(federationId, effectiveNoiseMultiplier is { } z ? [z] : [], delta);

    /// <summary>
    /// The cumulative epsilon to put into the next entry of <paramref name="federationId"/>: every release already
    /// charged in this ledger (each completed training entry's <see cref="LedgerEntryDraft.EffectiveNoiseMultiplier"/>
    /// and every entry's <see cref="LedgerEntryDraft.Releases"/>, as <see cref="LedgerEntryDraft.Charges"/> lists
    /// them) composed with <paramref name="newCharges"/>, the noise multipliers the next entry charges (its training
    /// update's, then its releases'). This is exactly what <see cref="LedgerVerifier"/> recomputes.
    /// </summary>
    /// <param name="federationId">The federation the entry belongs to.</param>
    /// <param name="newCharges">The next entry's charges (each finite, &gt; 0); empty for an entry that charges nothing.</param>
    /// <param name="delta">The delta, in (0, 1).</param>
    public LedgerEpsilon CumulativeEpsilonWith(string federationId, IEnumerable<double> newCharges, double delta)
    {
        ArgumentNullException.ThrowIfNull(federationId);
        ArgumentNullException.ThrowIfNull(newCharges);
        List<double> history;
        lock (_gate)
        {
            history = [.. _charged.GetValueOrDefault(federationId) ?? []];
        }

        history.AddRange(newCharges);
        return LedgerEpsilons.Compute(history, delta);
    }

    /// <summary>
    /// Numbers, chains and signs <paramref name="draft"/>, appends it and flushes it to disk.
    /// </summary>
    /// <param name="draft">The round's content; checked for shape (not for the truth of its epsilon).</param>
    /// <param name="signer">The coordinator's signer (<c>CryptoProvider.Default.CreateSigner(coordinatorCertificate)</c>).</param>
    /// <returns>The entry as written.</returns>
    /// <exception cref="ArgumentException">The draft is malformed; the message says which field.</exception>
    /// <exception cref="InvalidOperationException">An earlier write failed; reopen the ledger.</exception>
    /// <exception cref="IOException">The write failed; the ledger refuses further appends.</exception>
    public LedgerEntry Append(LedgerEntryDraft draft, ISigner signer)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(signer);
        if (EntryRules.Check(draft) is { } problem)
        {
            throw new ArgumentException($"The ledger entry is malformed: {problem}.", nameof(draft));
        }

        lock (_gate)
        {
            ThrowIfUnusable();
            long sequence = checked(LastSequence + 1);
            string hash = LedgerCanonicalForm.Hash(LedgerCanonicalForm.Encode(draft, sequence, HeadHash));
            string signature = Convert.ToHexStringLower(signer.Sign(LedgerCanonicalForm.SignedPayload(hash)));
            var entry = new LedgerEntry(draft, sequence, HeadHash, hash, signature);
            WriteLine(entry);
            return entry;
        }
    }

    /// <summary>
    /// Appends an entry that is already signed (for example when copying a ledger), after checking that it follows
    /// the last entry: next sequence number, previous hash equal to <see cref="HeadHash"/>, and an entry hash that
    /// matches its fields. The signature is not checked here.
    /// </summary>
    /// <exception cref="InvalidOperationException">The entry does not follow, or an earlier write failed.</exception>
    public void Append(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (EntryRules.Check(entry) is { } problem)
        {
            throw new ArgumentException($"The ledger entry is malformed: {problem}.", nameof(entry));
        }

        lock (_gate)
        {
            ThrowIfUnusable();
            if (entry.Sequence != LastSequence + 1)
            {
                throw new InvalidOperationException($"Entry {entry.Sequence} does not follow entry {LastSequence}; the next sequence number is {LastSequence + 1}.");
            }

            if (entry.PreviousHash != HeadHash)
            {
                throw new InvalidOperationException($"Entry {entry.Sequence}'s previous hash does not match the hash of entry {LastSequence}.");
            }

            if (entry.EntryHash != LedgerCanonicalForm.ComputeEntryHash(entry))
            {
                throw new InvalidOperationException($"Entry {entry.Sequence}'s entry hash does not match its contents.");
            }

            WriteLine(entry);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stream.Dispose();
            _writerLock.Dispose();
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_broken is not null)
        {
            throw new InvalidOperationException($"The ledger '{Path}' refuses appends after a failed write ({_broken}); reopen it.");
        }
    }

    private void WriteLine(LedgerEntry entry)
    {
        byte[] line = Encoding.UTF8.GetBytes(LedgerCanonicalForm.ToJsonLine(entry) + "\n");
        try
        {
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
        }
        catch (IOException ex)
        {
            _broken = ex.Message;
            throw;
        }

        Advance(entry);
    }

    private void Advance(LedgerEntry entry)
    {
        LastSequence = entry.Sequence;
        HeadHash = entry.EntryHash;
        var charges = entry.Charges().ToList();
        if (charges.Count > 0)
        {
            if (!_charged.TryGetValue(entry.FederationId, out var list))
            {
                list = [];
                _charged[entry.FederationId] = list;
            }

            list.AddRange(charges);
        }
    }

    private static List<LedgerEntry> Parse(string text, string path)
    {
        var entries = new List<LedgerEntry>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            bool last = i == lines.Length - 1;
            if (line.Length == 0)
            {
                if (last)
                {
                    break;
                }

                throw new InvalidDataException($"The ledger file '{path}', line {i + 1}: the line is empty.");
            }

            try
            {
                entries.Add(LedgerJsonReader.Parse(line));
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"The ledger file '{path}', line {i + 1}: {ex.Message}.", ex);
            }
        }

        return entries;
    }

    private static void CheckChain(List<LedgerEntry> entries, string path)
    {
        string previous = LedgerEntry.GenesisHash;
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            string? problem =
                entry.Sequence != i + 1 ? $"sequence {entry.Sequence} where {i + 1} was expected"
                : entry.PreviousHash != previous ? "the previous hash does not match the line before"
                : entry.EntryHash != LedgerCanonicalForm.ComputeEntryHash(entry) ? "the entry hash does not match its contents"
                : null;
            if (problem is not null)
            {
                throw new InvalidDataException($"The ledger file '{path}', line {i + 1}: {problem}; refusing to append to a broken chain.");
            }

            previous = entry.EntryHash;
        }
    }
}
