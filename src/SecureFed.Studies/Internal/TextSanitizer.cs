namespace SecureFed.Studies.Internal;

/// <summary>Makes untrusted cell or document text safe to echo in a one-line message.</summary>
internal static class TextSanitizer
{
    /// <summary>At most <paramref name="max"/> characters, each control character replaced by '?'.</summary>
    public static string Clip(string value, int max)
    {
        var span = value.AsSpan(0, Math.Min(value.Length, max));
        return string.Create(span.Length, value, (chars, source) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                var c = source[i];
                chars[i] = char.IsControl(c) ? '?' : c;
            }
        });
    }
}
