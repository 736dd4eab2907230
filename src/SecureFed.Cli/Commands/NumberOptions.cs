using System.CommandLine.Parsing;
using System.Globalization;

namespace SecureFed.Cli.Commands;

/// <summary>
/// The one parser for every floating-point option of <c>securefed</c>. System.CommandLine's default parses with the
/// current culture and accepts digit grouping, so under de-DE <c>--noise-multiplier 1,5</c> became 15 (and under
/// en-US <c>1,5</c> still became 15). Here a number is written one way whatever the machine's culture: an optional
/// minus sign, digits, an optional dot and decimals, an optional exponent (<c>1.5</c>, <c>1e-5</c>, <c>-0.25</c>).
/// Commas, spaces, digit groups, NaN and infinities are refused with one line that names the option, the text and the fix.
/// </summary>
internal static class NumberOptions
{
    private const NumberStyles Invariant =
        NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    /// <summary>Use as <c>CustomParser = NumberOptions.ParseDouble</c> on an <c>Option&lt;double&gt;</c>.</summary>
    public static double ParseDouble(ArgumentResult result)
    {
        string option = result.Parent is OptionResult parent ? parent.Option.Name : "the value";
        if (result.Tokens.Count != 1)
        {
            result.AddError($"{option} needs exactly one number, e.g. {option} 1.5");
            return 0.0;
        }

        string text = result.Tokens[0].Value;
        if (TryParse(text, out double value))
        {
            return value;
        }

        result.AddError(Explain(option, text));
        return 0.0;
    }

    /// <summary>True for a finite number in the invariant form described on the type.</summary>
    public static bool TryParse(string text, out double value) =>
        double.TryParse(text, Invariant, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string Explain(string option, string text)
    {
        string shown = text.Length > 40 ? text[..40] + "..." : text;
        if (text.Contains(',', StringComparison.Ordinal))
        {
            // "1,5" is a decimal comma; "1,000" might be a thousands group. Both are refused rather than guessed.
            string withDot = text.Replace(',', '.');
            string fix = TryParse(withDot, out _) && text.Count(c => c == ',') == 1
                ? $"write {withDot} (a dot for decimals), or {text.Replace(",", "", StringComparison.Ordinal)} if the comma groups digits"
                : $"write digits without grouping, with a dot for decimals, e.g. {option} 1.5";
            return $"{option} '{shown}' is not a number here: commas are not accepted; {fix}";
        }

        if (text.Any(char.IsWhiteSpace) || text.Contains('_', StringComparison.Ordinal) || text.Contains('\'', StringComparison.Ordinal))
        {
            return $"{option} '{shown}' is not a number here: spaces, underscores and apostrophes (digit groups) are not accepted; write the digits alone, e.g. 1000 or 1.5";
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double special) && !double.IsFinite(special))
        {
            return $"{option} '{shown}' is invalid: must be a finite number, e.g. {option} 1.5";
        }

        return $"{option} '{shown}' is not a number: write it with a dot for decimals and an optional exponent, e.g. 1.5 or 1e-5";
    }
}
