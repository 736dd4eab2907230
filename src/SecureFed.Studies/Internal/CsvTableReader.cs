using System.Globalization;
using System.Text;
using nietras.SeparatedValues;

namespace SecureFed.Studies.Internal;

/// <summary>Reads a delimited text file (RFC 4180 via Sep) into a <see cref="SiloTable"/>.</summary>
internal static class CsvTableReader
{
    private static readonly char[] Candidates = [',', ';', '\t'];

    public static SiloTable Read(Study study, string file, string fullPath, char? separator, bool featuresOnly = false)
    {
        var sep = separator ?? DetectSeparator(file, fullPath);
        if (sep is '"' or '\r' or '\n')
        {
            throw new ArgumentException($"separator {Name(sep)} cannot be used; choose ',', ';' or tab", nameof(separator));
        }

        // The header is read as an ordinary row (HasHeader = false) so that duplicate names the study does not use are
        // allowed, and the field count is checked here (DisableColCountCheck) so the error can name the line.
        var options = Sep.New(sep).Reader(o => o with { HasHeader = false, Unescape = true, DisableColCountCheck = true });
        using var reader = options.FromFile(fullPath);
        var lastLine = 1;
        int[]? slots = null;
        var headerCount = 0;
        TableBuilder? builder = null;
        try
        {
            foreach (var row in reader)
            {
                lastLine = row.LineNumberToExcl;
                if (slots is null)
                {
                    var names = new string[row.ColCount];
                    for (var i = 0; i < names.Length; i++)
                    {
                        names[i] = row[i].Span.Trim().TrimStart('\uFEFF').Trim().ToString();
                    }

                    if (names.Length == 1 && names[0].Length == 0)
                    {
                        throw new DataFormatException(file, 1, null, null, "the first line is empty; the file must start with a header line naming the columns");
                    }

                    headerCount = names.Length;
                    // The header is the first record, so it starts on line 1 (Sep reports its end for the first row).
                    slots = HeaderMap.Map(study, names, file, 1, rowNumbers: false, featuresOnly);
                    builder = new TableBuilder(study, file, rowNumbers: false, featuresOnly);
                    continue;
                }

                if (row.ColCount == 1 && row.Span.IsWhiteSpace())
                {
                    // A blank line (often a trailing one) carries no record.
                    continue;
                }

                if (row.ColCount != headerCount)
                {
                    throw new DataFormatException(file, row.LineNumberFrom, null, null, string.Create(CultureInfo.InvariantCulture,
                        $"the record has {row.ColCount} fields but the header has {headerCount}; quote fields that contain the separator {Name(sep)}, a quote or a newline (\"a{sep}b\"), and write a quote inside a quoted field as \"\""));
                }

                builder!.AddRow(row.LineNumberFrom, new RowCells(row, slots), static (state, slot, out isNull) =>
                {
                    isNull = false;
                    return state.Row[state.Slots[slot]].Span;
                });
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or NotSupportedException or DecoderFallbackException)
        {
            throw new DataFormatException(file, lastLine, null, null, $"cannot be read as delimited text ({ex.Message}); export the file as UTF-8 CSV");
        }

        if (builder is null)
        {
            throw new DataFormatException(file, 1, null, null, "the file is empty; it needs a header line and at least one data row");
        }

        return builder.Build(file, lastLine);
    }

    private static char DetectSeparator(string file, string fullPath)
    {
        string? header;
        using (var text = new StreamReader(fullPath, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
        {
            header = text.ReadLine();
        }

        if (header is null || header.Trim().TrimStart('\uFEFF').Length == 0)
        {
            throw new DataFormatException(file, 1, null, null, "the file is empty or starts with an empty line; it needs a header line naming the columns");
        }

        var counts = Candidates.Select(c => CountOutsideQuotes(header, c)).ToArray();
        var best = counts.Max();
        if (best == 0 || counts.Count(c => c == best) > 1)
        {
            var found = string.Join(", ", Candidates.Select((c, i) => string.Create(CultureInfo.InvariantCulture, $"{Name(c)} x{counts[i]}")));
            throw new DataFormatException(file, 1, null, TextSanitizer.Clip(header, DataFormatException.MaxValueLength), $"cannot tell the separator from the header line ({found}); give it explicitly (--separator , or ; or tab)");
        }

        return Candidates[Array.IndexOf(counts, best)];
    }

    private static int CountOutsideQuotes(string line, char separator)
    {
        var count = 0;
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == separator && !quoted)
            {
                count++;
            }
        }

        return count;
    }

    private static string Name(char c) => c == '\t' ? "tab" : $"'{c}'";

    private readonly ref struct RowCells(SepReader.Row row, int[] slots)
    {
        public SepReader.Row Row { get; } = row;

        public int[] Slots { get; } = slots;
    }
}
