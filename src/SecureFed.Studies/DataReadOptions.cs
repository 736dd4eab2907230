namespace SecureFed.Studies;

/// <summary>File format of a silo's data file.</summary>
public enum DataFormat
{
    /// <summary><c>.parquet</c> files are Parquet, every other file is CSV.</summary>
    Auto,

    /// <summary>Delimited text (RFC 4180), UTF-8 with or without BOM.</summary>
    Csv,

    /// <summary>Apache Parquet.</summary>
    Parquet,
}

/// <summary>How <see cref="SiloTable.Read"/> reads a file.</summary>
public sealed record DataReadOptions
{
    /// <summary>
    /// CSV separator; null detects it from the header line among <c>,</c> <c>;</c> and tab (the one that splits the
    /// header into the most fields; a tie or none is an error asking for this option).
    /// </summary>
    public char? Separator { get; init; }

    /// <summary>File format; <see cref="DataFormat.Auto"/> decides by the file extension.</summary>
    public DataFormat Format { get; init; } = DataFormat.Auto;
}
