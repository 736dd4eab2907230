using System.Text;
using System.Text.Json;

namespace SecureFed.Audit.Tests;

/// <summary>
/// Study ledgers: entry kinds (statistics, training, evaluation), study and statistics hashes, federated evaluations
/// and privacy-charged releases — their encoding, rules, epsilon recomputation and verification.
/// </summary>
public sealed class StudyLedgerTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();
    private readonly string _path;

    public StudyLedgerTests()
    {
        _path = _consortium.PathOf("ledger.jsonl");
    }

    public void Dispose() => _consortium.Dispose();

    // Hashes computed with the encoder as it was before kinds, studies, evaluations and releases existed: entries
    // without those fields must keep these exact bytes, or every existing ledger would stop verifying.
    [Theory]
    [InlineData("completed with privacy", 4, "988948d250da53481c9c4423d66eb643a969081a2edbc92dd5136991ca11ac5e")]
    [InlineData("plain", 1, "aae9caed3d534dfea808d8ff910a6e8e656573df4088cd2025c3a5f3986dea13")]
    public void Encode_EntryWithoutNewFields_HashesAsBeforeTheyExisted(string which, long sequence, string pinned)
    {
        var draft = which == "plain" ? PinnedPlain() : PinnedCompleted();
        string previous = sequence == 1 ? LedgerEntry.GenesisHash : TestConsortium.Hex(3);

        byte[] canonical = LedgerCanonicalForm.Encode(draft, sequence, previous);

        Assert.Equal(pinned, LedgerCanonicalForm.Hash(canonical));
        string json = Encoding.UTF8.GetString(canonical);
        foreach (string key in (string[])["\"kind\"", "\"study_hash\"", "\"statistics_hash\"", "\"evaluation\"", "\"releases\""])
        {
            Assert.DoesNotContain(key, json, StringComparison.Ordinal);
        }

        Assert.Contains("\"trace_id\":\"" + draft.TraceId + "\",\"previous_hash\":", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_EmptyReleases_EncodesLikeNone()
    {
        var draft = PinnedCompleted();

        Assert.Equal(
            LedgerCanonicalForm.Encode(draft, 4, TestConsortium.Hex(3)),
            LedgerCanonicalForm.Encode(draft with { Releases = [] }, 4, TestConsortium.Hex(3)));
    }

    [Fact]
    public void Encode_NewFields_WrittenInFixedOrderBeforePreviousHash()
    {
        var entry = _consortium.WriteStudyLedger(_path)[1];

        string json = Encoding.UTF8.GetString(LedgerCanonicalForm.Encode(entry));

        Assert.Contains(
            $"\"trace_id\":\"{entry.TraceId}\",\"kind\":\"training\",\"study_hash\":\"{TestConsortium.StudyHash}\","
            + $"\"statistics_hash\":\"{TestConsortium.StatisticsHash}\","
            + $"\"evaluation\":{{\"model_hash\":\"{entry.ModelHashAfter}\",\"examples\":1000,\"correct\":720,\"loss_sum\":812.5,\"accuracy\":0.72,\"loss\":0.8125,\"contributors\":3}},"
            + "\"releases\":[{\"task\":\"evaluation\",\"effective_noise_multiplier\":4}],"
            + $"\"previous_hash\":\"{entry.PreviousHash}\"}}",
            json,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Read_StudyLedgerOfEveryKind_RoundTripsAndVerifies()
    {
        var written = _consortium.WriteStudyLedger(_path);

        var read = AuditLedger.Read(_path);

        Assert.Equal(
            [LedgerEntryKinds.Statistics, LedgerEntryKinds.Training, LedgerEntryKinds.Training, LedgerEntryKinds.Training, LedgerEntryKinds.Evaluation],
            read.Select(e => e.Kind));
        for (int i = 0; i < written.Count; i++)
        {
            Assert.Equal(LedgerCanonicalForm.ToJsonLine(written[i]), LedgerCanonicalForm.ToJsonLine(read[i]));
            Assert.Equal(written[i].Kind, read[i].Kind);
            Assert.Equal(written[i].StudyHash, read[i].StudyHash);
            Assert.Equal(written[i].StatisticsHash, read[i].StatisticsHash);
            Assert.Equal(written[i].Evaluation, read[i].Evaluation);
            Assert.Equal(written[i].Releases ?? [], read[i].Releases ?? []);
            Assert.Equal(written[i].EntryHash, LedgerCanonicalForm.ComputeEntryHash(read[i]));
        }

        Assert.Equal(0, read[0].Round);
        Assert.Null(read[2].Releases);
        Assert.Null(read[2].Evaluation);
        Assert.True(_consortium.Verify(_path).Ok, _consortium.Verify(_path).Reason);
    }

    [Fact]
    public void JsonSerializer_StudyDraft_RoundTripsToTheSameCanonicalBytes()
    {
        // The coordinator keeps drafts in its store as System.Text.Json (an outbox) and appends them after a crash.
        using var ledger = AuditLedger.Open(_path);
        foreach (var draft in _consortium.StudyDrafts(ledger).Select(d => TestConsortium.WithEpsilon(ledger, d)))
        {
            var back = JsonSerializer.Deserialize<LedgerEntryDraft>(JsonSerializer.Serialize(draft))!;

            Assert.Equal(LedgerCanonicalForm.Encode(draft, 1, LedgerEntry.GenesisHash), LedgerCanonicalForm.Encode(back, 1, LedgerEntry.GenesisHash));
            Assert.Equal(draft.Charges(), back.Charges());
        }
    }

    [Fact]
    public void Verify_StudyLedger_SucceedsAndRecomputesEpsilonOverEveryRelease()
    {
        var written = _consortium.WriteStudyLedger(_path);

        var result = _consortium.Verify(_path);

        Assert.True(result.Ok, result.Reason);
        Assert.Equal(5, result.Entries);
        Assert.Equal(2, result.CompletedRounds);
        var everyRelease = LedgerEpsilons.Compute(TestConsortium.StudyCharges, TestConsortium.Delta);
        var trainingOnly = LedgerEpsilons.Compute(TestConsortium.StudyTrainingCharges, TestConsortium.Delta);
        Assert.Equal(everyRelease, result.FinalEpsilon);
        Assert.Equal(everyRelease, written[^1].CumulativeEpsilon);
        Assert.True(everyRelease.Rdp > trainingOnly.Rdp && everyRelease.Exact > trainingOnly.Exact, "statistics and evaluation releases cost epsilon");
        Assert.Equal(LedgerEpsilons.Compute([3.0], TestConsortium.Delta), written[0].CumulativeEpsilon);
        Assert.Equal(written[1].CumulativeEpsilon, written[2].CumulativeEpsilon); // an aborted attempt charges nothing
    }

    [Fact]
    public void CumulativeEpsilonWith_NewCharges_ComposesWithEveryChargeInTheLedger()
    {
        _consortium.WriteStudyLedger(_path);
        using var ledger = AuditLedger.Open(_path);

        var next = ledger.CumulativeEpsilonWith("fed-1", [0.9, 5.0], TestConsortium.Delta);
        var single = ledger.CumulativeEpsilonWith("fed-1", 0.9, TestConsortium.Delta);
        var none = ledger.CumulativeEpsilonWith("fed-1", (double?)null, TestConsortium.Delta);

        Assert.Equal(LedgerEpsilons.Compute([.. TestConsortium.StudyCharges, 0.9, 5.0], TestConsortium.Delta), next);
        Assert.Equal(ledger.CumulativeEpsilonWith("fed-1", [0.9], TestConsortium.Delta), single);
        Assert.Equal(LedgerEpsilons.Compute(TestConsortium.StudyCharges, TestConsortium.Delta), none);
    }

    [Theory]
    [InlineData("evaluation correct", 2)]
    [InlineData("evaluation accuracy", 5)]
    [InlineData("release dropped", 4)]
    [InlineData("release multiplier", 1)]
    [InlineData("statistics hash", 1)]
    [InlineData("study hash", 3)]
    [InlineData("kind", 4)]
    public void Verify_NewFieldEditedWithoutResigning_FailsNamingThatEntry(string field, int sequence)
    {
        var entries = _consortium.WriteStudyLedger(_path).ToList();
        var e = entries[sequence - 1];
        entries[sequence - 1] = field switch
        {
            "evaluation correct" => e with { Evaluation = e.Evaluation! with { Correct = e.Evaluation.Correct + 50 } },
            "evaluation accuracy" => e with { Evaluation = e.Evaluation! with { Accuracy = 0.95 } },
            "release dropped" => e with { Releases = null, Evaluation = null },
            "release multiplier" => e with { Releases = [e.Releases![0] with { EffectiveNoiseMultiplier = 30.0 }] },
            "statistics hash" => e with { StatisticsHash = TestConsortium.Hex(77) },
            "study hash" => e with { StudyHash = null },
            "kind" => e with { Kind = null },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
        TestConsortium.WriteRaw(_path, entries);

        var result = _consortium.Verify(_path);

        Assert.False(result.Ok);
        Assert.Equal(sequence, result.FailedSequence);
        Assert.Equal($"entry {sequence}: entry hash does not match its contents (the entry was modified after signing)", result.Reason);
    }

    [Fact]
    public void Verify_EvaluationReleaseDroppedAndResignedWithTheCoordinatorKey_FailsOnEpsilonAtThatEntry()
    {
        // A coordinator that rewrites its own ledger to hide an evaluation charge (and, for the entry rules, the
        // evaluation with it) signs a valid chain; the epsilon it logged included the charge, recomputation does not.
        var entries = _consortium.WriteStudyLedger(_path).ToList();
        entries[3] = entries[3] with { Releases = null, Evaluation = null };
        using var signer = _consortium.CoordinatorSigner();
        TestConsortium.WriteRaw(_path, TestConsortium.Resign(entries, 3, signer));

        var result = _consortium.Verify(_path);

        Assert.False(result.Ok);
        Assert.Equal(4, result.FailedSequence);
        Assert.StartsWith("entry 4: cumulative rdp epsilon ", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "statistics charged nothing")]
    [InlineData(2, "evaluation release left out")]
    [InlineData(5, "training rounds only")]
    public void Verify_SignedEpsilonLeavingOutAReleaseFromTheComposition_FailsNamingTheEntry(int sequence, string how)
    {
        using var signer = _consortium.CoordinatorSigner();
        LedgerEpsilon? logged = null;
        using (var ledger = AuditLedger.Open(_path))
        {
            foreach (var draft in _consortium.StudyDrafts(ledger))
            {
                var d = TestConsortium.WithEpsilon(ledger, draft);
                if (ledger.LastSequence == sequence - 1)
                {
                    logged = how switch
                    {
                        "statistics charged nothing" => new LedgerEpsilon(0, 0),
                        "evaluation release left out" => ledger.CumulativeEpsilonWith("fed-1", d.EffectiveNoiseMultiplier, TestConsortium.Delta),
                        _ => LedgerEpsilons.Compute(TestConsortium.StudyTrainingCharges, TestConsortium.Delta),
                    };
                    d = d with { CumulativeEpsilon = logged };
                }

                ledger.Append(d, signer);
            }
        }

        var result = _consortium.Verify(_path);

        Assert.False(result.Ok);
        Assert.Equal(sequence, result.FailedSequence);
        Assert.Equal(
            FormattableString.Invariant($"entry {sequence}: cumulative rdp epsilon {logged!.Rdp:R} does not match the recomputed ")
            + LedgerEpsilons.Compute(TestConsortium.StudyCharges.Take(sequence == 1 ? 1 : sequence == 2 ? 3 : 6), TestConsortium.Delta).Rdp.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            result.Reason);
    }

    [Fact]
    public void Verify_StatisticsWithoutPrivacyThenPrivateRounds_FailsOnTheUnnoisedRelease()
    {
        using var signer = _consortium.CoordinatorSigner();
        using (var ledger = AuditLedger.Open(_path))
        {
            var drafts = _consortium.StudyDrafts(ledger);
            ledger.Append(drafts[0] with { Privacy = null, Releases = null, CumulativeEpsilon = null }, signer);
            ledger.Append(TestConsortium.WithEpsilon(ledger, drafts[1]), signer);
        }

        var result = _consortium.Verify(_path);

        Assert.False(result.Ok);
        Assert.Equal(2, result.FailedSequence);
        Assert.Contains("entry 1 of the same federation completed without noise", result.Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "statistics in round 1", "a statistics entry has round 0, not 1" },
        { "training in round 0", "round 0 must be at least 1 (only a statistics entry has round 0)" },
        { "unknown kind", "kind 'inference' must be statistics, training or evaluation" },
        { "correct above examples", "the evaluation counts 1001 correct of 1000 examples" },
        { "no examples", "evaluation counts need examples >= 1, correct >= 0 and contributors >= 0; got examples 0, correct 0, contributors 3" },
        { "negative contributors", "got examples 1000, correct 720, contributors -1" },
        { "accuracy NaN", "evaluation accuracy NaN must be in [0, 1]" },
        { "accuracy above 1", "evaluation accuracy 1.5 must be in [0, 1]" },
        { "loss infinite", "must be finite and >= 0" },
        { "loss sum negative", "evaluation loss sum -1 and loss 0.8125 must be finite and >= 0" },
        { "releases without privacy", "no privacy parameters, yet privacy-charged releases are listed" },
        { "release multiplier zero", "the evaluation release's effective noise multiplier 0 must be finite and > 0" },
        { "release multiplier infinite", "the evaluation release's effective noise multiplier Infinity must be finite and > 0" },
        { "release task training", "release task 'training' must be statistics or evaluation" },
        { "aborted with an unknown release", "release task 'model' must be training, statistics or evaluation" },
        { "record spend out of range", "silo silo-1's record-level spend (noise multiplier 1, q 1.5, 10 steps, delta 1E-05, rdp) is out of range" },
        { "aborted with evaluation", "an aborted round carries an evaluation" },
        { "statistics with noise multiplier", "a statistics entry carries an effective noise multiplier (its charges belong in its releases)" },
        { "statistics without its release", "a completed statistics entry with privacy charges no statistics release" },
        { "statistics with evaluation", "a statistics entry carries an evaluation" },
        { "evaluation without release", "an entry with privacy carries an evaluation but charges no evaluation release" },
        { "study hash uppercase", "the study hash is not 64 lowercase hex characters" },
        { "statistics hash short", "the statistics hash is not 64 lowercase hex characters" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Append_DraftBreakingAnEntryRule_IsRefusedNamingTheRule(string rule, string message)
    {
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(_path);
        // Epsilons as the good ledger's first entry would carry them: the rules check shape, not the epsilon's truth.
        var d = _consortium.StudyDrafts(ledger).Select(x => TestConsortium.WithEpsilon(ledger, x)).ToList();
        var (statistics, training, aborted, evaluation) = (d[0], d[1], d[2], d[4]);
        var draft = rule switch
        {
            "statistics in round 1" => statistics with { Round = 1 },
            "training in round 0" => training with { Round = 0 },
            "unknown kind" => training with { Kind = "inference" },
            "correct above examples" => training with { Evaluation = training.Evaluation! with { Correct = 1001 } },
            "no examples" => training with { Evaluation = training.Evaluation! with { Examples = 0, Correct = 0 } },
            "negative contributors" => training with { Evaluation = training.Evaluation! with { Contributors = -1 } },
            "accuracy NaN" => training with { Evaluation = training.Evaluation! with { Accuracy = double.NaN } },
            "accuracy above 1" => training with { Evaluation = training.Evaluation! with { Accuracy = 1.5 } },
            "loss infinite" => training with { Evaluation = training.Evaluation! with { Loss = double.PositiveInfinity } },
            "loss sum negative" => training with { Evaluation = training.Evaluation! with { LossSum = -1 } },
            "releases without privacy" => training with { Privacy = null, CumulativeEpsilon = null, EffectiveNoiseMultiplier = null, Evaluation = null },
            "release multiplier zero" => training with { Releases = [new LedgerRelease(LedgerEntryKinds.Evaluation, 0)] },
            "release multiplier infinite" => training with { Releases = [new LedgerRelease(LedgerEntryKinds.Evaluation, double.PositiveInfinity)] },
            "release task training" => training with { Releases = [.. training.Releases!, new LedgerRelease(LedgerEntryKinds.Training, 1.1)] },
            // An aborted attempt may charge what it showed the coordinator (training uploads under plain aggregation), nothing else.
            "aborted with an unknown release" => aborted with { Releases = [new LedgerRelease("model", 4.0)] },
            "record spend out of range" => training with { RecordPrivacy = [new LedgerRecordPrivacy("silo-1", 1.0, 1.5, 10, 1e-5, "rdp")] },
            "aborted with evaluation" => aborted with { Evaluation = training.Evaluation },
            "statistics with noise multiplier" => statistics with { EffectiveNoiseMultiplier = 3.0 },
            "statistics without its release" => statistics with { Releases = null },
            "statistics with evaluation" => statistics with { Evaluation = training.Evaluation },
            "evaluation without release" => evaluation with { Releases = null },
            "study hash uppercase" => training with { StudyHash = TestConsortium.StudyHash.ToUpperInvariant() },
            "statistics hash short" => training with { StatisticsHash = TestConsortium.StatisticsHash[..40] },
            _ => throw new ArgumentOutOfRangeException(nameof(rule)),
        };
        var ex = Assert.Throws<ArgumentException>(() => ledger.Append(draft, signer));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, ledger.LastSequence);
    }

    [Fact]
    public void Append_EveryStudyDraft_IsAccepted()
    {
        // Control for the rules above: the unmodified drafts, including a statistics entry in round 0 without an
        // effective noise multiplier and an evaluation entry, are well-formed.
        Assert.Equal(5, _consortium.WriteStudyLedger(_path).Count);
    }

    [Theory]
    [InlineData("\"contributors\":3}", "\"contributors\":3,\"extra\":1}", "unknown property 'evaluation.extra'")]
    [InlineData("\"examples\":1000", "\"examples\":\"1000\"", "property 'evaluation.examples' is not an integer")]
    [InlineData("\"kind\":\"training\"", "\"kind\":null", "property 'kind' is not a string")]
    [InlineData("{\"task\":\"evaluation\",", "{\"task\":\"evaluation\",\"z\":1,", "unknown property 'releases[0].z'")]
    [InlineData("\"releases\":[{\"task\":\"evaluation\",\"effective_noise_multiplier\":4}]", "\"releases\":[]", "property 'releases' is an empty array")]
    [InlineData("\"releases\":[{", "\"releases\":[7,{", "releases[0] is not a JSON object")]
    [InlineData("\"study_hash\":", "\"study\":", "unknown property 'study'")]
    public void Read_NewFieldsOfTheWrongShape_NamesTheProperty(string find, string replace, string message)
    {
        _consortium.WriteStudyLedger(_path);
        var lines = File.ReadAllLines(_path);
        Assert.Contains(find, lines[1], StringComparison.Ordinal);
        lines[1] = lines[1].Replace(find, replace, StringComparison.Ordinal);
        File.WriteAllLines(_path, lines);

        var ex = Assert.Throws<InvalidDataException>(() => AuditLedger.Read(_path));

        Assert.Contains($"line 2: {message}", ex.Message, StringComparison.Ordinal);
    }

    private static LedgerEntryDraft PinnedCompleted() => new()
    {
        FederationId = "fed-pin",
        Round = 4,
        Attempt = 2,
        Status = RoundStatus.Completed,
        Timestamp = new DateTimeOffset(2026, 11, 27, 8, 41, 0, TimeSpan.Zero).AddTicks(1234567),
        PlanHash = TestConsortium.Hex(11),
        Participants = [new LedgerParticipant("silo-1", TestConsortium.Hex(21)), new LedgerParticipant("silo-2", TestConsortium.Hex(22))],
        Stages = new LedgerStageCounts(3, 2, 1, 0, 0, new SecureAggregationSurvivors(3, 3, 2, 2, 2)),
        Aggregation = "secure",
        Privacy = new LedgerPrivacy("discrete-gaussian", 1.0, 0.5, 2, 1, 1e-5, 8.0, "rdp"),
        EffectiveNoiseMultiplier = 0.9128709291752769,
        CumulativeEpsilon = new LedgerEpsilon(3.141592653589793, 2.718281828459045),
        ModelHashBefore = TestConsortium.Hex(31),
        ModelHashAfter = TestConsortium.Hex(32),
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
    };

    private static LedgerEntryDraft PinnedPlain() => PinnedCompleted() with
    {
        Privacy = null,
        EffectiveNoiseMultiplier = null,
        CumulativeEpsilon = null,
        Aggregation = "plain",
        Stages = new LedgerStageCounts(2, 2, 0, 0, 0),
        TraceId = "",
    };
}
