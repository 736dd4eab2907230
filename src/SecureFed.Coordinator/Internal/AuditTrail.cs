using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SecureFed.Audit;
using SecureFed.Crypto;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// The coordinator's side of the audit ledger. Each round's entry is committed to the store in the same
/// transaction as the round (an outbox) and then appended, signed with the coordinator's certificate key, to the
/// hash-chained ledger file; after a crash, <see cref="Flush"/> appends whatever the store holds and the file does
/// not, so the ledger never misses a round and never repeats one. Thread-safe.
/// </summary>
internal sealed class AuditTrail : IDisposable
{
    private readonly AuditLedger _ledger;
    private readonly ISigner _signer;
    private readonly FederationStore _store;
    private readonly string _federationId;
    private readonly HashSet<(int Round, int Attempt)> _present;
    private readonly Lock _gate = new();

    public AuditTrail(string path, X509Certificate2 coordinatorCertificate, FederationStore store, string federationId)
    {
        Path = System.IO.Path.GetFullPath(path);
        _ledger = AuditLedger.Open(Path);
        _present = [.. AuditLedger.Read(Path).Where(e => e.FederationId == federationId).Select(e => (e.Round, e.Attempt))];
        _signer = CryptoProvider.Default.CreateSigner(coordinatorCertificate);
        _store = store;
        _federationId = federationId;
    }

    public string Path { get; }

    /// <summary>Cumulative epsilons (rdp, exact) as the ledger will record them with this round's charge.</summary>
    public LedgerEpsilon EpsilonWith(double? effectiveNoiseMultiplier, double delta) =>
        _ledger.CumulativeEpsilonWith(_federationId, effectiveNoiseMultiplier, delta);

    /// <summary>Cumulative epsilons (rdp, exact) as the ledger will record them with this round's charges.</summary>
    public LedgerEpsilon EpsilonWith(IReadOnlyList<double> newCharges, double delta) =>
        _ledger.CumulativeEpsilonWith(_federationId, newCharges, delta);

    public static string Serialize(LedgerEntryDraft draft) => JsonSerializer.Serialize(draft);

    /// <summary>Appends every stored entry not yet in the file, in order.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            foreach (var (round, attempt, json) in _store.PendingLedgerDrafts())
            {
                var draft = JsonSerializer.Deserialize<LedgerEntryDraft>(json)
                    ?? throw new InvalidDataException($"stored ledger entry of round {round} attempt {attempt} is empty");
                if (_present.Add((draft.Round, draft.Attempt)))
                {
                    _ledger.Append(draft, _signer);
                }

                _store.MarkLedgerAppended(round, attempt);
            }
        }
    }

    public void Dispose()
    {
        _ledger.Dispose();
        _signer.Dispose();
    }
}
