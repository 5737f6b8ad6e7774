namespace CurWorkflows.Deployment.Tests;

/// <summary>Locates the repository (the folder with CurWorkflows.sln) and the shared tools beside it.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string File(params string[] relativeParts) => Path.Combine([Root, .. relativeParts]);

    public static string ReadAllText(params string[] relativeParts) => System.IO.File.ReadAllText(File(relativeParts));

    public static string ModuleDirectory => File("integrations", "aws-cost-and-usage-reports");

    /// <summary>The shared OpenTofu binary, or null when this checkout has no shared tools beside it.</summary>
    public static string? Tofu => ExistingOrNull(Path.GetFullPath(Path.Combine(Root, "..", "shared", "tools", "tofu")));

    /// <summary>TEMPORAL_CLI_PATH, else the shared Temporal CLI, else null.</summary>
    public static string? TemporalCli
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("TEMPORAL_CLI_PATH");
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                return ExistingOrNull(Path.GetFullPath(fromEnvironment));
            }

            return ExistingOrNull(Path.GetFullPath(Path.Combine(Root, "..", "shared", "tools", "temporal")));
        }
    }

    private static string? ExistingOrNull(string path) => System.IO.File.Exists(path) ? path : null;

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "CurWorkflows.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} contains CurWorkflows.sln.");
    }
}

/// <summary>A fact that is skipped when the shared OpenTofu binary is not next to the repository.</summary>
public sealed class TofuFactAttribute : FactAttribute
{
    public TofuFactAttribute()
    {
        if (RepositoryPaths.Tofu is null)
        {
            Skip = "../shared/tools/tofu is not present next to the repository.";
        }
    }
}

/// <summary>A theory that is skipped when the shared OpenTofu binary is not next to the repository.</summary>
public sealed class TofuTheoryAttribute : TheoryAttribute
{
    public TofuTheoryAttribute()
    {
        if (RepositoryPaths.Tofu is null)
        {
            Skip = "../shared/tools/tofu is not present next to the repository.";
        }
    }
}

/// <summary>A fact that is skipped when neither TEMPORAL_CLI_PATH nor ../shared/tools/temporal gives a Temporal CLI.</summary>
public sealed class TemporalCliFactAttribute : FactAttribute
{
    public TemporalCliFactAttribute()
    {
        if (RepositoryPaths.TemporalCli is null)
        {
            Skip = "No Temporal CLI: set TEMPORAL_CLI_PATH or provide ../shared/tools/temporal.";
        }
    }
}
