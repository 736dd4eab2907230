using System.Text;

namespace SecureFed.Studies.Tests;

/// <summary>A temporary folder of real files, deleted on dispose.</summary>
internal sealed class TestFiles : IDisposable
{
    public const string ExampleStudy = """
        {
          "study": "readmission-2026",
          "label": { "column": "readmitted", "classes": ["no", "yes"] },
          "features": [
            { "column": "age", "type": "numeric" },
            { "column": "ward", "type": "categorical", "categories": ["north", "south", "east"] }
          ],
          "model": { "kind": "logreg" },
          "rounds": 30,
          "evaluation": { "holdout": 0.2 }
        }
        """;

    public TestFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "securefed-studies-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public static Study Example => Study.Parse(ExampleStudy, "example.json");

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureFed.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public string Write(string name, string text, bool bom = false)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, text, new UTF8Encoding(bom));
        return path;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
