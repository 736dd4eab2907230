using CsCheck;
using SecureFed.Crypto.Internal;
using static SecureFed.Crypto.Tests.TestUtil;

namespace SecureFed.Crypto.Tests;

public class MaskGeneratorTests
{
    private static readonly IMaskGenerator Masks = CryptoProvider.Default.MaskGenerator;

    // NIST SP 800-38A F.5.5 CTR-AES256.Encrypt.
    private const string NistKey = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    private const string NistCounter = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    private const string NistPlaintext =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    private const string NistOutputBlocks =
        "0bdf7df1591716335e9a8b15c860c5025a6e699d536119065433863c8f657b941bc12c9c01610d5d0d8bd6a3378eca622956e1c8693536b1bee99c73a31576b6";
    private const string NistCiphertext =
        "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c52b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6";

    public static TheoryData<bool> Engines => new() { true, false };

    private static byte[] Keystream(string key, string counter, int length, bool hardware, ulong offset = 0)
    {
        using var ks = new AesCtrKeystream(Hex(key), Hex(counter), hardware);
        var output = new byte[length];
        ks.Apply<WriteOp>(offset, output);
        return output;
    }

    private static byte[] Seed(byte start) => Range(start, start + 32);

    // NIST SP 800-38A F.5.5 (CTR-AES256) and F.5.1 (CTR-AES128): same counter block and plaintext, on both engines.
    public static TheoryData<bool, string, string, string> NistVectors => new()
    {
        { true, NistKey, NistOutputBlocks, NistCiphertext },
        { false, NistKey, NistOutputBlocks, NistCiphertext },
        { true, Nist128Key, Nist128OutputBlocks, Nist128Ciphertext },
        { false, Nist128Key, Nist128OutputBlocks, Nist128Ciphertext },
    };

    [Theory]
    [MemberData(nameof(NistVectors))]
    public void Keystream_NistSp80038aF55AndF51_MatchOutputBlocksAndCiphertext(bool hardware, string key, string outputBlocks, string ciphertext)
    {
        byte[] keystream = Keystream(key, NistCounter, 64, hardware);
        Assert.Equal(outputBlocks, ToHex(keystream));
        byte[] plaintext = Hex(NistPlaintext);
        Assert.Equal(ciphertext, ToHex([.. plaintext.Select((p, i) => (byte)(p ^ keystream[i]))]));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void Keystream_NistSp80038aF55_FromOddOffset_MatchesSlice(bool hardware)
    {
        Assert.Equal(NistOutputBlocks[(2 * 5)..(2 * 61)], ToHex(Keystream(NistKey, NistCounter, 56, hardware, offset: 5)));
    }

    // Reference values from an independent AES-CTR implementation (OpenSSL via Python's cryptography package).
    [Theory]
    [InlineData(true, "00000000000000fffffffffffffffffe", "680a942debeffaadeca41e2a885431624af318c9e0b6a3f58d4f015b18589e56183c487bd9d28ff92c8c3194e613a13c63d599631d1e1df1878c903359e8c189")]
    [InlineData(false, "00000000000000fffffffffffffffffe", "680a942debeffaadeca41e2a885431624af318c9e0b6a3f58d4f015b18589e56183c487bd9d28ff92c8c3194e613a13c63d599631d1e1df1878c903359e8c189")]
    [InlineData(true, "fffffffffffffffffffffffffffffffe", "63e5b402b51e48ddfaedf9de99cc2744e999e41d4ca770da5387117b5d8f57eef29000b62a499fd0a9f39a6add2e7780f05d76ae4ab99fe5a6f69b3148c2363d")]
    [InlineData(false, "fffffffffffffffffffffffffffffffe", "63e5b402b51e48ddfaedf9de99cc2744e999e41d4ca770da5387117b5d8f57eef29000b62a499fd0a9f39a6add2e7780f05d76ae4ab99fe5a6f69b3148c2363d")]
    public void Keystream_CounterCarriesAcross64And128Bits_MatchesReference(bool hardware, string counter, string expected)
    {
        Assert.Equal(expected, ToHex(Keystream(ToHex(Range(0, 32)), counter, 64, hardware)));
    }

    [Theory]
    [InlineData("00000000000000000000000000000000")]
    [InlineData("00000000000000fffffffffffffffffa")]
    [InlineData("fffffffffffffffffffffffffffffff3")]
    public void Keystream_HardwareAndFallbackEngines_ProduceSameStream(string counter)
    {
        // Without AES-NI both sides run the fallback and this degenerates to a self-comparison.
        string key = ToHex(Range(7, 39));
        Assert.Equal(Keystream(key, counter, 16 * 41, hardware: false), Keystream(key, counter, 16 * 41, hardware: true));
    }

    // NIST SP 800-38A F.5.1 CTR-AES128.Encrypt (same counter block and plaintext as F.5.5).
    private const string Nist128Key = "2b7e151628aed2a6abf7158809cf4f3c";
    private const string Nist128OutputBlocks =
        "ec8cdf7398607cb0f2d21675ea9ea1e4362b7c3c6773516318a077d7fc5073ae6a2cc3787889374fbeb4c81b17ba6c44e89c399ff0f198c6d40a31db156cabfe";
    private const string Nist128Ciphertext =
        "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee";

    [Theory]
    [MemberData(nameof(Engines))]
    public void Aes128Generator_KeysWithTheSeedsFirstHalfAndCountsFromItsSecond(bool hardware)
    {
        // The seed is key || initial counter block, so the NIST vector's key and counter give its output blocks,
        // and 20 blocks run the 8-block pipelined loop twice and the single-block tail.
        byte[] seed = [.. Hex(Nist128Key), .. Hex(NistCounter)];
        var generator = new AesCtrMaskGenerator(hardware, MaskPrgs.Aes128Ctr);
        byte[] output = new byte[16 * 20];
        generator.ExpandBytes(seed, output);
        Assert.Equal(Nist128OutputBlocks, ToHex(output[..64]));
        Assert.Equal(Keystream(Nist128Key, NistCounter, 16 * 20, hardware), output);
        Assert.Equal(MaskPrgs.Aes128Ctr, generator.Name);
    }

    [Fact]
    public void Aes128AndAes256Generators_GiveDifferentStreamsForOneSeed()
    {
        // Parties that disagree on the PRG must not produce masks that cancel by accident.
        var a = new ulong[64];
        var b = new ulong[64];
        CryptoProvider.Default.MaskGeneratorFor(MaskPrgs.Aes128Ctr).Expand(Seed(3), a);
        CryptoProvider.Default.MaskGeneratorFor(MaskPrgs.Aes256Ctr).Expand(Seed(3), b);
        Assert.All(a.Zip(b), pair => Assert.NotEqual(pair.First, pair.Second));
    }

    [Fact]
    public void MaskGeneratorFor_UnknownName_NamesTheChoices()
    {
        var ex = Assert.Throws<ArgumentException>(() => CryptoProvider.Default.MaskGeneratorFor("chacha20"));
        Assert.Contains("'chacha20'", ex.Message);
        Assert.Contains("aes-128-ctr", ex.Message);
        Assert.Same(CryptoProvider.Default.MaskGenerator, CryptoProvider.Default.MaskGeneratorFor(MaskPrgs.Aes256Ctr));
    }

    [Fact]
    public void Keystream_KeyOfNeither16Nor32Bytes_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new AesCtrKeystream(new byte[24], new byte[16]));
        Assert.Contains("got 24", ex.Message);
    }

    [Fact]
    public void ExpandBytes_FixedSeed_MatchesAes256CtrFromZeroCounter()
    {
        // Pins the public stream layout: AES-256-CTR, key = seed, counter block starting at zero. Ten blocks, so
        // the 8-block pipelined loop and the single-block tail both run. Reference: OpenSSL via Python.
        const string Expected =
            "f29000b62a499fd0a9f39a6add2e7780f05d76ae4ab99fe5a6f69b3148c2363d0ebcb5deb52c83bd08a8a935182c9199" +
            "d24356532881602f809eb383c5ff5d564e5fe6bc2af2b80633c371f5c1ce694ea90741e6797146a550b63f264a604ee4" +
            "e96f3e0a91d150e2d389d3c7162448995d15369920a8454134a61443fe5fd1b0d7514e072c5feca9197966348324ba5d" +
            "2cbd526be87c119cd01227fa64243b82";
        byte[] output = new byte[160];
        Masks.ExpandBytes(Range(0, 32), output);
        Assert.Equal(Expected, ToHex(output));
        byte[] fallback = new byte[160];
        new AesCtrMaskGenerator(allowHardware: false).ExpandBytes(Range(0, 32), fallback);
        Assert.Equal(Expected, ToHex(fallback));
    }

    [Fact]
    public void Expand_UlongAndUint_AreLittleEndianViewsOfByteStream()
    {
        byte[] bytes = new byte[64];
        ulong[] longs = new ulong[8];
        uint[] ints = new uint[16];
        Masks.ExpandBytes(Seed(1), bytes);
        Masks.Expand(Seed(1), longs);
        Masks.Expand(Seed(1), ints);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(BitConverter.ToUInt64(bytes, 8 * i), longs[i]);
        }

        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(BitConverter.ToUInt32(bytes, 4 * i), ints[i]);
        }
    }

    [Fact]
    public void Expand_SameSeed_SameStream_DifferentSeed_DifferentStream()
    {
        ulong[] a = new ulong[1000];
        ulong[] b = new ulong[1000];
        ulong[] c = new ulong[1000];
        Masks.Expand(Seed(1), a);
        Masks.Expand(Seed(1), b);
        byte[] other = Seed(1);
        other[31] ^= 1;
        Masks.Expand(other, c);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);

        // A one-bit seed change gives an unrelated stream: about half the bits differ.
        int differing = a.Zip(c, (x, y) => System.Numerics.BitOperations.PopCount(x ^ y)).Sum();
        Assert.InRange(differing, (64 * 1000 / 2) - 1000, (64 * 1000 / 2) + 1000);
    }

    [Fact]
    public void AddExpandThenSubtractExpand_Ulong_RestoresOriginal()
    {
        var gen = Gen.Select(Gen.ULong.Array[0, 300], Gen.Byte.Array[32], Gen.Long[0, 1000]);
        gen.Sample((original, seed, offset) =>
        {
            ulong[] v = (ulong[])original.Clone();
            Masks.AddExpand(seed, v, offset);
            if (v.Length > 4)
            {
                Assert.NotEqual(original, v);
            }

            Masks.SubtractExpand(seed, v, offset);
            Assert.Equal(original, v);
        }, iter: 200);
    }

    [Fact]
    public void AddExpandThenSubtractExpand_Uint_RestoresOriginal()
    {
        var gen = Gen.Select(Gen.UInt.Array[0, 300], Gen.Byte.Array[32], Gen.Long[0, 1000]);
        gen.Sample((original, seed, offset) =>
        {
            uint[] v = (uint[])original.Clone();
            Masks.AddExpand(seed, v, offset);
            Masks.SubtractExpand(seed, v, offset);
            Assert.Equal(original, v);
        }, iter: 200);
    }

    [Fact]
    public void AddExpand_Ulong_EqualsElementwiseWrappingSumWithExpand()
    {
        ulong[] v = Enumerable.Range(0, 517).Select(i => ulong.MaxValue - (ulong)i).ToArray();
        ulong[] mask = new ulong[v.Length];
        Masks.Expand(Seed(3), mask);
        ulong[] expected = v.Zip(mask, (x, m) => unchecked(x + m)).ToArray();
        Masks.AddExpand(Seed(3), v);
        Assert.Equal(expected, v);
    }

    [Fact]
    public void SubtractExpand_Uint_EqualsElementwiseWrappingDifferenceWithExpand()
    {
        uint[] v = Enumerable.Range(0, 517).Select(i => (uint)i).ToArray();
        uint[] mask = new uint[v.Length];
        Masks.Expand(Seed(4), mask);
        uint[] expected = v.Zip(mask, (x, m) => unchecked(x - m)).ToArray();
        Masks.SubtractExpand(Seed(4), v);
        Assert.Equal(expected, v);
    }

    [Fact]
    public void AddExpand_PairwiseMasksOfThreeClients_CancelInSum()
    {
        // y_u = x_u + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv): the masks cancel in the sum mod 2^64.
        const int N = 3;
        const int Length = 257;
        var inputs = Enumerable.Range(0, N).Select(u => Enumerable.Range(0, Length).Select(i => (ulong)(u * 1000 + i)).ToArray()).ToArray();
        var sum = new ulong[Length];
        for (int u = 0; u < N; u++)
        {
            ulong[] y = (ulong[])inputs[u].Clone();
            for (int v = 0; v < N; v++)
            {
                if (v == u)
                {
                    continue;
                }

                byte[] seed = Seed((byte)(10 * Math.Min(u, v) + Math.Max(u, v)));
                if (v > u)
                {
                    Masks.AddExpand(seed, y);
                }
                else
                {
                    Masks.SubtractExpand(seed, y);
                }
            }

            for (int i = 0; i < Length; i++)
            {
                sum[i] = unchecked(sum[i] + y[i]);
            }
        }

        for (int i = 0; i < Length; i++)
        {
            Assert.Equal(inputs.Aggregate(0UL, (acc, x) => unchecked(acc + x[i])), sum[i]);
        }
    }

    [Fact]
    public void Expand_DifferentChunkings_GiveIdenticalOutput()
    {
        var gen = Gen.Select(Gen.Int[0, 700], Gen.Int[1, 97], Gen.Byte.Array[32]);
        gen.Sample((length, chunk, seed) =>
        {
            var whole64 = new ulong[length];
            var whole32 = new uint[length];
            var wholeBytes = new byte[length];
            Masks.Expand(seed, whole64);
            Masks.Expand(seed, whole32);
            Masks.ExpandBytes(seed, wholeBytes);
            var pieces64 = new ulong[length];
            var pieces32 = new uint[length];
            var piecesBytes = new byte[length];
            var added64 = new ulong[length];
            var subtracted32 = new uint[length];
            for (int start = 0; start < length; start += chunk)
            {
                int count = Math.Min(chunk, length - start);
                Masks.Expand(seed, pieces64.AsSpan(start, count), start);
                Masks.Expand(seed, pieces32.AsSpan(start, count), start);
                Masks.ExpandBytes(seed, piecesBytes.AsSpan(start, count), start);
                Masks.AddExpand(seed, added64.AsSpan(start, count), start);
                Masks.SubtractExpand(seed, subtracted32.AsSpan(start, count), start);
            }

            Assert.Equal(whole64, pieces64);
            Assert.Equal(whole32, pieces32);
            Assert.Equal(wholeBytes, piecesBytes);
            Assert.Equal(whole64, added64);
            Assert.Equal(whole32.Select(x => unchecked(0u - x)), subtracted32);
        }, iter: 150);
    }

    [Fact]
    public void Engines_RandomLengthsAndOffsets_ProduceSameResults()
    {
        // Without AES-NI both sides run the fallback and this degenerates to a self-comparison.
        var gen = Gen.Select(Gen.ULong.Array[0, 2000], Gen.Byte.Array[32], Gen.Long[0, 5000], Gen.OneOfConst(MaskPrgs.Aes128Ctr, MaskPrgs.Aes256Ctr));
        gen.Sample((original, seed, offset, prg) =>
        {
            var hardware = new AesCtrMaskGenerator(allowHardware: true, prg);
            var fallback = new AesCtrMaskGenerator(allowHardware: false, prg);
            ulong[] a = (ulong[])original.Clone();
            ulong[] b = (ulong[])original.Clone();
            hardware.AddExpand(seed, a, offset);
            fallback.AddExpand(seed, b, offset);
            Assert.Equal(a, b);
            uint[] c = new uint[original.Length];
            uint[] d = new uint[original.Length];
            hardware.Expand(seed, c, offset);
            fallback.Expand(seed, d, offset);
            Assert.Equal(c, d);
        }, iter: 100);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ExpandBytes_OneMebibyte_PassesChiSquareUniformityAtP001(byte seedStart)
    {
        byte[] output = new byte[1 << 20];
        Masks.ExpandBytes(Seed(seedStart), output);
        var counts = new long[256];
        foreach (byte b in output)
        {
            counts[b]++;
        }

        double expected = output.Length / 256.0;
        double chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);

        // Critical value of chi-square with 255 degrees of freedom at p = 0.001 (upper tail).
        Assert.InRange(chiSquare, 0, 330.52);
    }

    [Fact]
    public void AddExpand_MillionElements_AllocatesNoMaskSizedBuffer()
    {
        var v = new ulong[1_000_000];
        byte[] seed = Seed(5);
        Masks.AddExpand(seed, v.AsSpan(0, 100));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int peer = 0; peer < 3; peer++)
        {
            Masks.AddExpand(seed, v);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.InRange(allocated, 0, 64 * 1024);
    }

    [Fact]
    public void Expand_WrongSeedLengthOrNegativeOffset_Throws()
    {
        Assert.Throws<ArgumentException>(() => Masks.Expand(new byte[16], new ulong[4]));
        Assert.Throws<ArgumentException>(() => Masks.AddExpand(new byte[33], new uint[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Masks.Expand(new byte[32], new ulong[4], -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Masks.ExpandBytes(new byte[32], new byte[4], -1));
        Assert.Equal(32, Masks.SeedSize);
    }

    [Fact]
    public void MeasureGigabytesPerSecond_SmallRun_ReturnsPositiveThroughput()
    {
        Assert.True(MaskGeneratorBenchmark.MeasureGigabytesPerSecond(1, MaskBenchmarkOperation.Expand, passes: 1) > 0);
        Assert.True(MaskGeneratorBenchmark.MeasureGigabytesPerSecond(1, MaskBenchmarkOperation.AddExpand, passes: 1) > 0);
    }
}
