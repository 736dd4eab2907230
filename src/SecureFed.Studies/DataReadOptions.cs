namespace SecureFed.Studies;

/// <summary>File format of a silo's data file.</summary>
public enum DataFormat
{
    /// <summary>
    /// <c>.parquet</c> files are Parquet, <c>*-idx3-ubyte</c> and <c>*-idx3-ubyte.gz</c> files are IDX images, every
    /// other file is CSV.
    /// </summary>
    Auto,

    /// <summary>Delimited text (RFC 4180), UTF-8 with or without BOM.</summary>
    Csv,

    /// <summary>Apache Parquet.</summary>
    Parquet,

    /// <summary>
    /// IDX (the MNIST format, gzip or raw): the path is the images file (magic 2051); the labels file (magic 2049) is
    /// <see cref="DataReadOptions.LabelsPath"/> or the same name with <c>images-idx3</c> replaced by <c>labels-idx1</c>.
    /// </summary>
    Idx,
}

/// <summary>How <see cref="SiloTable.Read"/> reads a file.</summary>
public sealed record DataReadOptions
{
    /// <summary>
    /// CSV separator; null detects it from the header line among <c>,</c> <c>;</c> and tab (the one that splits the
    /// header into the most fields; a tie or none is an error asking for this option).
    /// </summary>
    public char? Separator { get; init; }

    /// <summary>File format; <see cref="DataFormat.Auto"/> decides by the file name.</summary>
    public DataFormat Format { get; init; } = DataFormat.Auto;

    /// <summary>IDX only: the labels file; null finds it beside the images file (<c>images-idx3</c> becomes <c>labels-idx1</c>).</summary>
    public string? LabelsPath { get; init; }
}
