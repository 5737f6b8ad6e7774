namespace CurWorkflows.Workflows.Hosting;

/// <summary>Finds the <c>temporal</c> CLI that runs a dev server.</summary>
public static class TemporalCli
{
    public const string PathVariable = "TEMPORAL_CLI_PATH";

    /// <summary>The configured path, else env TEMPORAL_CLI_PATH, else <c>temporal</c> on PATH; null lets the SDK download it.</summary>
    public static string? Resolve(string? configuredPath)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            return Path.GetFullPath(configuredPath);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        var pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return pathDirectories.Select(d => Path.Combine(d, "temporal")).FirstOrDefault(File.Exists);
    }
}
