using System.Diagnostics.CodeAnalysis;

namespace SecureFed.Identity;

/// <summary>
/// A validated silo identifier: 1 to 64 characters of lowercase ASCII letters, digits and '-',
/// starting with a letter or a digit (for example <c>silo-1</c> or <c>hospital-a</c>).
/// </summary>
/// <remarks>
/// A silo's identity is taken from its certificate only (SAN URI <c>securefed://silo/&lt;id&gt;</c>, see
/// <see cref="ToSanUri"/>), never from a message body. Instances are immutable and thread-safe; equality and
/// ordering are ordinal, so every party sorts silos the same way.
/// </remarks>
public sealed class SiloId : IEquatable<SiloId>, IComparable<SiloId>, IParsable<SiloId>
{
    /// <summary>The longest accepted identifier, in characters.</summary>
    public const int MaxLength = 64;

    /// <summary>The prefix of the SAN URI that carries a silo id in a silo certificate.</summary>
    public const string SanUriPrefix = "securefed://silo/";

    private SiloId(string value)
    {
        Value = value;
    }

    /// <summary>The identifier text, already validated.</summary>
    public string Value { get; }

    /// <summary>Compares two identifiers ordinally.</summary>
    public static bool operator ==(SiloId? left, SiloId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two identifiers ordinally.</summary>
    public static bool operator !=(SiloId? left, SiloId? right) => !(left == right);

    /// <summary>Orders two identifiers ordinally.</summary>
    public static bool operator <(SiloId left, SiloId right) => Compare(left, right) < 0;

    /// <summary>Orders two identifiers ordinally.</summary>
    public static bool operator <=(SiloId left, SiloId right) => Compare(left, right) <= 0;

    /// <summary>Orders two identifiers ordinally.</summary>
    public static bool operator >(SiloId left, SiloId right) => Compare(left, right) > 0;

    /// <summary>Orders two identifiers ordinally.</summary>
    public static bool operator >=(SiloId left, SiloId right) => Compare(left, right) >= 0;

    /// <summary>Returns whether <paramref name="value"/> is a well-formed silo id.</summary>
    /// <param name="value">The candidate text; it is not trimmed or lower-cased.</param>
    public static bool IsValid([NotNullWhen(true)] string? value)
    {
        if (value is null || value.Length is 0 or > MaxLength)
        {
            return false;
        }

        if (value[0] == '-')
        {
            return false;
        }

        foreach (char c in value)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses a silo id without throwing.</summary>
    /// <param name="value">The candidate text; it is not trimmed or lower-cased.</param>
    /// <param name="result">The parsed id, or <see langword="null"/> when <paramref name="value"/> is not valid.</param>
    /// <returns><see langword="true"/> when <paramref name="value"/> is a valid silo id.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out SiloId? result)
    {
        if (IsValid(value))
        {
            result = new SiloId(value);
            return true;
        }

        result = null;
        return false;
    }

    /// <inheritdoc cref="TryParse(string?, out SiloId?)"/>
    /// <param name="s">The candidate text.</param>
    /// <param name="provider">Ignored: the format does not depend on culture.</param>
    /// <param name="result">The parsed id.</param>
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out SiloId result)
    {
        return TryParse(s, out result);
    }

    /// <summary>Parses a silo id.</summary>
    /// <param name="value">The text to parse; it is not trimmed or lower-cased.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="value"/> is not a valid silo id; the message says why.</exception>
    public static SiloId Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (TryParse(value, out SiloId? id))
        {
            return id;
        }

        throw new FormatException(
            $"Invalid silo id '{Describe(value)}': a silo id is 1 to {MaxLength} characters of lowercase letters (a-z), digits " +
            "and '-', and starts with a letter or digit (for example 'silo-1' or 'hospital-a').");
    }

    /// <inheritdoc cref="Parse(string)"/>
    /// <param name="s">The text to parse.</param>
    /// <param name="provider">Ignored: the format does not depend on culture.</param>
    public static SiloId Parse(string s, IFormatProvider? provider)
    {
        return Parse(s);
    }

    /// <summary>The SAN URI that names this silo in its certificate: <c>securefed://silo/&lt;id&gt;</c>.</summary>
    public Uri ToSanUri() => new(SanUriPrefix + Value, UriKind.Absolute);

    /// <inheritdoc/>
    public bool Equals(SiloId? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SiloId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc/>
    public int CompareTo(SiloId? other) => other is null ? 1 : string.CompareOrdinal(Value, other.Value);

    /// <summary>Returns the identifier text.</summary>
    public override string ToString() => Value;

    private static int Compare(SiloId left, SiloId right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return left.CompareTo(right);
    }

    // The rejected text goes into an exception message: keep it short and free of control characters.
    private static string Describe(string value)
    {
        const int Shown = 72;
        var text = value.Length > Shown ? string.Concat(value.AsSpan(0, Shown), "...") : value;
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
