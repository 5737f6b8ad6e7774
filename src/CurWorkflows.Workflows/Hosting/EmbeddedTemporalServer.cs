using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Temporalio.Testing;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// Where the Temporal frontend is: the configured address, or a loopback port for the embedded dev server (then
/// <see cref="EmbeddedPort"/>, chosen here when configured as 0: the client needs the address before the server starts).
/// </summary>
public sealed record TemporalEndpoint(string Address, bool Embedded, int EmbeddedPort = 0)
{
    internal static TemporalEndpoint From(TemporalOptions options)
    {
        if (!options.UsesEmbeddedServer)
        {
            return new(options.Address.Trim(), false);
        }

        var port = options.EmbeddedPort == 0 ? EmbeddedTemporalServer.FreeLoopbackPort() : options.EmbeddedPort;
        return new($"127.0.0.1:{port}", true, port);
    }
}

/// <summary>
/// The Temporal dev server that a process starts for itself when <c>Temporal:Address</c> is empty (through
/// <c>Temporalio.Testing</c>), with its Web UI and a database file so that workflow history survives restarts.
/// </summary>
public sealed class EmbeddedTemporalServer : IAsyncDisposable
{
    private readonly WorkflowEnvironment environment;
    private readonly string dataDirectory;
    private readonly DateTime startedAt;
    private readonly int port;
    private int disposed;

    private EmbeddedTemporalServer(
        WorkflowEnvironment environment, string address, string uiUrl, string? cliPath, string databaseFile, string dataDirectory, DateTime startedAt, int port,
        string? unwatchedBecause)
    {
        UnwatchedBecause = unwatchedBecause;
        this.environment = environment;
        this.dataDirectory = dataDirectory;
        this.startedAt = startedAt;
        this.port = port;
        Address = address;
        UiUrl = uiUrl;
        CliPath = cliPath;
        DatabaseFile = databaseFile;
    }

    public string Address { get; }

    /// <summary>The frontend's port on 127.0.0.1.</summary>
    public int Port => port;

    public string UiUrl { get; }

    /// <summary>The CLI binary used, or null when the SDK downloaded one.</summary>
    public string? CliPath { get; }

    public string DatabaseFile { get; }

    /// <summary>Why the server runs without the watcher that stops it when this process is killed; null when it has one
    /// (or none applies, as on Windows).</summary>
    public string? UnwatchedBecause { get; }

    /// <param name="port">The frontend port, when the caller has fixed it already; else <see cref="TemporalOptions.EmbeddedPort"/>.</param>
    public static async Task<EmbeddedTemporalServer> StartAsync(TemporalOptions options, string contentRoot, int? port = null)
    {
        // A port picked as free can be taken by another process before the dev server binds it, and the server then
        // never answers. With ports chosen here (configured as 0), give up on such a start early and pick again.
        var frontendPort = port ?? options.EmbeddedPort;
        // A fixed port that is taken (by a dev server an earlier run left behind when it was killed, or by anything
        // else) would make the CLI exit at once while the SDK waits for a server that never comes, or connect to one
        // this process did not start and cannot stop: say so now.
        ThrowIfInUse(options.EmbeddedPort == 0 ? 0 : frontendPort, "Temporal:EmbeddedPort");
        ThrowIfInUse(options.EmbeddedUiPort, "Temporal:EmbeddedUiPort");
        var picksPorts = frontendPort == 0 || options.EmbeddedUiPort == 0;
        const int Attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var lastAttempt = !picksPorts || attempt == Attempts;
            try
            {
                return await StartOnceAsync(options, frontendPort, contentRoot, lastAttempt ? TimeSpan.FromSeconds(90) : TimeSpan.FromSeconds(40));
            }
            catch (InvalidOperationException) when (!lastAttempt)
            {
            }
        }
    }

    private static void ThrowIfInUse(int port, string key)
    {
        if (port == 0)
        {
            return;
        }

        try
        {
            // As the dev server binds (SO_REUSEADDR): connections of a server that just stopped do not count.
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new EmbeddedTemporalPortInUseException(
                $"{key} {port} is already in use on 127.0.0.1, so the embedded Temporal dev server cannot start. Most likely a " +
                $"dev server from an earlier run that was killed is still running (look for 'temporal server start-dev' with " +
                $"--port or --ui-port {port} and stop it); or set {key} to a free port (0 picks one), or Temporal:Address to " +
                "use a Temporal server that is already running.",
                e);
        }
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
            // A graceful stop first: the SDK's shutdown kills the server outright.
            await DevServerWatchdog.StopAsync(dataDirectory, startedAt, port, TimeSpan.FromSeconds(10));
            await environment.ShutdownAsync();
            await environment.DisposeAsync();
        }
    }

    private static async Task<EmbeddedTemporalServer> StartOnceAsync(TemporalOptions options, int frontendPort, string contentRoot, TimeSpan startupTimeout)
    {
        var port = frontendPort == 0 ? FreeLoopbackPort() : frontendPort;
        var uiPort = options.EmbeddedUiPort == 0 ? FreeLoopbackPort() : options.EmbeddedUiPort;
        var dataDirectory = Path.GetFullPath(options.EmbeddedDataDirectory, contentRoot);
        Directory.CreateDirectory(dataDirectory);
        var databaseFile = Path.Combine(dataDirectory, "temporal.db");
        var cliPath = TemporalCli.Resolve(options.CliPath, contentRoot);
        var address = $"127.0.0.1:{port}";

        // Whole seconds: the pid file's time may be stored with that precision.
        var startedAt = DateTime.UtcNow.AddSeconds(-1);
        var launchPath = DevServerWatchdog.Wrap(cliPath, dataDirectory, out var scriptProblem);
        var environment = await WorkflowEnvironment.StartLocalAsync(new()
        {
            TargetHost = address,
            Namespace = options.Namespace,
            UI = true,
            UIPort = uiPort,
            SearchAttributes = [.. CurSearchAttributes.All],
            DevServerOptions = new()
            {
                ExistingPath = launchPath,
                DatabaseFilename = databaseFile,
                LogLevel = "error",
                StartupTimeout = startupTimeout,
            },
        });
        string? unwatchedBecause = null;
        if (launchPath == cliPath && !OperatingSystem.IsWindows() && DevServerWatchdog.Attach(dataDirectory, port) is { } attachProblem)
        {
            unwatchedBecause = $"{scriptProblem ?? (cliPath is null ? "the SDK downloaded and started the CLI" : "the CLI was started without the watcher script")}, and {attachProblem}: if this process is killed, " +
                "stop 'temporal server start-dev' yourself";
        }

        return new EmbeddedTemporalServer(environment, address, $"http://127.0.0.1:{uiPort}", cliPath, databaseFile, dataDirectory, startedAt, port, unwatchedBecause);
    }
}

/// <summary>
/// For hosts built with <see cref="CurWorkflowsHostingExtensions.AddCurWorkflowsClient"/> without an address: starts the
/// embedded dev server on the endpoint's port when the host starts (registered first, so before any worker) and stops it
/// last.
/// </summary>
internal sealed partial class EmbeddedTemporalHostedService(
    TemporalEndpoint endpoint, IOptions<TemporalOptions> options, IHostEnvironment environment, ILogger<EmbeddedTemporalHostedService> logger)
    : IHostedService, IAsyncDisposable
{
    private EmbeddedTemporalServer? server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        server = await EmbeddedTemporalServer.StartAsync(options.Value, environment.ContentRootPath, endpoint.EmbeddedPort);
        LogStarted(logger, server.Address, server.UiUrl, server.CliPath ?? "(downloaded by the SDK)");
        if (server.UnwatchedBecause is { } reason)
        {
            LogUnwatched(logger, reason);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref server, null) is { } running)
        {
            await running.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded Temporal dev server on {Address}, Web UI {UiUrl}, CLI {Cli}")]
    private static partial void LogStarted(ILogger logger, string address, string uiUrl, string cli);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedded Temporal dev server without its watcher: {Reason}")]
    private static partial void LogUnwatched(ILogger logger, string reason);
}

/// <summary>A fixed port of the embedded dev server is taken; the message says what to do.</summary>
public sealed class EmbeddedTemporalPortInUseException(string message, Exception innerException) : InvalidOperationException(message, innerException);
