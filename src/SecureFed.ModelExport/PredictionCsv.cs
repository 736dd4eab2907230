using System.Globalization;

namespace SecureFed.ModelExport;

/// <summary>
/// Writes predictions as CSV (RFC 4180, comma, LF): a header <c>prediction,p_&lt;class&gt;...</c>, then one line per
/// input row in order: the most probable class's name, then each class's probability in invariant round-trip form.
/// </summary>
public static class PredictionCsv
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="writer"/>.</summary>
    public static void Write(TextWriter writer, PredictionResult result)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        writer.Write("prediction");
        foreach (var c in result.Classes)
        {
            writer.Write(',');
            writer.Write(Field("p_" + c));
        }

        writer.Write('\n');
        var classes = result.Classes.Count;
        for (var r = 0; r < result.Rows; r++)
        {
            writer.Write(Field(result.Predicted(r)));
            for (var c = 0; c < classes; c++)
            {
                writer.Write(',');
                writer.Write(result.Probabilities[(r * classes) + c].ToString("R", CultureInfo.InvariantCulture));
            }

            writer.Write('\n');
        }
    }

    /// <summary>A field, quoted when it holds a comma, a quote, a line break or surrounding spaces.</summary>
    private static string Field(string text) =>
        text.AsSpan().IndexOfAny(",\"\r\n") >= 0 || (text.Length > 0 && (char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1])))
            ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : text;
}
