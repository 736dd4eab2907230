namespace SecureFed.Studies.Tests;

public sealed class HoldoutSplitTests
{
    private static readonly int[] Labels = [.. Enumerable.Range(0, 103).Select(i => i % 7 == 0 ? 2 : i % 3 == 0 ? 1 : 0)];

    [Fact]
    public void Split_SameSeed_SameResult_OtherSeed_Differs()
    {
        var first = HoldoutSplit.Split(Labels, 3, 0.2, 7);
        var second = HoldoutSplit.Split(Labels, 3, 0.2, 7);
        var other = HoldoutSplit.Split(Labels, 3, 0.2, 8);

        Assert.Equal(first.Train, second.Train);
        Assert.Equal(first.Holdout, second.Holdout);
        Assert.NotEqual(first.Holdout, other.Holdout);
    }

    [Fact]
    public void Split_IsStratifiedDisjointCoveringAndOrdered()
    {
        var (train, holdout) = HoldoutSplit.Split(Labels, 3, 0.2, 0);

        Assert.Empty(train.Intersect(holdout));
        Assert.Equal(Enumerable.Range(0, Labels.Length), train.Concat(holdout).Order());
        Assert.Equal(train.Order(), train);
        Assert.Equal(holdout.Order(), holdout);
        for (var c = 0; c < 3; c++)
        {
            var size = Labels.Count(l => l == c);
            var expected = (int)Math.Round(0.2 * size, MidpointRounding.AwayFromZero);
            Assert.Equal(expected, holdout.Count(r => Labels[r] == c));
        }
    }

    [Fact]
    public void Split_MidpointRoundsAwayFromZero()
    {
        // 5 rows of one class at 0.5: 2.5 rounds to 3.
        var (_, holdout) = HoldoutSplit.Split([0, 0, 0, 0, 0], 1, 0.5, 1);

        Assert.Equal(3, holdout.Length);
    }

    [Theory]
    [InlineData(new[] { 0, 1 }, 0.2)]
    [InlineData(new[] { 0, 1 }, 0.9)]
    public void Split_EmptySide_ThrowsNamingRowsAndFraction(int[] labels, double fraction)
    {
        var error = Assert.Throws<ArgumentException>(() => HoldoutSplit.Split(labels, 2, fraction, 0));

        Assert.Contains("2 rows", error.Message, StringComparison.Ordinal);
        Assert.Contains(fraction.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Split_LabelOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HoldoutSplit.Split([0, 3], 2, 0.5, 0));
    }
}
