using CurWorkflows.Cur;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Aws;

/// <summary>What the last check of the platform's own credentials found; <see cref="Identity"/> is null when it failed.</summary>
public sealed record PlatformIdentityStatus(PlatformIdentity? Identity, string? Problem, DateTimeOffset CheckedAt)
{
    public bool Works => Identity is not null;
}

/// <summary>
/// At start, asks STS who the platform's own credentials are and logs the answer, or a warning naming what is wrong
/// with them: a misconfigured deployment shows in its first log lines, instead of as every customer's failing enable
/// and collection. Runs in the background and never fails or delays the start. The call also warms the STS client
/// (and its connection) that every collection's first AssumeRole uses. Later checks (<see cref="GetStatusAsync"/>, the
/// readiness endpoint's) log only a change.
/// </summary>
public sealed partial class PlatformIdentityCheck(AwsClientFactory clients, IOptions<AwsOptions> options, ILogger<PlatformIdentityCheck> logger)
    : BackgroundService
{
    private readonly TaskCompletionSource<PlatformIdentity?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _checking = new(1, 1);
    private PlatformIdentityStatus? _status;

    /// <summary>The outcome of the start-up check, once it has run (null: it failed or is turned off).</summary>
    public Task<PlatformIdentity?> Completion => _completion.Task;

    public bool Enabled => options.Value.CheckPlatformIdentityOnStart;

    /// <summary>The last result if it is younger than <paramref name="maxAge"/>, else a new check's.</summary>
    public async Task<PlatformIdentityStatus> GetStatusAsync(TimeSpan maxAge, CancellationToken cancellationToken = default)
    {
        if (Fresh(maxAge) is { } fresh)
        {
            return fresh;
        }

        await _checking.WaitAsync(cancellationToken);
        try
        {
            return Fresh(maxAge) ?? await CheckAsync(cancellationToken);
        }
        finally
        {
            _checking.Release();
        }
    }

    private PlatformIdentityStatus? Fresh(TimeSpan maxAge) =>
        Volatile.Read(ref _status) is { } status && DateTimeOffset.UtcNow - status.CheckedAt < maxAge ? status : null;

    public override void Dispose()
    {
        _checking.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            _completion.TrySetResult(null);
            return;
        }

        // Resolving credentials can block (the instance metadata probes of the SDK's chain): off the start-up thread, and
        // abandoned rather than waited for when the host stops.
        var check = Task.Run(() => GetStatusAsync(TimeSpan.Zero, stoppingToken), CancellationToken.None);
        try
        {
            _completion.TrySetResult((await check.WaitAsync(stoppingToken)).Identity);
        }
        catch (OperationCanceledException)
        {
            _completion.TrySetResult(null);
        }
    }

    private async Task<PlatformIdentityStatus> CheckAsync(CancellationToken cancellationToken)
    {
        var previous = Volatile.Read(ref _status);
        PlatformIdentityStatus status;
        try
        {
            var identity = await clients.GetPlatformIdentityAsync(cancellationToken);
            status = new PlatformIdentityStatus(identity, null, DateTimeOffset.UtcNow);
            if (previous?.Identity != identity)
            {
                LogIdentity(logger, identity.Arn, identity.Account);
            }
        }
        catch (CurException e)
        {
            status = new PlatformIdentityStatus(null, e.Message, DateTimeOffset.UtcNow);
            if (previous is null || previous.Works)
            {
                LogRefused(logger, e.Message);
            }
        }

        Volatile.Write(ref _status, status);
        return status;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "AWS platform identity: {Arn} (account {Account}); customers' role trust policies must name this account")]
    private static partial void LogIdentity(ILogger logger, string arn, string account);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The platform's own AWS credentials do not work: every enable and collection will fail as transient until they do. {Problem}")]
    private static partial void LogRefused(ILogger logger, string problem);
}
