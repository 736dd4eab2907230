namespace SecureFed.Deployment.Tests;

/// <summary>The Dockerfile and .dockerignore, read as text (images cannot be built here).</summary>
public sealed class DockerfileTests
{
    private static readonly string[] Lines = Instructions(RepoPaths.File("Dockerfile"));

    [Fact]
    public void Builds_with_the_sdk_and_runs_on_the_aspnet_runtime()
    {
        var froms = Lines.Where(l => Is(l, "FROM")).ToList();
        Assert.True(froms.Count >= 2, "multi-stage: at least two FROM");
        Assert.Contains("mcr.microsoft.com/dotnet/sdk:", froms[0], StringComparison.Ordinal);
        Assert.Contains(" AS build", froms[0], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("mcr.microsoft.com/dotnet/aspnet:", froms[^1], StringComparison.Ordinal);
        Assert.Contains(Lines, l => Is(l, "COPY") && l.Contains("--from=build", StringComparison.Ordinal));
        Assert.Contains(Lines, l => Is(l, "RUN") && l.Contains("dotnet publish src/SecureFed.Cli/SecureFed.Cli.csproj", StringComparison.Ordinal)
            && l.Contains("-r linux-x64", StringComparison.Ordinal) && l.Contains("-c Release", StringComparison.Ordinal));
    }

    [Fact]
    public void Runs_as_a_non_root_user_with_state_in_a_volume()
    {
        var final = FinalStage();
        var user = Assert.Single(final, l => Is(l, "USER"));
        var id = user["USER".Length..].Trim().Split(':')[0];
        Assert.Equal("10001", id);
        Assert.Contains(final, l => Is(l, "VOLUME") && l.Contains("/var/lib/securefed", StringComparison.Ordinal));
        Assert.Contains(final, l => Is(l, "RUN") && l.Contains("chown 10001:10001 /var/lib/securefed", StringComparison.Ordinal));
        // USER comes after every RUN of the final stage: nothing runs as root at run time.
        Assert.True(final.FindLastIndex(l => Is(l, "RUN")) < final.FindIndex(l => Is(l, "USER")));
    }

    [Fact]
    public void The_entrypoint_is_securefed()
    {
        var entry = Assert.Single(FinalStage(), l => Is(l, "ENTRYPOINT"));
        Assert.Equal("ENTRYPOINT [\"securefed\"]", entry);
    }

    [Fact]
    public void The_build_context_excludes_build_output_run_state_and_keys()
    {
        var ignored = System.IO.File.ReadAllLines(RepoPaths.File(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var pattern in new[] { "**/bin/", "**/obj/", "runs/", "certs-dev/", "**/*.key.pem" })
        {
            Assert.Contains(pattern, ignored);
        }

        // Everything the build stage copies is still in the context.
        foreach (var copy in FirstStage().Where(l => Is(l, "COPY")))
        {
            foreach (var source in copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            {
                Assert.True(System.IO.File.Exists(RepoPaths.File(source)) || Directory.Exists(RepoPaths.File(source)), source);
                Assert.DoesNotContain(source.TrimEnd('/') + "/", ignored);
            }
        }
    }

    private static List<string> FinalStage() => Lines.Skip(Array.FindLastIndex(Lines, l => Is(l, "FROM"))).ToList();

    private static List<string> FirstStage()
    {
        var first = Array.FindIndex(Lines, l => Is(l, "FROM"));
        var second = Array.FindIndex(Lines, first + 1, l => Is(l, "FROM"));
        return Lines[first..second].ToList();
    }

    private static bool Is(string line, string instruction) => line.StartsWith(instruction + " ", StringComparison.OrdinalIgnoreCase);

    /// <summary>Instructions with continuation lines joined and comments dropped.</summary>
    private static string[] Instructions(string path)
    {
        var result = new List<string>();
        var current = "";
        foreach (var raw in System.IO.File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1].Trim() + " ";
                continue;
            }

            current += line;
            if (current.Length > 0)
            {
                result.Add(current.Trim());
            }

            current = "";
        }

        return [.. result];
    }
}
