namespace CurWorkflows.Workflows.Hosting;

/// <summary>Finds the <c>temporal</c> CLI that runs a dev server.</summary>
public static class TemporalCli
{
    public const string PathVariable = "TEMPORAL_CLI_PATH";

    /// <summary>
    /// The configured path (relative to <paramref name="contentRoot"/>), else env TEMPORAL_CLI_PATH, else the
    /// repository's <c>../shared/tools/temporal</c>, else <c>temporal</c> on PATH; null lets the SDK download it.
    /// </summary>
    public static string? Resolve(string? configuredPath, string? contentRoot = null)
    {
        contentRoot ??= Directory.GetCurrentDirectory();
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            return Path.GetFullPath(configuredPath, contentRoot);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        foreach (var start in new[] { contentRoot, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "CurWorkflows.sln")))
                {
                    var shared = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "tools", "temporal"));
                    if (File.Exists(shared))
                    {
                        return shared;
                    }

                    break;
                }
            }
        }

        var pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return pathDirectories.Select(d => Path.Combine(d, "temporal")).FirstOrDefault(File.Exists);
    }
}
