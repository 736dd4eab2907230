namespace SecureFed.Deployment.Tests;

/// <summary>Finds the repository from the test assembly's folder.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The repository root: the nearest folder above the test assembly with data/breast_cancer/breast_cancer.csv.</summary>
    public static string Root => LazyRoot.Value;

    public static string Data => Path.Combine(Root, "data");

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "data", "breast_cancer", "breast_cancer.csv")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} holds data/breast_cancer/breast_cancer.csv");
    }
}
