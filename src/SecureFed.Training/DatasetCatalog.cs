using SecureFed.Training.Internal;

namespace SecureFed.Training;

/// <summary>
/// The datasets bundled under the repository's <c>data/</c> folder (see <c>data/README.md</c>), by name, and a
/// loader for other CSV files of the same shape (header row, comma-separated, no quoting, label = last column,
/// an integer class). Thread-safe (stateless).
/// </summary>
public static class DatasetCatalog
{
    /// <summary>Wisconsin diagnostic breast cancer: 569 rows, 30 features, 2 classes (1 = malignant).</summary>
    public const string BreastCancer = "breast-cancer";

    /// <summary>German credit (numeric, one-hot encoded): 1000 rows, 63 features, 2 classes (1 = bad).</summary>
    public const string GermanCredit = "german-credit";

    /// <summary>UCI optical digits 8x8: 1797 rows, 64 features (pixel intensities scaled from 0..16 to 0..1), 10 classes.</summary>
    public const string Digits = "digits";

    private static readonly DatasetInfo[] Known =
    [
        new(BreastCancer, Path.Combine("breast_cancer", "breast_cancer.csv"), FeatureCount: 30, ClassCount: 2, Scale: 1f),
        new(GermanCredit, Path.Combine("german_credit", "german_credit_numeric.csv"), FeatureCount: 63, ClassCount: 2, Scale: 1f),
        new(Digits, Path.Combine("digits", "digits.csv"), FeatureCount: 64, ClassCount: 10, Scale: 1f / 16f),
    ];

    /// <summary>The names <see cref="Load(string, string)"/> accepts.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = Array.AsReadOnly(Known.Select(k => k.Name).ToArray());

    /// <summary>Loads a bundled dataset by name from <paramref name="dataDirectory"/> (the <c>data/</c> folder).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    /// <exception cref="FileNotFoundException">The file is missing; the message says where it looked.</exception>
    /// <exception cref="DatasetFormatException">A malformed header or row (file, line, column).</exception>
    public static TabularDataset Load(string name, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        var info = Known.FirstOrDefault(k => string.Equals(k.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown dataset '{name}'. Known datasets: {string.Join(", ", KnownNames)}.", nameof(name));
        var path = Path.GetFullPath(Path.Combine(dataDirectory, info.RelativePath));
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Dataset '{info.Name}' not found: looked for {path} (data directory {Path.GetFullPath(dataDirectory)}).", path);
        }

        return CsvTableReader.Read(path, info.Name, info.ClassCount, info.Scale, info.FeatureCount);
    }

    /// <summary>Loads a bundled dataset from the data folder found by <see cref="FindDataDirectory"/>.</summary>
    public static TabularDataset Load(string name) => Load(name, FindDataDirectory());

    /// <summary>
    /// Loads any CSV of the bundled shape: a header row, comma-separated numbers without quoting, the last column an
    /// integer label in [0, <paramref name="classCount"/>); features are multiplied by <paramref name="featureScale"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="DatasetFormatException">A malformed header or row (file, line, column).</exception>
    public static TabularDataset LoadCsv(string path, string name, int classCount, float featureScale = 1f)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        if (!float.IsFinite(featureScale) || featureScale == 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(featureScale), featureScale, "The feature scale must be finite and non-zero.");
        }

        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"Dataset file not found: {full}.", full);
        }

        return CsvTableReader.Read(full, name, classCount, featureScale, expectedFeatureCount: null);
    }

    /// <summary>
    /// Finds the repository's <c>data/</c> folder: walks up from <see cref="AppContext.BaseDirectory"/>, then from the
    /// current directory, and returns the first <c>data</c> folder that contains <c>breast_cancer/breast_cancer.csv</c>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">None found; the message names the starting folders.</exception>
    public static string FindDataDirectory()
    {
        var starts = new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() };
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "data");
                if (File.Exists(Path.Combine(candidate, Known[0].RelativePath)))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException(
            $"No data folder containing {Known[0].RelativePath} found in {string.Join(" or ", starts)} or any parent folder. " +
            "Pass the data directory explicitly.");
    }

    private sealed record DatasetInfo(string Name, string RelativePath, int FeatureCount, int ClassCount, float Scale);
}
