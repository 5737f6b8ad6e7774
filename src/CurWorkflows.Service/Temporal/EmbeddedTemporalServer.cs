using System.Net;
using System.Net.Sockets;
using CurWorkflows.Service.Extensions;
using Temporalio.Common;
using Temporalio.Testing;

namespace CurWorkflows.Service.Temporal;

/// <summary>
/// The Temporal dev server that the process starts for itself when <c>Temporal:Address</c> is empty, with its
/// Web UI and a database file so that workflow history survives restarts.
/// </summary>
public sealed class EmbeddedTemporalServer : IAsyncDisposable
{
    private readonly WorkflowEnvironment environment;
    private int disposed;

    private EmbeddedTemporalServer(WorkflowEnvironment environment, string address, string uiUrl, string? cliPath, string databaseFile)
    {
        this.environment = environment;
        Address = address;
        UiUrl = uiUrl;
        CliPath = cliPath;
        DatabaseFile = databaseFile;
    }

    public string Address { get; }

    public string UiUrl { get; }

    /// <summary>The CLI binary used, or null when the SDK downloaded one.</summary>
    public string? CliPath { get; }

    public string DatabaseFile { get; }

    public static readonly SearchAttributeKey<string> IntegrationIdAttribute = SearchAttributeKey.CreateKeyword("IntegrationId");
    public static readonly SearchAttributeKey<string> OrganizationIdAttribute = SearchAttributeKey.CreateKeyword("OrganizationId");

    public static async Task<EmbeddedTemporalServer> StartAsync(TemporalHostOptions options, string contentRoot)
    {
        var port = options.EmbeddedPort == 0 ? FreeLoopbackPort() : options.EmbeddedPort;
        var uiPort = options.EmbeddedUiPort == 0 ? FreeLoopbackPort() : options.EmbeddedUiPort;
        var dataDirectory = Path.GetFullPath(options.EmbeddedDataDirectory, contentRoot);
        Directory.CreateDirectory(dataDirectory);
        var databaseFile = Path.Combine(dataDirectory, "temporal.db");
        var cliPath = ResolveCliPath(options.CliPath, contentRoot);
        var address = $"127.0.0.1:{port}";

        var environment = await WorkflowEnvironment.StartLocalAsync(new()
        {
            TargetHost = address,
            Namespace = options.Namespace,
            UI = true,
            UIPort = uiPort,
            SearchAttributes = [IntegrationIdAttribute, OrganizationIdAttribute],
            DevServerOptions = new()
            {
                ExistingPath = cliPath,
                DatabaseFilename = databaseFile,
                LogLevel = "error",
                StartupTimeout = TimeSpan.FromSeconds(90),
            },
        });
        return new EmbeddedTemporalServer(environment, address, $"http://127.0.0.1:{uiPort}", cliPath, databaseFile);
    }

    /// <summary>Temporal:CliPath, else TEMPORAL_CLI_PATH, else the repository's ../shared/tools/temporal, else null (download).</summary>
    public static string? ResolveCliPath(string? configured, string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured, contentRoot);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("TEMPORAL_CLI_PATH");
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

        return null;
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            await environment.ShutdownAsync();
            await environment.DisposeAsync();
        }
    }
}

/// <summary>Stops the embedded dev server when the host stops. Registered first, so it stops after the worker.</summary>
internal sealed class EmbeddedTemporalLifetime(EmbeddedTemporalServer server) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) => await server.DisposeAsync();
}
