using System.Globalization;
using System.Numerics;
using Parquet;
using Parquet.Schema;

namespace SecureFed.Studies.Internal;

/// <summary>
/// Reads a Parquet file into a <see cref="SiloTable"/>: numeric columns of any numeric physical type, string (or
/// numeric, converted to invariant text) columns for labels and categories; nulls are missing. Errors name the
/// 1-based row.
/// </summary>
internal static class ParquetTableReader
{
    public static SiloTable Read(Study study, string file, string fullPath, bool featuresOnly = false) =>
        ReadAsync(study, file, fullPath, featuresOnly).AsTask().GetAwaiter().GetResult();

    private static async ValueTask<SiloTable> ReadAsync(Study study, string file, string fullPath, bool featuresOnly)
    {
        if (new FileInfo(fullPath).Length == 0)
        {
            throw new DataFormatException(file, 1, null, null, "the file is empty; export the table as Parquet", isRowNumber: true);
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(fullPath).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ParquetException or InvalidDataException or NotSupportedException)
        {
            throw new DataFormatException(file, 1, null, null, $"is not a readable Parquet file ({ex.Message}); export it again, or name a CSV file", isRowNumber: true);
        }

        await using (reader.ConfigureAwait(false))
        {
            var fields = reader.Schema.Fields.OfType<DataField>().ToList();
            var names = fields.Select(f => f.Name.Trim()).ToList();
            var slots = HeaderMap.Map(study, names, file, 1, rowNumbers: true, featuresOnly);
            var builder = new TableBuilder(study, file, rowNumbers: true, featuresOnly);
            // Slot -1 (features only: no label) reads no column.
            var slotFields = slots.Select(i => i < 0 ? null : fields[i]).ToArray();
            var kinds = new FeatureType?[slots.Length];
            for (var s = 1; s < slots.Length; s++)
            {
                kinds[s] = study.Features[s - 1].Type;
            }

            var rowBase = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var count = checked((int)group.RowCount);
                var columns = new string?[slots.Length][];
                for (var s = 0; s < slots.Length; s++)
                {
                    var column = s == 0 ? study.Label.Column : study.Features[s - 1].Column;
                    columns[s] = slotFields[s] is null ? [] : await ReadColumnAsync(group, slotFields[s]!, count, kinds[s] == FeatureType.Numeric, file, column, rowBase).ConfigureAwait(false);
                }

                for (var r = 0; r < count; r++)
                {
                    builder.AddRow(rowBase + r + 1, new Cells(columns, r), static (state, slot, out isNull) =>
                    {
                        var text = state.Columns[slot][state.Row];
                        isNull = text is null;
                        return text;
                    });
                }

                rowBase += count;
            }

            return builder.Build(file, rowBase + 1);
        }
    }

    /// <summary>
    /// The column's cells as invariant text (null for a null cell). Numbers keep their shortest round-trip form, so
    /// the numeric parse afterwards is exact and a numeric label 1 matches the class "1".
    /// </summary>
    private static async ValueTask<string?[]> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int count, bool numeric, string file, string column, int rowBase)
    {
        if (field.IsArray || field.MaxRepetitionLevel > 0)
        {
            throw new DataFormatException(file, rowBase + 1, column, null, "is a repeated (list) column; give one value per row", isRowNumber: true);
        }

        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            // Text in a numeric column is parsed like a CSV cell, with the same refusals ("1,5", "NaN").
            var values = new string?[count];
            await group.ReadAsync(field, values.AsMemory(), null).ConfigureAwait(false);
            return values;
        }

        return type switch
        {
            _ when type == typeof(double) => await Numbers<double>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(float) => await Numbers<float>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(decimal) => await Numbers<decimal>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(long) => await Numbers<long>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(int) => await Numbers<int>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(short) => await Numbers<short>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(sbyte) => await Numbers<sbyte>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(ulong) => await Numbers<ulong>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(uint) => await Numbers<uint>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(ushort) => await Numbers<ushort>(group, field, count).ConfigureAwait(false),
            _ when type == typeof(byte) => await Numbers<byte>(group, field, count).ConfigureAwait(false),
            _ => throw new DataFormatException(file, rowBase + 1, column, null,
                $"has Parquet type {type.Name}, which this study cannot use; store {(numeric ? "numbers" : "text or integers")} in this column", isRowNumber: true),
        };
    }

    private static async ValueTask<string?[]> Numbers<T>(ParquetRowGroupReader group, DataField field, int count)
        where T : struct, INumberBase<T>
    {
        var values = new T?[count];
        await group.ReadAsync(field, values.AsMemory(), null).ConfigureAwait(false);
        return [.. values.Select(v => v is { } x ? x.ToString(null, CultureInfo.InvariantCulture) : null)];
    }

    private readonly struct Cells(string?[][] columns, int row)
    {
        public string?[][] Columns { get; } = columns;

        public int Row { get; } = row;
    }
}
