using SecureFed.Crypto;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

/// <summary>The plan names the mask PRG; every party expands with it, and the name is bound where parties must agree.</summary>
public class MaskPrgTests
{
    private static readonly string[] Five = ["a", "b", "c", "d", "e"];

    private static RoundPlan Plan(SecureAggregationPlan sa) => new(
        "fed", 1, "fake", new ModelDescriptor("logreg", 3, 2, 1), new TrainingParameters(1, 8, 0.1, 1), new string('0', 64), 8,
        Five, DateTimeOffset.UnixEpoch, null, sa);

    [Theory]
    [InlineData(32, 0)]
    [InlineData(64, 0)]
    [InlineData(32, 2)]
    [InlineData(64, 2)]
    public void Aes128Round_SumIsExact_WithAndWithoutDropouts(int ringBits, int dropped)
    {
        // 300 elements: the keystream's 8-block loop and its tail both run, for both ring widths.
        using var h = new Harness(7, length: 300, ringBits: ringBits, maskPrg: MaskPrgs.Aes128Ctr);
        Assert.Equal(MaskPrgs.Aes128Ctr, h.Parameters.MaskPrg);
        var drop = h.Ids.Take(dropped).ToDictionary(id => id, _ => SecAggStage.MaskedInput);
        var result = SecAggSimulation.Run(h.Parameters, h.Inputs, drop, new DeterministicRandomSource(9));
        Assert.True(result.Completed, result.AbortReason);
        Assert.Equal(h.PlainSum(h.Ids.Skip(dropped)), result.Sum);
    }

    [Fact]
    public void Context_BindsAPrgOtherThanAes256_AndAes256IsTheDefault()
    {
        var aes256 = SecAggParameters.Create("fed", 1, Five, 8).Context.ToArray();
        Assert.Equal(MaskPrgs.Aes256Ctr, SecAggParameters.Create("fed", 1, Five, 8).MaskPrg);
        Assert.Equal(aes256, SecAggParameters.Create("fed", 1, Five, 8, maskPrg: MaskPrgs.Aes256Ctr).Context.ToArray());
        Assert.NotEqual(aes256, SecAggParameters.Create("fed", 1, Five, 8, maskPrg: MaskPrgs.Aes128Ctr).Context.ToArray());
        var ex = Assert.Throws<ArgumentException>(() => SecAggParameters.Create("fed", 1, Five, 8, maskPrg: "rc4"));
        Assert.Contains("'rc4'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientOnAnotherPrg_IsRefusedAtItsFirstSignature_NotSummedIntoAWrongResult()
    {
        using var h = new Harness(4, length: 8, maskPrg: MaskPrgs.Aes128Ctr);
        using var stale = new Harness(4, length: 8, maskPrg: MaskPrgs.Aes256Ctr, sameKeysAs: h);
        var start = h.Server.Start();
        var ex = Assert.Throws<ProtocolViolationException>(() => h.Server.ReceiveAdvertisement(stale.Clients["silo-02"].AdvertiseKeys(start)));
        Assert.Contains("silo-02", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanHash_NewPlansNameAes128_Aes256PlansHashWithoutTheField()
    {
        var fresh = new SecureAggregationPlan(32, 16, 16.0, 4);
        Assert.Equal(MaskPrgs.Aes128Ctr, fresh.MaskPrg);
        var legacy = fresh with { MaskPrg = MaskPrgs.Aes256Ctr };
        Assert.NotEqual(Plan(fresh).ComputeHash(), Plan(legacy).ComputeHash());

        // A plan on the original PRG hashes exactly as it did before the field existed: this is the hash the build
        // before it (2925fc4) gave the same plan, so ledgers and silos holding those hashes still agree.
        Assert.Equal("50a75238635f28d2da193c0a579b19d9802fbc12e1efa1553d5de14afb87ff7f", Plan(legacy).ComputeHash());
    }

    [Theory]
    [InlineData("chacha20")]
    [InlineData("AES-128-CTR")]
    [InlineData("")]
    public void Validate_UnknownPrg_RefusedWithTheChoicesAndAnUpgradeHint(string prg)
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => new SecureAggregationPlan(MaskPrg: prg).Validate());
        Assert.Contains("aes-128-ctr, aes-256-ctr", ex.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade this agent", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HostilePrgName_IsBoundedAndPrintable()
    {
        var ex = Assert.Throws<ProtocolViolationException>(() => new SecureAggregationPlan(MaskPrg: "x\r\n" + new string('y', 5000)).Validate());
        Assert.DoesNotContain("\n", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 300, ex.Message);
    }
}
