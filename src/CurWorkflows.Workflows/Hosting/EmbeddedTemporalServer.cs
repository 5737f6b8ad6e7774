using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Temporalio.Testing;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>Where the Temporal frontend is: the configured address, or a loopback port for the embedded dev server.</summary>
public sealed record TemporalEndpoint(string Address, bool Embedded)
{
    internal static TemporalEndpoint From(TemporalOptions options) =>
        options.UsesEmbeddedServer ? new($"127.0.0.1:{FreeLoopbackPort()}", true) : new(options.Address.Trim(), false);

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// Runs a Temporal dev server inside the host when <c>Temporal:Address</c> is empty, so that one process is enough for
/// development and demos. Registered before the workers so that it is up when they connect.
/// </summary>
internal sealed partial class EmbeddedTemporalServer(
    TemporalEndpoint endpoint, IOptions<TemporalOptions> options, ILogger<EmbeddedTemporalServer> logger) : IHostedService, IAsyncDisposable
{
    private WorkflowEnvironment? environment;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!endpoint.Embedded)
        {
            return;
        }

        var settings = options.Value;
        var cli = TemporalCli.Resolve(settings.CliPath);
        LogStarting(logger, endpoint.Address, cli ?? "(downloaded by the SDK)");
        environment = await WorkflowEnvironment.StartLocalAsync(new()
        {
            TargetHost = endpoint.Address,
            Namespace = settings.Namespace,
            UI = settings.EmbeddedUiPort > 0,
            UIPort = settings.EmbeddedUiPort,
            SearchAttributes = [.. CurSearchAttributes.All],
            DevServerOptions = new()
            {
                ExistingPath = cli,
                DatabaseFilename = string.IsNullOrWhiteSpace(settings.EmbeddedDatabaseFile) ? null : Path.GetFullPath(settings.EmbeddedDatabaseFile),
                LogLevel = "warn",
            },
        });
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (environment is { } running)
        {
            environment = null;
            await running.ShutdownAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting an embedded Temporal dev server on {Address} with {Cli}")]
    private static partial void LogStarting(ILogger logger, string address, string cli);
}
