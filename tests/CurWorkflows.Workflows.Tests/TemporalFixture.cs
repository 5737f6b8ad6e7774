using CurWorkflows.Workflows;
using Temporalio.Client;
using Temporalio.Testing;

namespace CurWorkflows.Workflows.Tests;

/// <summary>One Temporal dev server for all tests of the collection, with our search attributes registered.</summary>
public sealed class TemporalFixture : IAsyncLifetime
{
    private WorkflowEnvironment? environment;

    public ITemporalClient Client => environment?.Client ?? throw new InvalidOperationException("The dev server is not running.");

    /// <summary>host:port of the dev server's frontend.</summary>
    public string Address { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var port = FreePort();
        Address = $"127.0.0.1:{port}";
        environment = await WorkflowEnvironment.StartLocalAsync(new()
        {
            TargetHost = Address,
            UI = false,
            SearchAttributes = [.. CurSearchAttributes.All],
            DevServerOptions = new() { ExistingPath = TestPaths.TemporalCli(), LogLevel = "error" },
        });
    }

    public async Task DisposeAsync()
    {
        if (environment is not null)
        {
            await environment.ShutdownAsync();
        }
    }

    public static string NewTaskQueue() => $"test-{Guid.NewGuid():N}";

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class TemporalCollection : ICollectionFixture<TemporalFixture>
{
    public const string Name = "Temporal dev server";
}

public static class TestPaths
{
    /// <summary>The repository root (the folder holding CurWorkflows.sln).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CurWorkflows.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("CurWorkflows.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>TEMPORAL_CLI_PATH, else ../shared/tools/temporal next to the repository, else null (the SDK downloads one).</summary>
    public static string? TemporalCli()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("TEMPORAL_CLI_PATH");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        var shared = Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "tools", "temporal"));
        return File.Exists(shared) ? shared : null;
    }
}
