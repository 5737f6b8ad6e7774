using CurWorkflows.Cur;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Aws;

/// <summary>
/// At start, asks STS who the platform's own credentials are and logs the answer, or a warning naming what is wrong
/// with them: a misconfigured deployment shows in its first log lines, instead of as every customer's failing enable
/// and collection. Runs in the background and never fails or delays the start. The call also warms the STS client
/// (and its connection) that every collection's first AssumeRole uses.
/// </summary>
public sealed partial class PlatformIdentityCheck(AwsClientFactory clients, IOptions<AwsOptions> options, ILogger<PlatformIdentityCheck> logger)
    : BackgroundService
{
    /// <summary>The outcome, once the check has run (tests and diagnostics).</summary>
    public Task<PlatformIdentity?> Completion => _completion.Task;

    private readonly TaskCompletionSource<PlatformIdentity?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.CheckPlatformIdentityOnStart)
        {
            _completion.TrySetResult(null);
            return;
        }

        // Resolving credentials can block (the instance metadata probes of the SDK's chain): off the start-up thread, and
        // abandoned rather than waited for when the host stops.
        var check = Task.Run(() => CheckAsync(stoppingToken), CancellationToken.None);
        try
        {
            _completion.TrySetResult(await check.WaitAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            _completion.TrySetResult(null);
        }
    }

    private async Task<PlatformIdentity?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            var identity = await clients.GetPlatformIdentityAsync(cancellationToken);
            LogIdentity(logger, identity.Arn, identity.Account);
            return identity;
        }
        catch (CurException e)
        {
            LogRefused(logger, e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "AWS platform identity: {Arn} (account {Account}); customers' role trust policies must name this account")]
    private static partial void LogIdentity(ILogger logger, string arn, string account);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The platform's own AWS credentials do not work: every enable and collection will fail as transient until they do. {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
