using System.Globalization;

namespace SecureFed.Identity;

/// <summary>
/// The one sanitizer for text a peer sent (a refusal reason, a federation id, a claimed silo id): such text is
/// untrusted, so before it reaches a log line, a gRPC status or a stored row it is made one bounded, printable line.
/// Control characters (C0, C1, so CR/LF and tabs), Unicode format characters (bidirectional overrides, zero-width
/// characters), line and paragraph separators and lone surrogates become spaces, and text longer than the limit is
/// cut to the limit with a trailing "..." (never inside a surrogate pair). Pure and thread-safe.
/// </summary>
public static class PeerText
{
    /// <summary>The default length limit, in UTF-16 code units (the ledger's abort reason uses the same).</summary>
    public const int DefaultMaxLength = 300;

    /// <summary>
    /// <paramref name="text"/> as one printable line of at most <paramref name="maxLength"/> characters; null becomes
    /// the empty string. Text that needs no change is returned as is.
    /// </summary>
    public static string Bound(string? text, int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 4);
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        // Looking at no more than the limit (plus one pair) keeps the cost bounded however much a peer sent.
        var take = Math.Min(text.Length, maxLength + 1);
        var chars = new char[take];
        var changed = take < text.Length;
        for (var i = 0; i < take; i++)
        {
            var ch = text[i];
            var pair = char.IsHighSurrogate(ch) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (pair && i + 1 < take)
            {
                chars[i] = ch;
                chars[++i] = text[i];
                continue;
            }

            if (pair || !Printable(ch))
            {
                // A pair cut by the window is dropped below anyway; anything else unprintable becomes a space.
                chars[i] = ' ';
                changed = true;
                continue;
            }

            chars[i] = ch;
        }

        if (!changed && take <= maxLength)
        {
            return text;
        }

        if (take <= maxLength)
        {
            return new string(chars);
        }

        var cut = maxLength - 3;
        if (char.IsLowSurrogate(chars[cut]) && char.IsHighSurrogate(chars[cut - 1]))
        {
            cut--;
        }

        return string.Concat(chars.AsSpan(0, cut), "...");
    }

    private static bool Printable(char ch) => CharUnicodeInfo.GetUnicodeCategory(ch) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned => false,
        _ => true,
    };
}
