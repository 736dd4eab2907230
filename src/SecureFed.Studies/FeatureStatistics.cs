using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace SecureFed.Studies;

/// <summary>
/// The federated statistics each silo sends through secure aggregation before round 1, so the coordinator learns
/// only their sum. The vector has length <c>Study.StatisticsLength</c> and this layout:
/// <list type="number">
/// <item>[0]: row count;</item>
/// <item>then for each feature in study order: a numeric feature contributes (count of non-missing values, sum,
/// sum of squares); a categorical feature contributes (count per declared category in order..., missing count);</item>
/// <item>then the row count per label class, in class order.</item>
/// </list>
/// Every entry is additive, so the element-wise sum of the silos' vectors is the vector of the pooled rows.
/// </summary>
public static class FeatureStatistics
{
    /// <summary>The statistics vector of one silo's rows (layout in the type's remarks).</summary>
    public static double[] Local(SiloTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var study = table.Study;
        var vector = new double[study.StatisticsLength];
        vector[0] = table.RowCount;
        var offset = 1;
        for (var f = 0; f < study.Features.Count; f++)
        {
            var feature = study.Features[f];
            switch (feature.Type)
            {
                case FeatureType.Numeric:
                    for (var r = 0; r < table.RowCount; r++)
                    {
                        var x = table.NumericValue(r, f);
                        if (!double.IsNaN(x))
                        {
                            vector[offset]++;
                            vector[offset + 1] += x;
                            vector[offset + 2] += x * x;
                        }
                    }

                    offset += 3;
                    break;
                case FeatureType.Categorical:
                    var levels = feature.Categories.Count;
                    for (var r = 0; r < table.RowCount; r++)
                    {
                        var level = table.CategoryIndex(r, f);
                        vector[offset + (level < 0 ? levels : level)]++;
                    }

                    offset += levels + 1;
                    break;
                default:
                    throw new InvalidOperationException($"unknown feature type {feature.Type}");
            }
        }

        for (var c = 0; c < study.ClassCount; c++)
        {
            vector[offset + c] = table.LabelCounts[c];
        }

        return vector;
    }

    /// <summary>
    /// The largest absolute entry of a statistics vector, so a caller can refuse a vector that would overflow a
    /// fixed-point encoding bound before sending it.
    /// </summary>
    public static double MaxAbsEntry(ReadOnlySpan<double> local)
    {
        var max = 0.0;
        foreach (var x in local)
        {
            max = Math.Max(max, Math.Abs(x));
        }

        return max;
    }

    /// <exception cref="ArgumentException">Wrong length, a non-finite entry, or a negative count or sum of squares.</exception>
    /// <summary>
    /// Makes a noisy federated sum consistent before use (post-processing, which costs no privacy): counts are kept
    /// non-negative and within the row count, a numeric feature whose count rounds to zero gets no mean, and every
    /// sum of squares is at least sum²/count, so the variance is never negative. An exact sum (no differential
    /// privacy) passes through unchanged. Every silo applies the same rule, so all encode alike.
    /// </summary>
    public static double[] PostProcess(Study study, ReadOnlySpan<double> sum)
    {
        ArgumentNullException.ThrowIfNull(study);
        if (sum.Length != study.StatisticsLength)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"statistics vector has {sum.Length} entries but study {study.Name} needs {study.StatisticsLength}"), nameof(sum));
        }

        var v = sum.ToArray();
        static double Finite(double x) => double.IsFinite(x) ? x : 0;
        v[0] = Math.Max(0, Finite(v[0]));
        var offset = 1;
        foreach (var feature in study.Features)
        {
            if (feature.Type == FeatureType.Numeric)
            {
                var count = Math.Clamp(Finite(v[offset]), 0, v[0]);
                var total = Finite(v[offset + 1]);
                var squares = Math.Max(0, Finite(v[offset + 2]));
                if (count < 0.5)
                {
                    (count, total, squares) = (0, 0, 0);
                }
                else if (squares < total * total / count)
                {
                    squares = total * total / count;
                }

                (v[offset], v[offset + 1], v[offset + 2]) = (count, total, squares);
                offset += 3;
            }
            else
            {
                for (var l = 0; l <= feature.Categories.Count; l++)
                {
                    v[offset + l] = Math.Max(0, Finite(v[offset + l]));
                }

                offset += feature.Categories.Count + 1;
            }
        }

        for (var c = 0; c < study.ClassCount; c++)
        {
            v[offset + c] = Math.Max(0, Finite(v[offset + c]));
        }

        return v;
    }

    /// <summary>The global statistics of a federated sum (see the layout above); validates it.</summary>
    public static GlobalStatistics FromSum(Study study, ReadOnlySpan<double> sum)
    {
        ArgumentNullException.ThrowIfNull(study);
        if (sum.Length != study.StatisticsLength)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"statistics vector has {sum.Length} entries but study {study.Name} needs {study.StatisticsLength}"), nameof(sum));
        }

        for (var i = 0; i < sum.Length; i++)
        {
            if (!double.IsFinite(sum[i]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"statistics entry {i} is {sum[i]}, not a finite number"), nameof(sum));
            }
        }

        RequireNonNegative(sum, 0, "row count");
        var offset = 1;
        foreach (var feature in study.Features)
        {
            if (feature.Type == FeatureType.Numeric)
            {
                RequireNonNegative(sum, offset, $"non-missing count of {feature.Column}");
                RequireNonNegative(sum, offset + 2, $"sum of squares of {feature.Column}");
                offset += 3;
            }
            else
            {
                for (var l = 0; l <= feature.Categories.Count; l++)
                {
                    RequireNonNegative(sum, offset + l, $"level count of {feature.Column}");
                }

                offset += feature.Categories.Count + 1;
            }
        }

        for (var c = 0; c < study.ClassCount; c++)
        {
            RequireNonNegative(sum, offset + c, $"count of label class {study.Label.Classes[c]}");
        }

        return new GlobalStatistics(study, sum.ToArray());
    }

    /// <summary>Lowercase hex SHA-256 over the vector's entries as little-endian IEEE 754 doubles.</summary>
    public static string HashVector(ReadOnlySpan<double> vector)
    {
        var bytes = new byte[vector.Length * sizeof(double)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), vector[i]);
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static void RequireNonNegative(ReadOnlySpan<double> sum, int index, string what)
    {
        if (sum[index] < 0.0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"statistics entry {index} ({what}) is {sum[index]}, but counts and sums of squares cannot be negative"), nameof(sum));
        }
    }
}
