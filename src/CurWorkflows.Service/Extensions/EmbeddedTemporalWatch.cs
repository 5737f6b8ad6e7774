using System.Net.Sockets;

namespace CurWorkflows.Service.Extensions;

/// <summary>
/// Stops the service when the embedded Temporal dev server it started has gone (killed, crashed): without it nothing
/// would collect again, while the process went on logging connection retries. The host then ends with a non-zero exit
/// code and a line saying so (<see cref="StartupFailure"/>), for a supervisor or the user to start it again.
/// </summary>
internal sealed partial class EmbeddedTemporalWatch(ServiceStartup startup, ILogger<EmbeddedTemporalWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>Refused connections in a row before the server counts as gone (a busy server still accepts).</summary>
    private const int FailuresBeforeStop = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (startup.Temporal is not { } server)
        {
            return;
        }

        var failures = 0;
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                using var client = new TcpClient();
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                await client.ConnectAsync(System.Net.IPAddress.Loopback, server.Port, attempt.Token);
                failures = 0;
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
            {
                if (++failures >= FailuresBeforeStop)
                {
                    LogGone(logger, server.Address);
                    throw new InvalidOperationException(
                        $"The embedded Temporal dev server on {server.Address} has stopped (its process was killed or crashed). " +
                        "Start the service again; the workflows go on from the history in its data directory.");
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The embedded Temporal dev server on {Address} does not accept connections any more: stopping the service")]
    private static partial void LogGone(ILogger logger, string address);
}
