using System.Globalization;
using System.Text;
using SecureFed.Studies;

namespace SecureFed.ModelExport.Tests;

/// <summary>Small studies (tabular with a categorical feature, and tiny images) and seeded data files for them.</summary>
internal static class TestData
{
    /// <summary>A tabular study: two numeric features around a categorical one, three classes; <paramref name="model"/> is its model section.</summary>
    public static string ClinicStudy(string model) => $$"""
        {
          "study": "tiny-clinic",
          "label": { "column": "outcome", "classes": ["no", "yes", "maybe, later"] },
          "features": [
            { "column": "age", "type": "numeric" },
            { "column": "ward", "type": "categorical", "categories": ["north", "south", "east"] },
            { "column": "dose", "type": "numeric" }
          ],
          "model": {{model}},
          "training": { "epochs": 1, "batch_size": 8, "learning_rate": 0.1 },
          "rounds": 2,
          "evaluation": { "holdout": 0.25 }
        }
        """;

    /// <summary>An image study of <paramref name="pixels"/> numeric pixel columns px0.. and two classes.</summary>
    public static string ImageStudy(int pixels, string model) => $$"""
        {
          "study": "tiny-images",
          "label": { "column": "digit", "classes": ["a", "b"] },
          "features": [{ "column_prefix": "px", "count": {{pixels}}, "start": 0, "type": "numeric" }],
          "model": {{model}},
          "training": { "epochs": 1, "batch_size": 8, "learning_rate": 0.1 },
          "rounds": 2,
          "evaluation": { "holdout": 0.25 }
        }
        """;

    public const string LogRegModel = """{ "kind": "logreg" }""";

    public const string MlpModel = """{ "kind": "mlp", "hidden": [6, 4], "activation": "tanh", "dropout": 0.2 }""";

    public const string CnnModel = """{ "kind": "cnn", "input_shape": [1, 4, 4], "conv": [{ "channels": 3, "kernel": 3, "padding": 1, "pool": 2 }], "dense": [5], "activation": "sigmoid", "dropout": 0.1 }""";

    /// <summary>Rows of the clinic study as CSV (header outcome,age,ward,dose), with missing ages (NA) and wards (empty).</summary>
    public static string ClinicCsv(int rows, int seed)
    {
        var random = new Random(seed);
        string[] wards = ["north", "south", "east", ""];
        string[] outcomes = ["no", "yes", "\"maybe, later\""];
        var text = new StringBuilder("outcome,age,ward,dose\n");
        for (var i = 0; i < rows; i++)
        {
            var age = random.Next(20, 80);
            var ward = wards[random.Next(wards.Length)];
            var dose = Math.Round(random.NextDouble() * 5, 2);
            var outcome = outcomes[((age / 30) + (ward == "south" ? 1 : 0) + (dose > 3 ? 1 : 0)) % 3];
            var ageText = random.NextDouble() < 0.15 ? "NA" : age.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{outcome},{ageText},{ward},{dose}\n");
        }

        return text.ToString();
    }

    /// <summary>Rows of an image study as CSV (header digit,px0..), class a brighter on the left half, some pixels missing.</summary>
    public static string ImageCsv(int pixels, int width, int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("digit," + string.Join(',', Enumerable.Range(0, pixels).Select(i => $"px{i}")) + "\n");
        for (var r = 0; r < rows; r++)
        {
            var a = random.Next(2) == 0;
            text.Append(a ? 'a' : 'b');
            for (var p = 0; p < pixels; p++)
            {
                var value = random.NextDouble() * (a && p % width < width / 2 ? 2 : 1);
                text.Append(',').Append(random.NextDouble() < 0.05 ? "" : value.ToString("F3", CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The federated statistics of one table, as if it were the only silo.</summary>
    public static GlobalStatistics StatisticsOf(SiloTable table) => FeatureStatistics.FromSum(table.Study, FeatureStatistics.Local(table));
}

/// <summary>A temporary folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("securefed-modelexport-").FullName;

    public string Write(string name, string text, Encoding? encoding = null)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text, encoding ?? new UTF8Encoding(false));
        return path;
    }

    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp folder
        }
    }
}
