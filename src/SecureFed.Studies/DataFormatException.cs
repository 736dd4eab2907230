using System.Globalization;
using SecureFed.Studies.Internal;

namespace SecureFed.Studies;

/// <summary>
/// A silo's data file does not fit its study. The message is one line naming the file, the line (CSV: the 1-based
/// physical line where the record starts) or row (Parquet: the 1-based row number), the column, the value and the fix.
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Longest <see cref="Value"/> kept, in characters.</summary>
    public const int MaxValueLength = 40;

    /// <summary>Creates the exception from its parts; the message joins them into one line.</summary>
    /// <param name="file">The data file.</param>
    /// <param name="line">1-based physical line (CSV) or row number (Parquet, with <paramref name="isRowNumber"/>).</param>
    /// <param name="column">The column concerned, or null.</param>
    /// <param name="value">The offending cell text, or null; cut to <see cref="MaxValueLength"/> characters, control characters replaced.</param>
    /// <param name="problem">What is wrong and how to fix it.</param>
    /// <param name="isRowNumber">True when <paramref name="line"/> is a Parquet row number rather than a text line.</param>
    public DataFormatException(string file, int line, string? column, string? value, string problem, bool isRowNumber = false)
        : base(Compose(file, line, column, value is null ? null : TextSanitizer.Clip(value, MaxValueLength), problem, isRowNumber))
    {
        File = file;
        Line = line;
        Column = column;
        Value = value is null ? null : TextSanitizer.Clip(value, MaxValueLength);
        IsRowNumber = isRowNumber;
    }

    /// <summary>Creates the exception with a plain message.</summary>
    public DataFormatException()
        : this("data", 0, null, null, "invalid data")
    {
    }

    /// <summary>Creates the exception with a plain message.</summary>
    public DataFormatException(string message)
        : base(message)
    {
        File = string.Empty;
    }

    /// <summary>Creates the exception with a plain message and an inner exception.</summary>
    public DataFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
    }

    /// <summary>The data file.</summary>
    public string File { get; }

    /// <summary>1-based physical line where the record starts (CSV), or the 1-based row number (Parquet).</summary>
    public int Line { get; }

    /// <summary>True when <see cref="Line"/> is a Parquet row number.</summary>
    public bool IsRowNumber { get; }

    /// <summary>The column concerned, or null when the problem is not about one column.</summary>
    public string? Column { get; }

    /// <summary>The offending cell text (at most 40 characters, control characters replaced), or null.</summary>
    public string? Value { get; }

    private static string Compose(string file, int line, string? column, string? value, string problem, bool isRowNumber)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{file}: {(isRowNumber ? "row" : "line")} {line}");
        if (column is not null)
        {
            text += $", column \"{TextSanitizer.Clip(column, MaxValueLength)}\"";
        }

        if (value is not null)
        {
            text += $", value \"{value}\"";
        }

        return $"{text}: {problem}";
    }
}
