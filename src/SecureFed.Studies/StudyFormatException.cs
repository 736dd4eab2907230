namespace SecureFed.Studies;

/// <summary>
/// A study document is malformed. The message is one line naming the file, the key path (for example
/// <c>features[2].categories</c>) and the fix.
/// </summary>
public sealed class StudyFormatException : FormatException
{
    /// <summary>Creates the exception from its parts; the message joins them into one line.</summary>
    /// <param name="source">The file (or other source) of the study document.</param>
    /// <param name="keyPath">The key path of the offending value, empty for the document itself.</param>
    /// <param name="problem">What is wrong and how to fix it.</param>
    public StudyFormatException(string source, string keyPath, string problem)
        : base(Compose(source, keyPath, problem))
    {
        File = source;
        KeyPath = keyPath;
    }

    /// <summary>Creates the exception with a plain message.</summary>
    public StudyFormatException()
        : this("study", string.Empty, "invalid study")
    {
    }

    /// <summary>Creates the exception with a plain message.</summary>
    public StudyFormatException(string message)
        : base(message)
    {
        File = string.Empty;
        KeyPath = string.Empty;
    }

    /// <summary>Creates the exception with a plain message and an inner exception.</summary>
    public StudyFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        KeyPath = string.Empty;
    }

    /// <summary>The file (or other source name) of the study document.</summary>
    public string File { get; }

    /// <summary>The key path of the offending value, empty when the problem is the document as a whole.</summary>
    public string KeyPath { get; }

    private static string Compose(string source, string keyPath, string problem) =>
        keyPath.Length == 0 ? $"{source}: {problem}" : $"{source}: {keyPath}: {problem}";
}
