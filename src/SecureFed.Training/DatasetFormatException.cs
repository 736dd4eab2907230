namespace SecureFed.Training;

/// <summary>
/// A dataset file is malformed. <see cref="Exception.Message"/> names the file, the 1-based line and, where one
/// is at fault, the 1-based column and its header name.
/// </summary>
public sealed class DatasetFormatException : FormatException
{
    /// <summary>Creates the exception with a message only.</summary>
    public DatasetFormatException()
        : this("The dataset file is malformed.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public DatasetFormatException(string message)
        : base(message)
    {
        FilePath = string.Empty;
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public DatasetFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = string.Empty;
    }

    /// <summary>Creates the exception for a location in a file.</summary>
    /// <param name="filePath">The file.</param>
    /// <param name="lineNumber">1-based line (the header is line 1).</param>
    /// <param name="column">1-based column, or null when the whole line is at fault.</param>
    /// <param name="problem">What is wrong.</param>
    public DatasetFormatException(string filePath, int lineNumber, int? column, string problem)
        : base(Format(filePath, lineNumber, column, problem))
    {
        FilePath = filePath;
        LineNumber = lineNumber;
        Column = column;
    }

    /// <summary>The file at fault (empty when not known).</summary>
    public string FilePath { get; }

    /// <summary>1-based line number (0 when not known).</summary>
    public int LineNumber { get; }

    /// <summary>1-based column, or null when the whole line is at fault.</summary>
    public int? Column { get; }

    private static string Format(string filePath, int lineNumber, int? column, string problem) =>
        column is int c
            ? $"{filePath}: line {lineNumber}, column {c}: {problem}"
            : $"{filePath}: line {lineNumber}: {problem}";
}
