namespace SecureFed.Identity.Tests;

public class SiloIdTests
{
    [Theory]
    [InlineData("silo-1")]
    [InlineData("a")]
    [InlineData("0abc")]
    [InlineData("hospital-a")]
    [InlineData("trailing-")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234")]
    public void Parse_ValidId_RoundTripsThroughToString(string text)
    {
        SiloId id = SiloId.Parse(text);

        Assert.Equal(text, id.ToString());
        Assert.Equal(text, id.Value);
        Assert.True(SiloId.TryParse(text, out SiloId? again));
        Assert.Equal(id, again);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-leading")]
    [InlineData("Silo-1")]
    [InlineData("silo_1")]
    [InlineData("silo 1")]
    [InlineData("silo/1")]
    [InlineData("silo.1")]
    [InlineData("h\u00f4pital")]
    [InlineData(" silo-1")]
    [InlineData("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345")]
    public void TryParse_InvalidId_ReturnsFalse(string text)
    {
        Assert.False(SiloId.TryParse(text, out SiloId? id));
        Assert.Null(id);
        Assert.False(SiloId.IsValid(text));
    }

    [Fact]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.False(SiloId.TryParse(null, out _));
    }

    [Fact]
    public void Parse_InvalidId_ThrowsFormatExceptionThatStatesTheRule()
    {
        var ex = Assert.Throws<FormatException>(() => SiloId.Parse("Bad_Id"));

        Assert.Contains("'Bad_Id'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("lowercase", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HugeInput_MessageIsTruncated()
    {
        string huge = new('X', 10_000);

        var ex = Assert.Throws<FormatException>(() => SiloId.Parse(huge));

        Assert.True(ex.Message.Length < 400, ex.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Equals_SameText_EqualWithSameHashAndOperators()
    {
        SiloId a = SiloId.Parse("silo-2");
        SiloId b = SiloId.Parse("silo-2");

        Assert.True(a == b);
        Assert.False(a != b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, SiloId.Parse("silo-3"));
    }

    [Fact]
    public void CompareTo_Ids_OrdersOrdinally()
    {
        var ids = new[] { "silo-2", "silo-10", "a", "silo-1" }.Select(SiloId.Parse).Order().Select(i => i.Value);

        Assert.Equal(["a", "silo-1", "silo-10", "silo-2"], ids);
        Assert.True(SiloId.Parse("a") < SiloId.Parse("b"));
    }

    [Fact]
    public void ToSanUri_Id_IsSecurefedSiloUri()
    {
        Assert.Equal("securefed://silo/hospital-a", SiloId.Parse("hospital-a").ToSanUri().AbsoluteUri);
    }
}
