using System.Globalization;

namespace SecureFed.Training.Internal;

/// <summary>
/// Strict reader for the bundled CSV shape: ASCII, '\n' (a trailing '\r' is tolerated), comma-separated, one header
/// row, no quoting, no missing values; the last column is the integer label. Every problem is reported with the file,
/// 1-based line and column. Stateless.
/// </summary>
internal static class CsvTableReader
{
    internal static TabularDataset Read(string path, string name, int classCount, float scale, int? expectedFeatureCount)
    {
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var header = reader.ReadLine();
        if (header is null)
        {
            throw new DatasetFormatException(path, 1, null, "the file is empty (expected a header row).");
        }

        var columns = TrimCr(header).Split(',');
        for (var c = 0; c < columns.Length; c++)
        {
            columns[c] = columns[c].Trim();
            if (columns[c].Length == 0)
            {
                throw new DatasetFormatException(path, 1, c + 1, "empty column name in the header.");
            }

            if (Array.IndexOf(columns, columns[c], 0, c) >= 0)
            {
                throw new DatasetFormatException(path, 1, c + 1, $"duplicate column name '{columns[c]}' in the header.");
            }
        }

        if (columns.Length < 2)
        {
            throw new DatasetFormatException(path, 1, null, $"the header has {columns.Length} column(s); need at least one feature and the label.");
        }

        var featureCount = columns.Length - 1;
        if (expectedFeatureCount is int expected && featureCount != expected)
        {
            throw new DatasetFormatException(path, 1, null, $"the header has {featureCount} feature columns plus the label; dataset '{name}' has {expected}.");
        }

        var features = new List<float>(featureCount * 1024);
        var labels = new List<int>(1024);
        var lineNumber = 1;
        string? line;
        var pendingBlank = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            line = TrimCr(line);
            if (line.Length == 0)
            {
                // Blank lines are only allowed at the very end of the file.
                pendingBlank = pendingBlank == 0 ? lineNumber : pendingBlank;
                continue;
            }

            if (pendingBlank != 0)
            {
                throw new DatasetFormatException(path, pendingBlank, null, "blank line inside the data.");
            }

            ParseRow(path, lineNumber, line, columns, scale, classCount, features, labels);
        }

        if (labels.Count == 0)
        {
            throw new DatasetFormatException(path, lineNumber, null, "no data rows after the header.");
        }

        return TabularDataset.Adopt(name, columns[..featureCount], [.. features], [.. labels], classCount);
    }

    private static void ParseRow(string path, int lineNumber, string line, string[] columns, float scale, int classCount, List<float> features, List<int> labels)
    {
        var span = line.AsSpan();
        var featureCount = columns.Length - 1;
        var column = 0;
        foreach (var range in span.Split(','))
        {
            if (column >= columns.Length)
            {
                throw new DatasetFormatException(path, lineNumber, column + 1, $"too many values: the header has {columns.Length} columns.");
            }

            var field = span[range].Trim();
            if (column < featureCount)
            {
                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !float.IsFinite(value))
                {
                    throw new DatasetFormatException(path, lineNumber, column + 1, $"'{Shorten(field)}' in column '{columns[column]}' is not a finite number.");
                }

                var scaled = value * scale;
                if (!float.IsFinite(scaled))
                {
                    throw new DatasetFormatException(path, lineNumber, column + 1, $"value in column '{columns[column]}' overflows after scaling.");
                }

                features.Add(scaled);
            }
            else
            {
                if (!int.TryParse(field, NumberStyles.Integer, CultureInfo.InvariantCulture, out var label))
                {
                    throw new DatasetFormatException(path, lineNumber, column + 1, $"label '{Shorten(field)}' in column '{columns[column]}' is not an integer.");
                }

                if (label < 0 || label >= classCount)
                {
                    throw new DatasetFormatException(path, lineNumber, column + 1, $"label {label} in column '{columns[column]}' is outside [0, {classCount}).");
                }

                labels.Add(label);
            }

            column++;
        }

        if (column != columns.Length)
        {
            throw new DatasetFormatException(path, lineNumber, null, $"{column} values, but the header has {columns.Length} columns.");
        }
    }

    private static string TrimCr(string line) => line.EndsWith('\r') ? line[..^1] : line;

    private static string Shorten(ReadOnlySpan<char> field) => field.Length <= 40 ? field.ToString() : string.Concat(field[..40], "...");
}
