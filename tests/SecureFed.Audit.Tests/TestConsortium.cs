using System.Security.Cryptography.X509Certificates;
using SecureFed.Crypto;
using SecureFed.Identity;

namespace SecureFed.Audit.Tests;

/// <summary>A consortium minted per test: CA, coordinator and three silos, and a temp folder for ledger files.</summary>
internal sealed class TestConsortium : IDisposable
{
    public const double Delta = 1e-5;
    private static readonly TimeSpan Validity = TimeSpan.FromDays(1);

    private TestConsortium(string name)
    {
        Ca = ConsortiumCa.Create(name, TimeProvider.System, TimeSpan.FromDays(2));
        Coordinator = Ca.IssueCoordinator([], [], Validity);
        Silos = [.. Enumerable.Range(1, 3).Select(i => Ca.IssueSilo(SiloId.Parse($"silo-{i}"), Validity))];
        Directory = System.IO.Directory.CreateTempSubdirectory("securefed-audit-").FullName;
    }

    public ConsortiumCa Ca { get; }

    public X509Certificate2 Coordinator { get; }

    public IReadOnlyList<X509Certificate2> Silos { get; }

    public string Directory { get; }

    public static TestConsortium Create(string name = "audit-test") => new(name);

    public string PathOf(string file) => Path.Combine(Directory, file);

    public ISigner CoordinatorSigner() => CryptoProvider.Default.CreateSigner(Coordinator);

    public LedgerVerificationResult Verify(string ledgerPath) =>
        LedgerVerifier.Verify(AuditLedger.Read(ledgerPath), Coordinator, Ca.Certificate, TimeProvider.System);

    /// <summary>
    /// Writes a six-entry ledger with differential privacy: rounds 1, 2, 3 (aborted), 3 (retry), 4, 5, with effective
    /// noise multipliers that differ per round (as dropouts make them).
    /// </summary>
    public IReadOnlyList<LedgerEntry> WriteGoodLedger(string path, ISigner? signer = null)
    {
        using var own = signer is null ? CoordinatorSigner() : null;
        using var ledger = AuditLedger.Open(path);
        var written = new List<LedgerEntry>();
        foreach (var (round, attempt, status, z) in Plan)
        {
            written.Add(ledger.Append(Draft(ledger, round, attempt, status, z), signer ?? own!));
        }

        return written;
    }

    public static readonly IReadOnlyList<(int Round, int Attempt, RoundStatus Status, double? Z)> Plan =
    [
        (1, 1, RoundStatus.Completed, 1.1),
        (2, 1, RoundStatus.Completed, 1.05),
        (3, 1, RoundStatus.Aborted, null),
        (3, 2, RoundStatus.Completed, 1.1),
        (4, 1, RoundStatus.Completed, 0.97),
        (5, 1, RoundStatus.Completed, 1.2),
    ];

    public LedgerEntryDraft Draft(AuditLedger ledger, int round, int attempt, RoundStatus status, double? z) => new()
    {
        FederationId = "fed-1",
        Round = round,
        Attempt = attempt,
        Status = status,
        Timestamp = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero).AddMinutes(round * 10 + attempt),
        PlanHash = Hex(round * 7 + attempt),
        Participants = [.. Silos.Select((s, i) => new LedgerParticipant($"silo-{i + 1}", CertificateFingerprint.Sha256Hex(s)))],
        Stages = new LedgerStageCounts(3, status == RoundStatus.Completed ? 3 : 0, status == RoundStatus.Completed ? 0 : 2, 0, 0,
            new SecureAggregationSurvivors(3, 3, 3, 3, status == RoundStatus.Completed ? 3 : 1)),
        Aggregation = "secure",
        Privacy = new LedgerPrivacy("discrete-gaussian", 1.0, 1.0, 2, 1, Delta, 8.0, "rdp"),
        EffectiveNoiseMultiplier = z,
        CumulativeEpsilon = ledger.CumulativeEpsilonWith("fed-1", z, Delta),
        ModelHashBefore = Hex(1000 + round),
        ModelHashAfter = Hex(status == RoundStatus.Completed ? 1001 + round : 1000 + round),
        TraceId = $"4bf92f3577b34da6a3ce929d0e0e47{round:00}",
    };

    public static readonly string StudyHash = Hex(5000);

    public static readonly string StatisticsHash = Hex(5001);

    /// <summary>Every noise multiplier <see cref="WriteStudyLedger"/> charges, in order.</summary>
    public static readonly IReadOnlyList<double> StudyCharges = [3.0, 1.1, 4.0, 1.05, 4.2, 4.5];

    /// <summary>The training charges alone among <see cref="StudyCharges"/>.</summary>
    public static readonly IReadOnlyList<double> StudyTrainingCharges = [1.1, 1.05];

    /// <summary>
    /// Writes a study ledger with differential privacy: a statistics entry (round 0, a statistics release), round 1
    /// (training with a federated evaluation and an evaluation release), round 2 aborted, round 2 retried (training,
    /// evaluation), and an evaluation-only entry (round 3) of round 2's model; each cumulative epsilon from
    /// <see cref="AuditLedger.CumulativeEpsilonWith(string, IEnumerable{double}, double)"/> over the entry's charges.
    /// </summary>
    public IReadOnlyList<LedgerEntry> WriteStudyLedger(string path)
    {
        using var signer = CoordinatorSigner();
        using var ledger = AuditLedger.Open(path);
        var written = new List<LedgerEntry>();
        foreach (var draft in StudyDrafts(ledger))
        {
            written.Add(ledger.Append(WithEpsilon(ledger, draft), signer));
        }

        return written;
    }

    /// <summary>The drafts of <see cref="WriteStudyLedger"/>, without cumulative epsilons (see <see cref="WithEpsilon"/>).</summary>
    public IReadOnlyList<LedgerEntryDraft> StudyDrafts(AuditLedger ledger)
    {
        var statistics = Draft(ledger, 1, 1, RoundStatus.Completed, null) with
        {
            Round = 0,
            Kind = LedgerEntryKinds.Statistics,
            StudyHash = StudyHash,
            StatisticsHash = StatisticsHash,
            ModelHashBefore = Hex(1000),
            ModelHashAfter = Hex(1000),
            Releases = [new LedgerRelease(LedgerEntryKinds.Statistics, 3.0)],
        };
        LedgerEntryDraft Training(int round, int attempt, RoundStatus status, double? z, double? accuracy, double? evaluationZ)
        {
            var d = Draft(ledger, round, attempt, status, z) with
            {
                Kind = LedgerEntryKinds.Training,
                StudyHash = StudyHash,
                StatisticsHash = StatisticsHash,
            };
            return accuracy is { } a
                ? d with
                {
                    Evaluation = new LedgerEvaluation(d.ModelHashAfter, 1000, (long)Math.Round(a * 1000), 812.5, a, 0.8125, 3),
                    Releases = [new LedgerRelease(LedgerEntryKinds.Evaluation, evaluationZ!.Value)],
                }
                : d;
        }

        string finalModel = Hex(1003);
        return
        [
            statistics,
            Training(1, 1, RoundStatus.Completed, 1.1, 0.72, 4.0),
            Training(2, 1, RoundStatus.Aborted, null, null, null),
            Training(2, 2, RoundStatus.Completed, 1.05, 0.81, 4.2),
            Draft(ledger, 3, 1, RoundStatus.Completed, null) with
            {
                Kind = LedgerEntryKinds.Evaluation,
                StudyHash = StudyHash,
                StatisticsHash = StatisticsHash,
                ModelHashBefore = finalModel,
                ModelHashAfter = finalModel,
                Evaluation = new LedgerEvaluation(finalModel, 1200, 996, 700.0, 0.83, 700.0 / 1200, 3),
                Releases = [new LedgerRelease(LedgerEntryKinds.Evaluation, 4.5)],
            },
        ];
    }

    /// <summary><paramref name="draft"/> with the cumulative epsilon the ledger says it should carry.</summary>
    public static LedgerEntryDraft WithEpsilon(AuditLedger ledger, LedgerEntryDraft draft) =>
        draft with { CumulativeEpsilon = ledger.CumulativeEpsilonWith(draft.FederationId, draft.Charges(), Delta) };

    public static string Hex(int seed) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(seed)));

    /// <summary>Writes entries to a ledger file as stored lines, without any check (the attacker's pen).</summary>
    public static void WriteRaw(string path, IEnumerable<LedgerEntry> entries) =>
        File.WriteAllLines(path, entries.Select(LedgerCanonicalForm.ToJsonLine));

    /// <summary>Re-chains and re-signs <paramref name="entries"/> from index <paramref name="from"/> on with <paramref name="signer"/>.</summary>
    public static List<LedgerEntry> Resign(IReadOnlyList<LedgerEntry> entries, int from, ISigner signer)
    {
        var result = entries.Take(from).ToList();
        string previous = from == 0 ? LedgerEntry.GenesisHash : entries[from - 1].EntryHash;
        for (int i = from; i < entries.Count; i++)
        {
            var e = entries[i] with { Sequence = i + 1, PreviousHash = previous };
            string hash = LedgerCanonicalForm.ComputeEntryHash(e);
            e = e with { EntryHash = hash, Signature = Convert.ToHexStringLower(signer.Sign(LedgerCanonicalForm.SignedPayload(hash))) };
            result.Add(e);
            previous = hash;
        }

        return result;
    }

    public void Dispose()
    {
        foreach (var silo in Silos)
        {
            silo.Dispose();
        }

        Coordinator.Dispose();
        Ca.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp folder
        }
    }
}
