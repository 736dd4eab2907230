using System.Globalization;

namespace SecureFed.Studies;

/// <summary>
/// Deterministic stratified train/holdout split of a silo's rows. A data split, not privacy randomness, so it uses
/// <see cref="Random"/> seeded with the study's evaluation seed (whose seeded sequence .NET keeps stable).
/// </summary>
public static class HoldoutSplit
{
    /// <summary>
    /// Splits rows by label: each class shuffles its rows (Fisher–Yates, one <c>Random(seed)</c> over the classes in
    /// order) and gives the first round(fraction x class size) (midpoint away from zero) to the holdout. Both index
    /// arrays keep the original row order; together they cover every row once.
    /// </summary>
    /// <param name="labels">Class index per row.</param>
    /// <param name="classCount">Number of classes; every label is in [0, classCount).</param>
    /// <param name="fraction">Holdout fraction in (0, 1).</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <exception cref="ArgumentException">Either side would be empty, or the fraction is outside (0, 1).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classCount).</exception>
    public static (int[] Train, int[] Holdout) Split(IReadOnlyList<int> labels, int classCount, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        if (!(fraction > 0.0 && fraction < 1.0))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"holdout fraction {fraction} must be strictly between 0 and 1"), nameof(fraction));
        }

        var byClass = new List<int>[classCount];
        for (var c = 0; c < classCount; c++)
        {
            byClass[c] = [];
        }

        for (var r = 0; r < labels.Count; r++)
        {
            var label = labels[r];
            if (label < 0 || label >= classCount)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), label, string.Create(CultureInfo.InvariantCulture, $"row {r} has label {label}, outside [0, {classCount})"));
            }

            byClass[label].Add(r);
        }

        var random = new Random(seed);
        var inHoldout = new bool[labels.Count];
        var holdoutCount = 0;
        foreach (var rows in byClass)
        {
            var shuffled = rows.ToArray();
            for (var i = shuffled.Length - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
            }

            var take = (int)Math.Round(fraction * shuffled.Length, MidpointRounding.AwayFromZero);
            for (var i = 0; i < take; i++)
            {
                inHoldout[shuffled[i]] = true;
            }

            holdoutCount += take;
        }

        if (holdoutCount == 0 || holdoutCount == labels.Count)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"holdout fraction {fraction} of {labels.Count} rows leaves the {(holdoutCount == 0 ? "holdout" : "training")} set empty; use more rows or another fraction"), nameof(labels));
        }

        var train = new int[labels.Count - holdoutCount];
        var holdout = new int[holdoutCount];
        int t = 0, h = 0;
        for (var r = 0; r < labels.Count; r++)
        {
            if (inHoldout[r])
            {
                holdout[h++] = r;
            }
            else
            {
                train[t++] = r;
            }
        }

        return (train, holdout);
    }
}
