namespace CurWorkflows.Deployment.Tests;

public sealed class DockerfileTests
{
    private const string ServiceProject = "src/CurWorkflows.Service/CurWorkflows.Service.csproj";

    private static readonly Dockerfile Image = Dockerfile.Load(RepositoryPaths.File("Dockerfile"));

    [Fact]
    public void Builds_with_the_dotnet_10_sdk_and_runs_on_the_aspnet_10_runtime_as_the_non_root_user()
    {
        var stages = Image.Named("FROM").Select(from => from.Operands[0]).ToList();

        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"], stages);
        Assert.Equal("$APP_UID", Image.FinalStage.Last(instruction => instruction.Keyword == "USER").Arguments);
        // Nothing after USER runs as root again.
        Assert.DoesNotContain(Image.FinalStage.SkipWhile(instruction => instruction.Keyword != "USER"), instruction => instruction.Keyword == "RUN");
    }

    [Fact]
    public void Every_copied_path_exists_in_the_build_context()
    {
        var copies = Image.Named("COPY").Where(copy => !copy.Flags.Any(flag => flag.StartsWith("--from=", StringComparison.Ordinal))).ToList();

        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            foreach (var source in copy.Operands.SkipLast(1))
            {
                var path = RepositoryPaths.File(ProjectGraph.Normalize(source).Split('/', StringSplitOptions.RemoveEmptyEntries));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"Dockerfile line {copy.Line}: '{source}' does not exist in the repository.");
            }
        }
    }

    [Fact]
    public void Restore_sees_every_project_the_service_references_and_only_project_and_build_files()
    {
        var restore = RunIndex("dotnet restore");
        var copiedBeforeRestore = Image.Instructions.Take(restore)
            .Where(instruction => instruction.Keyword == "COPY")
            .SelectMany(copy => copy.Operands.SkipLast(1))
            .Select(ProjectGraph.Normalize)
            .ToHashSet(StringComparer.Ordinal);

        var needed = ProjectGraph.Closure(ServiceProject);
        Assert.Contains(ServiceProject, needed);
        Assert.Empty(needed.Except(copiedBeforeRestore));
        foreach (var buildFile in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            Assert.Contains(buildFile, copiedBeforeRestore);
        }

        // Source files come after restore, so that a code change does not invalidate the restore layer.
        Assert.All(copiedBeforeRestore, path => Assert.True(
            path.EndsWith(".csproj", StringComparison.Ordinal) || path.EndsWith(".props", StringComparison.Ordinal)
            || path.EndsWith(".json", StringComparison.Ordinal) || path.EndsWith(".sln", StringComparison.Ordinal) || path == ".editorconfig",
            $"'{path}' is copied before restore but is not a project or build file."));
        Assert.Contains(ServiceProject, RunWords(restore));
    }

    [Fact]
    public void Publishes_the_service_project_and_starts_its_assembly()
    {
        var publish = RunIndex("dotnet publish");
        var publishWords = RunWords(publish);
        var entrypoint = Image.Named("ENTRYPOINT").Single().Words;

        Assert.Contains(ServiceProject, publishWords);
        Assert.True(File.Exists(RepositoryPaths.File(ServiceProject.Split('/'))));
        Assert.Contains("--no-restore", publishWords);
        Assert.True(Image.Instructions.Take(publish).Any(instruction => instruction.Keyword == "COPY" && instruction.Operands[0] == "src/"),
            "The sources must be copied before publishing.");
        Assert.Equal(["dotnet", ProjectGraph.AssemblyName(ServiceProject) + ".dll"], entrypoint);

        var output = publishWords[publishWords.ToList().IndexOf("-o") + 1];
        Assert.Contains(Image.FinalStage, instruction => instruction.Keyword == "COPY" && instruction.Flags.Contains("--from=build") && instruction.Operands[0] == output);
    }

    [Fact]
    public void Publishes_ready_to_run_for_the_target_architecture_restored_for_the_same()
    {
        var build = Image.Named("FROM").First();
        Assert.Contains("--platform=$BUILDPLATFORM", build.Flags);
        Assert.Contains(Image.Instructions, instruction => instruction.Keyword == "ARG" && instruction.Arguments == "TARGETARCH");

        // A ReadyToRun publish for an architecture needs a restore for that architecture and its compiler package.
        foreach (var command in new[] { "dotnet restore", "dotnet publish" })
        {
            var words = RunWords(RunIndex(command)).ToList();
            Assert.Equal("$TARGETARCH", words[words.IndexOf("-a") + 1]);
            Assert.Contains("-p:PublishReadyToRun=true", words);
        }
    }

    [Fact]
    public void Published_service_keeps_icu_because_sql_client_rejects_invariant_globalization()
    {
        var compose = ComposeFile.Load(RepositoryPaths.File("docker-compose.yml"));
        var usesSqlServer = compose.Services.Values.Any(service => service.Environment.GetValueOrDefault("Storage__Provider") == "SqlServer");

        Assert.True(usesSqlServer);
        var project = System.Xml.Linq.XDocument.Load(RepositoryPaths.File("src", "CurWorkflows.Service", "CurWorkflows.Service.csproj"));
        Assert.Equal(["false"], project.Descendants("InvariantGlobalization").Select(element => element.Value.Trim()));
        Assert.DoesNotContain(RunWords(RunIndex("dotnet publish")), word => word.StartsWith("-p:InvariantGlobalization", StringComparison.Ordinal));
    }

    [Fact]
    public void Image_defaults_use_the_services_configuration_keys()
    {
        var settings = Image.FinalStage.Where(instruction => instruction.Keyword == "ENV")
            .SelectMany(instruction => instruction.EnvironmentPairs())
            .ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);

        Assert.Equal("8080", settings["ASPNETCORE_HTTP_PORTS"]);
        Assert.Equal("All", settings["Host__Role"]);
        Assert.Equal("Data Source=/var/lib/curworkflows/curworkflows.db", settings["ConnectionStrings__CurWorkflows"]);
        Assert.All(settings.Keys, name => Assert.True(ServiceConfiguration.IsKnownEnvironmentVariable(name), $"ENV {name} is not a setting the service reads."));

        // The default SQLite file and the spool live in the folder the image makes writable for the app user.
        var writable = Image.FinalStage.Single(instruction => instruction.Keyword == "RUN" && instruction.Arguments.Contains("chown", StringComparison.Ordinal));
        Assert.Contains("/var/lib/curworkflows", writable.Arguments, StringComparison.Ordinal);
        Assert.StartsWith("/var/lib/curworkflows/", settings["Collection__SpoolDirectory"], StringComparison.Ordinal);
        // With no Temporal__Address the container starts its own dev server: its history may not go under /app (root's).
        Assert.StartsWith("/var/lib/curworkflows/", settings["Temporal__EmbeddedDataDirectory"], StringComparison.Ordinal);
    }

    [Fact]
    public void Build_context_excludes_local_build_output()
    {
        var ignored = File.ReadAllLines(RepositoryPaths.File(".dockerignore")).Select(line => line.Trim()).ToList();

        // A host's obj/project.assets.json copied over the container's restore would break the publish.
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.DoesNotContain("src/", ignored);
    }

    private static int RunIndex(string command) =>
        Image.Instructions.Select((instruction, index) => (instruction, index))
            .Single(pair => pair.instruction.Keyword == "RUN" && pair.instruction.Arguments.StartsWith(command, StringComparison.Ordinal)).index;

    private static IReadOnlyList<string> RunWords(int index) => Image.Instructions[index].Words;
}
