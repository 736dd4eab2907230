using Google.Protobuf;
using SecureFed.Contracts.V1;
using SecureFed.Protocol;

namespace SecureFed.Federation.Tests;

/// <summary>
/// The masked input on the wire: fixed-width words (k/8 little-endian bytes an element), so a secure upload costs what
/// a plain one does plus a constant; the older varint form is still accepted from agents that send it; a malformed
/// chunk is refused with a reason that names the silo, and the round completes without it.
/// </summary>
public sealed class SecureWireTests
{
    private static readonly SecureAggregationPlan Secure32 = new(RingBits: 32, ScaleBits: 16, MaxAbsValue: 16);

    [Fact]
    public async Task SecureUpload_BytesOfOneSilo_ArePlainUploadsPlusAConstant()
    {
        const int length = 40_000;
        var plain = await BytesUpAsync(length, secure: null);
        var secure = await BytesUpAsync(length, Secure32);

        // Both carry at least the vector itself (4 bytes an element) ...
        Assert.True(plain >= 4L * length, $"plain upload {plain} bytes");
        Assert.True(secure >= 4L * length, $"secure upload {secure} bytes");
        // ... and the secure one adds only keys, shares and signatures: a constant, where varints would add ~24%.
        Assert.True(secure <= (plain * 1.01) + 4096, $"secure upload {secure} bytes against plain {plain}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(65536)]
    public void MaskedChunk_Ring32_IsThePlainChunksSizePlusAConstant(int length)
    {
        var random = new Random(7);
        var masked = Enumerable.Range(0, length).Select(_ => (ulong)random.NextInt64(0, 1L << 32)).ToArray();
        var secure = new MaskedInputChunk
        {
            Sender = "silo-1", Offset = 0, TotalLength = (uint)length, Last = true,
            Words = UnsafeByteOperations.UnsafeWrap(Protocol.SecureAggregation.RingWords.Encode(masked, 32)),
        };
        var plain = new UpdateChunk { Offset = 0, TotalLength = (uint)length, Last = true, ExampleCount = 10 };
        plain.Values.AddRange(Enumerable.Range(0, length).Select(i => (float)random.NextDouble()));
        var varints = new MaskedInputChunk { Sender = "silo-1", Offset = 0, TotalLength = (uint)length, Last = true };
        varints.Values.AddRange(masked);

        Assert.InRange(secure.CalculateSize(), 0, (plain.CalculateSize() * 1.01) + 16);
        // What the words replace: a random ring-32 element takes 5 bytes as a varint.
        Assert.True(length < 16 || varints.CalculateSize() > secure.CalculateSize() * 1.2, $"varints {varints.CalculateSize()} against words {secure.CalculateSize()}");
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public async Task SecureRound_AgentsSendingLegacyVarints_AcceptedAndSumExact(int ringBits)
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { SecureAggregation = Secure32 with { RingBits = ringBits } });
        var legacy = 0;
        foreach (var (id, value) in new[] { ("silo-1", 1f), ("silo-2", 2f), ("silo-3", 6f) })
        {
            var agent = fed.CreateAgent(id, new FakeTrainer(value));
            agent.Tamper = m =>
            {
                if (m.BodyCase != AgentMessage.BodyOneofCase.MaskedInputChunk)
                {
                    return m;
                }

                // What an agent from before words existed sends: the same elements as varints.
                var old = m.Clone();
                old.MaskedInputChunk.Values.AddRange(MaskedWords.Decode(m.MaskedInputChunk, ringBits));
                old.MaskedInputChunk.Words = ByteString.Empty;
                Interlocked.Increment(ref legacy);
                return old;
            };
            fed.StartAgent(agent);
        }

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.True(legacy >= 3);
        Assert.Equal(1, outcome.RoundsCompleted);
        Assert.Equal(3.0, outcome.FinalLoss, 9);
    }

    [Theory]
    [InlineData("ragged", 4, "not a whole number of 4-byte words")]
    [InlineData("too-many", 16, "past the vector")]
    [InlineData("too-many", 4, "over the limit of 4")]
    [InlineData("both-encodings", 4, "both words and varint values")]
    [InlineData("legacy-out-of-ring", 4, "not below 2^32")]
    public async Task MaskedChunk_Malformed_RefusedNamingTheSiloAndRoundCompletesWithOthers(string kind, int maxChunk, string reason)
    {
        await using var fed = new TestFederation(4);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { SecureAggregation = Secure32, MaxChunkFloats = maxChunk });
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(i));
        }

        var attacker = fed.CreateAgent("silo-4", new FakeTrainer(1000f));
        attacker.Tamper = m =>
        {
            if (m.BodyCase != AgentMessage.BodyOneofCase.MaskedInputChunk)
            {
                return m;
            }

            var bad = m.Clone();
            var words = m.MaskedInputChunk.Words.ToByteArray();
            switch (kind)
            {
                case "ragged":
                    bad.MaskedInputChunk.Words = ByteString.CopyFrom(words, 0, words.Length - 1);
                    break;
                case "too-many":
                    bad.MaskedInputChunk.Words = ByteString.CopyFrom([.. words, .. words]);
                    break;
                case "both-encodings":
                    bad.MaskedInputChunk.Values.Add(1UL);
                    break;
                case "legacy-out-of-ring":
                    bad.MaskedInputChunk.Words = ByteString.Empty;
                    bad.MaskedInputChunk.Values.AddRange(MaskedWords.Decode(m.MaskedInputChunk, 32));
                    bad.MaskedInputChunk.Values[0] = 1UL << 32;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
            }

            return bad;
        };
        fed.StartAgent(attacker);

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        // Nothing of silo-4's 1000 reached the sum: the mean of 1, 2 and 3 exactly.
        Assert.Equal(1, outcome.RoundsCompleted);
        Assert.Equal(2.0, outcome.FinalLoss, 9);
        Assert.Contains(fed.Logs, line => line.Contains("silo-4", StringComparison.Ordinal) && line.Contains(reason, StringComparison.Ordinal));
    }

    private static async Task<long> BytesUpAsync(int length, SecureAggregationPlan? secure)
    {
        await using var fed = new TestFederation(3, parameters: length);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3) with { SecureAggregation = secure, MaxChunkFloats = 16384, MaxMessageBytes = 1 << 20 });
        for (var i = 1; i <= 3; i++)
        {
            fed.StartAgent($"silo-{i}", new FakeTrainer(0.25f * i));
        }

        await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        return fed.Inbound.Where(m => m.SiloId == "silo-1").Sum(m => (long)m.Message.CalculateSize());
    }
}
