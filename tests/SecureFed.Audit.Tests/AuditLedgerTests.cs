using System.Text;

namespace SecureFed.Audit.Tests;

/// <summary>The writer (append-only, chained, flushed per entry), the reader's errors and the canonical encoding.</summary>
public sealed class AuditLedgerTests : IDisposable
{
    private readonly TestConsortium _consortium = TestConsortium.Create();

    public void Dispose() => _consortium.Dispose();

    [Fact]
    public void Append_FreshLedger_NumbersAndChainsFromGenesis()
    {
        string path = _consortium.PathOf("ledger.jsonl");

        var entries = _consortium.WriteGoodLedger(path);

        Assert.Equal([1L, 2, 3, 4, 5, 6], entries.Select(e => e.Sequence));
        Assert.Equal(LedgerEntry.GenesisHash, entries[0].PreviousHash);
        Assert.Equal(new string('0', 64), LedgerEntry.GenesisHash);
        for (int i = 1; i < entries.Count; i++)
        {
            Assert.Equal(entries[i - 1].EntryHash, entries[i].PreviousHash);
        }

        Assert.All(entries, e => Assert.Equal(LedgerCanonicalForm.ComputeEntryHash(e), e.EntryHash));
        Assert.All(entries, e => Assert.Equal(128, e.Signature.Length));
    }

    [Fact]
    public void Append_EachEntry_IsOnDiskBeforeAppendReturns()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(path);

        var first = ledger.Append(_consortium.Draft(ledger, 1, 1, RoundStatus.Completed, 1.1), signer);

        // Read through another handle while the writer is still open.
        var onDisk = AuditLedger.Read(path);
        Assert.Single(onDisk);
        Assert.Equal(first.EntryHash, onDisk[0].EntryHash);
        Assert.Equal(first.Signature, onDisk[0].Signature);
    }

    [Fact]
    public void Open_ExistingLedger_ContinuesTheChainAndEpsilon()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using (var ledger = AuditLedger.Open(path))
        {
            ledger.Append(_consortium.Draft(ledger, 1, 1, RoundStatus.Completed, 1.1), signer);
            ledger.Append(_consortium.Draft(ledger, 2, 1, RoundStatus.Completed, 1.2), signer);
        }

        LedgerEntry third;
        using (var reopened = AuditLedger.Open(path))
        {
            Assert.Equal(2, reopened.LastSequence);
            third = reopened.Append(_consortium.Draft(reopened, 3, 1, RoundStatus.Completed, 1.3), signer);
        }

        Assert.Equal(3, third.Sequence);
        Assert.Equal(LedgerEpsilons.Compute([1.1, 1.2, 1.3], TestConsortium.Delta), third.CumulativeEpsilon);
        Assert.True(_consortium.Verify(path).Ok);
    }

    [Fact]
    public void Open_LastLineIncomplete_RefusesToAppend()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        _consortium.WriteGoodLedger(path);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);

        var ex = Assert.Throws<InvalidDataException>(() => AuditLedger.Open(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("incomplete", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_BrokenChain_RefusesToAppend()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entries = _consortium.WriteGoodLedger(path).ToList();
        entries.RemoveAt(2);
        TestConsortium.WriteRaw(path, entries);

        var ex = Assert.Throws<InvalidDataException>(() => AuditLedger.Open(path));

        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AppendSigned_EntryThatDoesNotFollow_IsRefused()
    {
        string source = _consortium.PathOf("source.jsonl");
        var entries = _consortium.WriteGoodLedger(source);
        using var copy = AuditLedger.Open(_consortium.PathOf("copy.jsonl"));
        copy.Append(entries[0]);

        var skipped = Assert.Throws<InvalidOperationException>(() => copy.Append(entries[2]));
        var rechained = Assert.Throws<InvalidOperationException>(() => copy.Append(entries[1] with { PreviousHash = TestConsortium.Hex(1) }));
        var edited = Assert.Throws<InvalidOperationException>(() => copy.Append(entries[1] with { TraceId = "" }));
        copy.Append(entries[1]);

        Assert.Contains("does not follow entry 1", skipped.Message, StringComparison.Ordinal);
        Assert.Contains("previous hash", rechained.Message, StringComparison.Ordinal);
        Assert.Contains("entry hash", edited.Message, StringComparison.Ordinal);
        Assert.Equal(2, copy.LastSequence);
        Assert.Equal(entries[1].EntryHash, copy.HeadHash);
    }

    [Fact]
    public void Append_MalformedDraft_IsRefusedAndNothingWritten()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(path);
        var good = _consortium.Draft(ledger, 1, 1, RoundStatus.Completed, 1.1);

        Assert.Throws<ArgumentException>(() => ledger.Append(good with { Participants = [new LedgerParticipant("silo-1", "ABC")] }, signer));
        Assert.Throws<ArgumentException>(() => ledger.Append(good with { EffectiveNoiseMultiplier = null }, signer));
        Assert.Throws<ArgumentException>(() => ledger.Append(good with { Status = RoundStatus.Aborted }, signer));
        Assert.Throws<ArgumentException>(() => ledger.Append(good with { Aggregation = "clear" }, signer));
        Assert.Throws<ArgumentException>(() => ledger.Append(good with { CumulativeEpsilon = null }, signer));

        Assert.Equal(0, ledger.LastSequence);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void Read_MalformedLine_NamesFileAndLine()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        _consortium.WriteGoodLedger(path);
        var lines = File.ReadAllLines(path);
        lines[2] = lines[2][..^10];
        File.WriteAllLines(path, lines);

        var ex = Assert.Throws<InvalidDataException>(() => AuditLedger.Read(path));

        Assert.Contains($"'{path}', line 3: not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"trace_id\":", "\"trace\":", "missing property 'trace_id'")]
    [InlineData("{\"format\"", "{\"extra\":1,\"format\"", "unknown property 'extra'")]
    [InlineData("\"format\":\"securefed-audit-ledger/1\"", "\"format\":\"other/2\"", "format 'other/2' is not 'securefed-audit-ledger/1'")]
    [InlineData("\"round\":1,", "\"round\":\"1\",", "property 'round' is not a 32-bit integer")]
    [InlineData("\"u5\":3", "\"u5\":3,\"u6\":3", "unknown property 'stages.secure_aggregation.u6'")]
    [InlineData("\"status\":\"completed\"", "\"status\":\"done\"", "status 'done' is not completed or aborted")]
    public void Read_WrongShape_NamesTheProperty(string find, string replace, string message)
    {
        string path = _consortium.PathOf("ledger.jsonl");
        _consortium.WriteGoodLedger(path);
        var lines = File.ReadAllLines(path);
        Assert.Contains(find, lines[0], StringComparison.Ordinal);
        lines[0] = lines[0].Replace(find, replace, StringComparison.Ordinal);
        File.WriteAllLines(path, lines);

        var ex = Assert.Throws<InvalidDataException>(() => AuditLedger.Read(path));

        Assert.Contains($"line 1: {message}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingFile_ThrowsNamingIt()
    {
        string path = _consortium.PathOf("nope.jsonl");

        var ex = Assert.Throws<FileNotFoundException>(() => AuditLedger.Read(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WrittenLedger_RoundTripsToTheSameCanonicalBytes()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var written = _consortium.WriteGoodLedger(path);

        var read = AuditLedger.Read(path);

        Assert.Equal(written.Count, read.Count);
        for (int i = 0; i < written.Count; i++)
        {
            Assert.Equal(LedgerCanonicalForm.Encode(written[i]), LedgerCanonicalForm.Encode(read[i]));
            Assert.Equal(LedgerCanonicalForm.ToJsonLine(written[i]), LedgerCanonicalForm.ToJsonLine(read[i]));
            Assert.Equal(written[i].Participants, read[i].Participants);
            Assert.Equal(written[i].Timestamp, read[i].Timestamp);
        }
    }

    [Fact]
    public void Encode_Entry_IsFixedOrderCompactJsonWithoutHashOrSignature()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entry = _consortium.WriteGoodLedger(path)[2];

        string canonical = Encoding.UTF8.GetString(LedgerCanonicalForm.Encode(entry));

        Assert.StartsWith("{\"format\":\"securefed-audit-ledger/1\",\"sequence\":3,\"federation_id\":\"fed-1\",\"round\":3,\"attempt\":1,\"status\":\"aborted\",\"timestamp\":\"2026-11-27T08:31:00.0000000Z\",", canonical, StringComparison.Ordinal);
        Assert.Contains("\"delta\":1E-05,", canonical, StringComparison.Ordinal);
        Assert.Contains("\"effective_noise_multiplier\":null,", canonical, StringComparison.Ordinal);
        Assert.EndsWith($"\"previous_hash\":\"{entry.PreviousHash}\"}}", canonical, StringComparison.Ordinal);
        Assert.DoesNotContain("signature", canonical, StringComparison.Ordinal);
        Assert.DoesNotContain("entry_hash", canonical, StringComparison.Ordinal);
        Assert.DoesNotContain(' ', canonical);
    }

    [Fact]
    public void Encode_TimestampWithOffset_EncodesTheSameInstantInUtc()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entry = _consortium.WriteGoodLedger(path)[0];
        var shifted = entry with { Timestamp = entry.Timestamp.ToOffset(TimeSpan.FromHours(2)) };

        Assert.Equal(LedgerCanonicalForm.Encode(entry), LedgerCanonicalForm.Encode(shifted));
    }

    [Fact]
    public void Encode_InfiniteEpsilon_RoundTripsAsInfinityString()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        var entry = _consortium.WriteGoodLedger(path)[0] with { CumulativeEpsilon = new LedgerEpsilon(double.PositiveInfinity, 1.5) };
        File.WriteAllText(path, LedgerCanonicalForm.ToJsonLine(entry) + "\n");

        var read = AuditLedger.Read(path)[0];

        Assert.Contains("\"rdp\":\"Infinity\"", LedgerCanonicalForm.ToJsonLine(entry), StringComparison.Ordinal);
        Assert.Equal(double.PositiveInfinity, read.CumulativeEpsilon!.Rdp);
        Assert.Equal(1.5, read.CumulativeEpsilon.Exact);
    }

    [Fact]
    public void CumulativeEpsilonWith_AbortedRound_DoesNotCharge()
    {
        string path = _consortium.PathOf("ledger.jsonl");
        using var signer = _consortium.CoordinatorSigner();
        using var ledger = AuditLedger.Open(path);
        ledger.Append(_consortium.Draft(ledger, 1, 1, RoundStatus.Completed, 1.1), signer);
        ledger.Append(_consortium.Draft(ledger, 2, 1, RoundStatus.Aborted, null), signer);

        var next = ledger.CumulativeEpsilonWith("fed-1", null, TestConsortium.Delta);
        var other = ledger.CumulativeEpsilonWith("fed-2", null, TestConsortium.Delta);

        Assert.Equal(LedgerEpsilons.Compute([1.1], TestConsortium.Delta), next);
        Assert.Equal(new LedgerEpsilon(0, 0), other);
    }
}
