namespace SecureFed.Training.Tests;

public sealed class ParameterVectorTests
{
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Validate_NonFiniteEntry_ThrowsGivingIndexButNoValues(float bad)
    {
        float[] vector = [123.456f, -7.25f, bad, 0.5f];

        var ex = Assert.Throws<ArgumentException>(() => ParameterVector.Validate(vector, 4, "update"));

        Assert.Equal("update", ex.ParamName);
        Assert.Contains("index 2", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("123", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("7.25", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("∞", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WrongLength_ThrowsGivingLengthsOnly()
    {
        var ex = Assert.Throws<ArgumentException>(() => ParameterVector.Validate([42.5f, 1f], 3));

        Assert.Contains("2 entries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expects 3", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("42", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_FiniteVectorOfRightLength_Passes()
    {
        ParameterVector.Validate([0f, -1e30f, float.Epsilon], 3);

        Assert.Equal(-1, ParameterVector.IndexOfNonFinite([1f, 2f]));
        Assert.Throws<ArgumentNullException>(() => ParameterVector.Validate(null!, 3));
    }
}
