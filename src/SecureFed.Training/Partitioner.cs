using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>
/// Splits a dataset over silos for simulations. Every partition is disjoint and covering (each row lands in exactly
/// one silo) and deterministic for a seed; rows keep their original order within a silo. Thread-safe (stateless).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="PartitionKind.Iid"/>: a seeded shuffle dealt into contiguous parts whose sizes differ by at most one.</item>
/// <item><see cref="PartitionKind.LabelSkew"/>: for each class, proportions p ~ Dirichlet(alpha, ..., alpha) over the
/// silos and the class's (shuffled) rows cut accordingly (Hsu, Qi and Brown 2019; the NIID-Bench recipe of Li et al. 2022).
/// If a silo ends up with fewer than <see cref="PartitionSpec.MinRowsPerSilo"/> rows, the whole draw is repeated (up to
/// <see cref="MaxLabelSkewDraws"/> times, as NIID-Bench does); if no draw satisfies the minimum, the draw with the largest
/// smallest silo is repaired by moving rows one at a time from the currently largest silo (its most frequent class
/// there) to each short silo. Repair keeps the skew: short silos receive rows of the donors' dominant classes.</item>
/// <item><see cref="PartitionKind.Feature"/>: rows sorted by the feature's value (ties by row index) and cut into equal-count
/// contiguous ranges, so silo i holds values no larger than silo i+1's. The seed is not used.</item>
/// </list>
/// </remarks>
public static class Partitioner
{
    /// <summary>How many Dirichlet draws label skew tries before repairing the best one.</summary>
    public const int MaxLabelSkewDraws = 100;

    /// <summary>Splits <paramref name="dataset"/> into <paramref name="silos"/> parts named <c>&lt;name&gt;/silo-&lt;i&gt;</c> (1-based).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 1 silo, or more silos than the minimum rows per silo allows.</exception>
    /// <exception cref="ArgumentException">A feature split names a feature the dataset lacks.</exception>
    public static IReadOnlyList<TabularDataset> Partition(TabularDataset dataset, int silos, PartitionSpec spec, int seed)
    {
        var parts = PartitionRows(dataset, silos, spec, seed);
        var result = new TabularDataset[silos];
        for (var s = 0; s < silos; s++)
        {
            result[s] = dataset.Subset(parts[s], $"{dataset.Name}/silo-{s + 1}");
        }

        return result;
    }

    /// <summary>
    /// The rows of each silo, ascending, as <see cref="Partition"/> splits them (so a caller can split another view of
    /// the same rows, for example a raw table under a study).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 1 silo, or more silos than the minimum rows per silo allows.</exception>
    /// <exception cref="ArgumentException">A feature split names a feature the dataset lacks.</exception>
    public static IReadOnlyList<int[]> PartitionRows(TabularDataset dataset, int silos, PartitionSpec spec, int seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfLessThan(silos, 1);
        if ((long)silos * spec.MinRowsPerSilo > dataset.RowCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(silos), silos,
                $"Cannot give {silos} silos at least {spec.MinRowsPerSilo} row(s) each from the {dataset.RowCount} rows of '{dataset.Name}'.");
        }

        List<int>[] parts = spec.Kind switch
        {
            PartitionKind.Iid => Iid(dataset.RowCount, silos, new Random(seed)),
            PartitionKind.LabelSkew => LabelSkew(dataset, silos, spec.Alpha, spec.MinRowsPerSilo, new Random(seed)),
            PartitionKind.Feature => ByFeature(dataset, silos, dataset.FeatureIndex(spec.FeatureName!)),
            _ => throw new InvalidOperationException($"Unhandled partition kind {spec.Kind}."),
        };

        var result = new int[silos][];
        for (var s = 0; s < silos; s++)
        {
            parts[s].Sort();
            result[s] = [.. parts[s]];
        }

        return result;
    }

    private static List<int>[] Iid(int rows, int silos, Random random)
    {
        var order = Enumerable.Range(0, rows).ToArray();
        Sampling.Shuffle(order.AsSpan(), random);
        return Cut(order, silos);
    }

    private static List<int>[] ByFeature(TabularDataset dataset, int silos, int column)
    {
        var features = dataset.RawFeatures;
        var cols = dataset.FeatureCount;
        var order = Enumerable.Range(0, dataset.RowCount)
            .OrderBy(r => features[(r * cols) + column])
            .ThenBy(r => r)
            .ToArray();
        return Cut(order, silos);
    }

    /// <summary>Contiguous pieces of <paramref name="order"/> whose sizes differ by at most one (larger ones first).</summary>
    private static List<int>[] Cut(int[] order, int silos)
    {
        var parts = new List<int>[silos];
        var start = 0;
        for (var s = 0; s < silos; s++)
        {
            var size = (order.Length / silos) + (s < order.Length % silos ? 1 : 0);
            parts[s] = new List<int>(order.AsSpan(start, size).ToArray());
            start += size;
        }

        return parts;
    }

    private static List<int>[] LabelSkew(TabularDataset dataset, int silos, double alpha, int minRows, Random random)
    {
        var labels = dataset.RawLabels;
        var byClass = Enumerable.Range(0, dataset.ClassCount)
            .Select(c => Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToArray())
            .ToArray();

        List<int>[]? best = null;
        var bestMin = -1;
        for (var draw = 0; draw < MaxLabelSkewDraws; draw++)
        {
            var parts = DrawLabelSkew(byClass, silos, alpha, random);
            var smallest = parts.Min(p => p.Count);
            if (smallest >= minRows)
            {
                return parts;
            }

            if (smallest > bestMin)
            {
                bestMin = smallest;
                best = parts;
            }
        }

        Repair(best!, labels, dataset.ClassCount, minRows);
        return best!;
    }

    private static List<int>[] DrawLabelSkew(int[][] byClass, int silos, double alpha, Random random)
    {
        var parts = Enumerable.Range(0, silos).Select(_ => new List<int>()).ToArray();
        foreach (var members in byClass)
        {
            var shuffled = (int[])members.Clone();
            Sampling.Shuffle(shuffled.AsSpan(), random);
            var p = Sampling.SymmetricDirichlet(silos, alpha, random);
            var cumulative = 0.0;
            var start = 0;
            for (var s = 0; s < silos; s++)
            {
                cumulative += p[s];
                var end = s == silos - 1 ? shuffled.Length : Math.Min(shuffled.Length, (int)Math.Round(cumulative * shuffled.Length));
                end = Math.Max(end, start);
                parts[s].AddRange(shuffled.AsSpan(start, end - start));
                start = end;
            }
        }

        return parts;
    }

    /// <summary>Moves rows from the largest silo to each silo below <paramref name="minRows"/> until none is.</summary>
    private static void Repair(List<int>[] parts, int[] labels, int classCount, int minRows)
    {
        while (true)
        {
            var shortSilo = Array.FindIndex(parts, p => p.Count < minRows);
            if (shortSilo < 0)
            {
                return;
            }

            var donor = 0;
            for (var s = 1; s < parts.Length; s++)
            {
                if (parts[s].Count > parts[donor].Count)
                {
                    donor = s;
                }
            }

            // The caller checked silos * minRows <= rows, so a short silo implies a donor above the minimum.
            var counts = new int[classCount];
            foreach (var row in parts[donor])
            {
                counts[labels[row]]++;
            }

            var dominant = Array.IndexOf(counts, counts.Max());
            var at = parts[donor].FindLastIndex(r => labels[r] == dominant);
            parts[shortSilo].Add(parts[donor][at]);
            parts[donor].RemoveAt(at);
        }
    }
}
