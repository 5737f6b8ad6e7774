namespace CurWorkflows.Service.Tests.Infrastructure;

public static class TestEnvironment
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>TEMPORAL_CLI_PATH, else the repository's ../shared/tools/temporal, else null (the SDK downloads one).</summary>
    public static string? TemporalCliPath
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("TEMPORAL_CLI_PATH");
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                return Path.GetFullPath(fromEnvironment);
            }

            var shared = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "tools", "temporal"));
            return File.Exists(shared) ? shared : null;
        }
    }

    public static string? PostgresConnectionString =>
        Environment.GetEnvironmentVariable("CURWORKFLOWS_TEST_POSTGRES") is { Length: > 0 } value ? value : null;

    /// <summary>The API alone, on SQLite in <paramref name="contentRoot"/>, with a Temporal address where nothing listens.</summary>
    public static Dictionary<string, string?> ApiWithUnreachableTemporal(string contentRoot) => new()
    {
        ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(contentRoot, "curworkflows.db")}",
        ["Temporal:Address"] = $"127.0.0.1:{CurWorkflows.Workflows.Hosting.EmbeddedTemporalServer.FreeLoopbackPort()}",
        ["Host:Role"] = "Api",
    };

    public static string NewTempDirectory(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), "curworkflows-service-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CurWorkflows.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("CurWorkflows.sln not found above " + AppContext.BaseDirectory);
    }
}
