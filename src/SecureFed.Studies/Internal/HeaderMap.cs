using System.Globalization;

namespace SecureFed.Studies.Internal;

/// <summary>Finds the study's columns in a header by exact name (after trimming), in any order.</summary>
internal static class HeaderMap
{
    /// <summary>Field index per slot: 0 = label, 1 + i = feature i; with <paramref name="featuresOnly"/> slot 0 is -1 (a label column, if any, is ignored).</summary>
    public static int[] Map(Study study, IReadOnlyList<string> names, string file, int line, bool rowNumbers, bool featuresOnly = false)
    {
        var positions = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            if (!positions.TryGetValue(names[i], out var list))
            {
                positions[names[i]] = list = [];
            }

            list.Add(i);
        }

        var slots = new int[study.Features.Count + 1];
        slots[0] = featuresOnly ? -1 : Find(study.Label.Column, "label column");
        for (var f = 0; f < study.Features.Count; f++)
        {
            slots[f + 1] = Find(study.Features[f].Column, "feature column");
        }

        return slots;

        int Find(string column, string what)
        {
            if (!positions.TryGetValue(column, out var found))
            {
                throw new DataFormatException(file, line, column, null,
                    $"the {what} \"{column}\" is not in the header (found {TableBuilder.List(names)}); rename the column in the file or fix the study");
            }

            if (found.Count > 1)
            {
                throw new DataFormatException(file, line, column, null, string.Create(CultureInfo.InvariantCulture,
                    $"the header names \"{column}\" {found.Count} times (fields {string.Join(", ", found.Select(i => i + 1))}); keep one column of that name"));
            }

            return found[0];
        }
    }
}
