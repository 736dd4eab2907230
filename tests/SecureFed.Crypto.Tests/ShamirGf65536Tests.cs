using System.Security.Cryptography;
using CsCheck;
using SecureFed.Crypto.Internal;

namespace SecureFed.Crypto.Tests;

public class ShamirGf65536Tests
{
    private static readonly ISecretSharing Wide = CryptoProvider.Default.WideSecretSharing;

    private static int[] DistinctIndices(int count, int seed, int max = 65535)
    {
        var random = new Random(seed);
        var set = new HashSet<int>();
        while (set.Count < count)
        {
            set.Add(random.Next(1, max + 1));
        }

        return set.ToArray();
    }

    [Fact]
    public void Field_TableProductAndInverse_MatchShiftAndAdd()
    {
        Gen.Select(Gen.UShort, Gen.UShort).Sample((a, b) =>
        {
            Assert.Equal(Gf65536.MultiplySlow(a, b), Gf65536.MultiplyPublic(a, b));
            if (a != 0)
            {
                Assert.Equal(1, Gf65536.MultiplySlow(a, Gf65536.InversePublic(a)));
            }
        }, iter: 20000);
    }

    [Fact]
    public void Field_SpanOperations_MatchScalarProduct()
    {
        var gen = from values in Gen.UShort.Array[0, 40] from scalar in Gen.UShort from acc in Gen.UShort select (values, scalar, acc);
        gen.Sample(c =>
        {
            var product = c.values.ToArray();
            Gf65536.MultiplyInPlace(product, c.scalar);
            var accumulated = Enumerable.Repeat(c.acc, c.values.Length).ToArray();
            Gf65536.MultiplyAccumulate(c.scalar, c.values, accumulated);
            for (int j = 0; j < c.values.Length; j++)
            {
                Assert.Equal(Gf65536.MultiplySlow(c.values[j], c.scalar), product[j]);
                Assert.Equal((ushort)(Gf65536.MultiplySlow(c.values[j], c.scalar) ^ c.acc), accumulated[j]);
            }
        });
    }

    [Fact]
    public void Combine_AnyThresholdSubsetOfIndicesPast255_ReconstructsSecret()
    {
        var gen =
            from words in Gen.Int[1, 24]
            from secret in Gen.Byte.Array[words * 2]
            from n in Gen.Int[1, 40]
            from t in Gen.Int[1, n]
            from extra in Gen.Int[0, n - t]
            from seed in Gen.Int
            select (secret, n, t, extra, seed);
        gen.Sample(c =>
        {
            using var rng = new DeterministicRandomSource(unchecked((ulong)c.seed));
            var indices = DistinctIndices(c.n, c.seed);
            var shares = Wide.SplitAt(c.secret, c.t, indices, rng);
            Assert.Equal(indices, shares.Select(s => s.Index));
            var chosen = shares.OrderBy(_ => Guid.NewGuid()).Take(c.t + c.extra).ToList();
            using var recovered = Wide.Combine(chosen, c.t);
            Assert.Equal(c.secret, recovered.Reveal().ToArray());
        }, iter: 300);
    }

    [Fact]
    public void Combine_1000Shares_Threshold667_ReconstructsAndChecksSurplus()
    {
        using var secret = SecretBytes.Generate(32, SystemRandomSource.Instance);
        var shares = Wide.Split(secret, 667, 1000, SystemRandomSource.Instance);
        Assert.Equal(1000, shares[^1].Index);
        using var recovered = Wide.Combine(shares.Reverse().ToList(), 667);
        Assert.True(secret.Equals(recovered));
    }

    // Perfect secrecy, checked exactly for t = 2: the one random coefficient takes all 2^16 values; for every secret
    // the observed share must then take every value exactly once, so one share says nothing about the secret.
    [Fact]
    public void Split_ThresholdMinusOneShares_UniformForEverySecret()
    {
        Gen.Select(Gen.UShort, Gen.Int[1, 65535]).Sample((secret, index) =>
        {
            var counts = new int[65536];
            var script = new byte[2];
            for (int r = 0; r < 65536; r++)
            {
                script[0] = unchecked((byte)r);
                script[1] = unchecked((byte)(r >> 8));
                var share = Wide.SplitAt(BitConverter.GetBytes(secret), 2, [index, index == 1 ? 2 : 1], new ScriptedRandomSource(script))[0];
                counts[BitConverter.ToUInt16(share.Value.Reveal())]++;
            }

            Assert.All(counts, c => Assert.Equal(1, c));
        }, iter: 4);
    }

    [Fact]
    public void Combine_FewerThanThreshold_Throws_AndThresholdMinusOneAsThresholdGivesAnotherSecret()
    {
        using var secret = SecretBytes.Generate(32, SystemRandomSource.Instance);
        var shares = Wide.Split(secret, 5, 300, SystemRandomSource.Instance);
        Assert.Throws<ArgumentException>(() => Wide.Combine(shares.Take(4).ToList(), 5));

        // Interpolating t - 1 shares of a degree t - 1 polynomial gives (with overwhelming probability) a wrong secret.
        using var wrong = Wide.Combine(shares.Skip(290).Take(4).ToList(), 4);
        Assert.False(secret.Equals(wrong));
    }

    [Fact]
    public void Combine_SurplusShareCorrupted_ThrowsCryptographicException()
    {
        var shares = Wide.Split(new byte[32], 3, 400, SystemRandomSource.Instance).ToList();
        var bad = shares[350].Value.Reveal().ToArray();
        bad[7] ^= 1;
        shares[350] = new SecretShare(351, bad);
        Assert.Throws<CryptographicException>(() => Wide.Combine(shares, 3));
        using var fine = Wide.Combine(shares.Take(3).ToList(), 3);
        Assert.Equal(new byte[32], fine.Reveal().ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Split_OddOrEmptySecret_ThrowsArgumentException(int length)
    {
        Assert.Throws<ArgumentException>(() => Wide.Split(new byte[length], 1, 2, SystemRandomSource.Instance));
    }

    [Fact]
    public void SplitAt_RepeatedOrOutOfRangeIndex_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => Wide.SplitAt(new byte[2], 1, [3, 3], SystemRandomSource.Instance));
        Assert.Throws<ArgumentException>(() => Wide.SplitAt(new byte[2], 1, [0], SystemRandomSource.Instance));
        Assert.Throws<ArgumentException>(() => Wide.SplitAt(new byte[2], 2, [1], SystemRandomSource.Instance));
    }

    // Compatibility: SplitAt(1..n) is Split(n) for the same random bytes, in both fields; and the provider keeps
    // GF(2^8) for every index space that fitted it, so existing plans produce exactly the shares they did before.
    [Fact]
    public void SplitAt_OneToN_EqualsSplit_InBothFields_AndProviderKeepsGf256UpTo255()
    {
        foreach (var sharing in new[] { CryptoProvider.Default.SecretSharing, Wide })
        {
            var secret = RandomNumberGenerator.GetBytes(32);
            using var a = new DeterministicRandomSource(9);
            using var b = new DeterministicRandomSource(9);
            var split = sharing.Split(secret, 4, 9, a);
            var at = sharing.SplitAt(secret, 4, Enumerable.Range(1, 9).ToArray(), b);
            Assert.Equal(split.Select(s => s.Value.Reveal().ToArray()), at.Select(s => s.Value.Reveal().ToArray()));
        }

        Assert.Same(CryptoProvider.Default.SecretSharing, CryptoProvider.Default.SecretSharingFor(255));
        Assert.Same(Wide, CryptoProvider.Default.SecretSharingFor(256));
        Assert.Equal(2, Wide.ElementSize);
        Assert.Equal(1, CryptoProvider.Default.SecretSharing.ElementSize);
    }

    [Fact]
    public void Split_EachShareIsThePolynomialOfTheRandomCoefficientsAtItsIndex()
    {
        // Pins the share bytes: little-endian word j of share x is s_j + a1_j·x + a2_j·x^2, the coefficient words taken
        // from the random source in order (a1 for every word, then a2), evaluated here by shift-and-add.
        byte[] secret = [0x00, 0x00, 0x53, 0xCA, 0xFF, 0xFF, 0x01, 0x80];
        byte[] script = TestUtil.Range(0x10, 0x10 + 2 * secret.Length);
        var shares = Wide.SplitAt(secret, 3, [1, 2, 300, 65535], new ScriptedRandomSource(script));
        ushort Word(byte[] bytes, int at) => BitConverter.ToUInt16(bytes, 2 * at);

        Assert.Equal([1, 2, 300, 65535], shares.Select(s => s.Index));
        foreach (var share in shares)
        {
            ushort x = (ushort)share.Index;
            var value = share.Value.Reveal().ToArray();
            for (int j = 0; j < secret.Length / 2; j++)
            {
                int expected = Word(secret, j) ^ Gf65536.MultiplySlow(Word(script, j), x)
                    ^ Gf65536.MultiplySlow(Word(script, secret.Length / 2 + j), Gf65536.MultiplySlow(x, x));
                Assert.Equal(expected, Word(value, j));
            }
        }
    }
}
