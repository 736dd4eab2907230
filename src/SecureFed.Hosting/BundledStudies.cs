using SecureFed.Studies;
using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>
/// The bundled datasets as studies (each <c>data/&lt;folder&gt;/study.json</c> beside its file), so the demo runs the
/// same path as a real study, and the simulation's split of one file over N silos. Thread-safe (stateless).
/// </summary>
public static class BundledStudies
{
    /// <summary>
    /// Fashion-MNIST: the bundled file is the 10,000-image test split (IDX, its labels file beside it); the 60,000
    /// training images come from the Debian package <c>dataset-fashion-mnist</c> (<see cref="FashionMnistTrainDirectory"/>).
    /// </summary>
    public const string FashionMnist = "fashion-mnist";

    /// <summary>Where <c>apt-get install dataset-fashion-mnist</c> puts the Fashion-MNIST IDX files.</summary>
    public const string FashionMnistTrainDirectory = "/usr/share/datasets/fashion-mnist";

    private static readonly (string Name, string Folder, string File)[] Known =
    [
        (DatasetCatalog.BreastCancer, "breast_cancer", "breast_cancer.csv"),
        (DatasetCatalog.GermanCredit, "german_credit", "german_credit.csv"),
        (DatasetCatalog.Digits, "digits", "digits.csv"),
        (FashionMnist, "fashion_mnist", "t10k-images-idx3-ubyte.gz"),
    ];

    /// <summary>The bundled dataset names <see cref="Locate"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Known.Select(k => k.Name).ToArray());

    /// <summary>The study file and data file of a bundled dataset.</summary>
    /// <exception cref="ArgumentException">Unknown dataset; the message lists the known ones.</exception>
    public static (string StudyPath, string DataPath) Locate(string dataset, string? dataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var known = Known.FirstOrDefault(k => string.Equals(k.Name, dataset.Trim(), StringComparison.OrdinalIgnoreCase));
        if (known.Name is null)
        {
            throw new ArgumentException($"unknown dataset '{dataset}'; bundled: {string.Join(", ", Known.Select(k => k.Name))}");
        }

        var directory = dataDirectory ?? DatasetCatalog.FindDataDirectory();
        return (Path.Combine(directory, known.Folder, "study.json"), Path.Combine(directory, known.Folder, known.File));
    }

    /// <summary>
    /// Splits a table over <paramref name="silos"/> silos by <paramref name="partition"/> (iid, label-skew:ALPHA, or
    /// feature:NAME for a numeric feature of the study), deterministic for the seed (<see cref="Partitioner"/>).
    /// </summary>
    public static IReadOnlyList<SiloTable> Split(SiloTable table, int silos, string partition, int seed)
    {
        ArgumentNullException.ThrowIfNull(table);
        var study = table.Study;
        var spec = PartitionSpec.Parse(partition);

        // The partitioner reads the labels and, for feature:NAME, that one column: copy only what it reads (a
        // 60,000 x 784 image table would otherwise be copied once more just to be split).
        var numeric = Enumerable.Range(0, study.Features.Count).Where(f => study.Features[f].Type == FeatureType.Numeric).ToArray();
        if (spec.Kind != PartitionKind.Feature)
        {
            numeric = [];
        }
        else if (study.FeatureIndex(spec.FeatureName!) is var named and >= 0 && numeric.Contains(named))
        {
            numeric = [named];
        }

        var names = numeric.Length > 0 ? numeric.Select(f => study.Features[f].Column).ToArray() : ["(row)"];
        var features = new float[table.RowCount * names.Length];
        for (var r = 0; r < table.RowCount; r++)
        {
            for (var j = 0; j < numeric.Length; j++)
            {
                var v = table.NumericValue(r, numeric[j]);
                features[(r * names.Length) + j] = double.IsFinite(v) ? (float)v : 0f;
            }
        }

        var view = new TabularDataset(study.Name, names, features, [.. table.Labels], study.ClassCount);
        var rows = Partitioner.PartitionRows(view, silos, spec, seed);
        return [.. rows.Select(r => table.Subset(r))];
    }
}
