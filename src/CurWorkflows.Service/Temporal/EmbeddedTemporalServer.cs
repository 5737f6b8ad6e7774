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
        // A port picked as free can be taken by another process before the dev server binds it, and the server then
        // never answers. With ports chosen here (configured as 0), give up on such a start early and pick again.
        var picksPorts = options.EmbeddedPort == 0 || options.EmbeddedUiPort == 0;
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var lastAttempt = !picksPorts || attempt == Attempts;
            try
            {
                return await StartOnceAsync(options, contentRoot, lastAttempt ? TimeSpan.FromSeconds(90) : TimeSpan.FromSeconds(40));
            }
            catch (InvalidOperationException) when (!lastAttempt)
            {
            }
        }
    }

    private static async Task<EmbeddedTemporalServer> StartOnceAsync(TemporalHostOptions options, string contentRoot, TimeSpan startupTimeout)
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
                StartupTimeout = startupTimeout,
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
