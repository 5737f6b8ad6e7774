using CurWorkflows.Storage.Stores;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StoredOutcome = CurWorkflows.Storage.Entities.CollectionRunOutcome;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>What one sweep of the spool directory did.</summary>
public sealed record SpoolSweepResult(int FoldersRemoved = 0, int FoldersKept = 0, long BytesFreed = 0);

/// <summary>
/// Deletes the run folders (<c>{SpoolDirectory}/{collection run id}/</c>) that no activity will use again: those of runs
/// that have ended, and those not written to for <see cref="CollectionOptions.SpoolRetention"/>. A successful run's
/// files go as it stages them; without the sweep, a run that failed after its download (a malformed report, retried
/// daily), or whose period moved to another worker, would leave a report-sized file behind every time until the disk
/// filled and every download on the host was refused. Folders whose name is not a run id are left alone.
/// </summary>
public sealed partial class SpoolSweeper(CollectionRunStore runs, IOptions<CollectionOptions> options, TimeProvider time, ILogger<SpoolSweeper> logger)
{
    public async Task<SpoolSweepResult> SweepAsync(CancellationToken cancellationToken = default)
    {
        var root = new DirectoryInfo(Path.GetFullPath(options.Value.SpoolDirectory));
        if (!root.Exists)
        {
            return new SpoolSweepResult();
        }

        var folders = root.EnumerateDirectories()
            .Select(d => (Id: Guid.TryParse(d.Name, out var id) ? id : Guid.Empty, Directory: d))
            .Where(f => f.Id != Guid.Empty)
            .ToList();
        if (folders.Count == 0)
        {
            return new SpoolSweepResult();
        }

        var outcomes = await runs.GetOutcomesAsync([.. folders.Select(f => f.Id)], cancellationToken);
        var now = time.GetUtcNow();
        var result = new SpoolSweepResult();
        foreach (var (id, directory) in folders)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ended = outcomes.TryGetValue(id, out var outcome) && outcome != StoredOutcome.Running;
            var (lastWrite, bytes) = Measure(directory);
            if (!ended && now - lastWrite < options.Value.SpoolRetention)
            {
                result = result with { FoldersKept = result.FoldersKept + 1 };
                continue;
            }

            try
            {
                directory.Delete(recursive: true);
                result = result with { FoldersRemoved = result.FoldersRemoved + 1, BytesFreed = result.BytesFreed + bytes };
                LogRemoved(logger, id, bytes, ended ? $"the run {outcome.ToString().ToLowerInvariant()}" : $"no write since {lastWrite:O} and the run has not ended");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogRemoveFailed(logger, id, e.Message);
            }
        }

        return result;
    }

    /// <summary>The newest write under the folder (the folder's own included) and the bytes of its files.</summary>
    private static (DateTimeOffset LastWrite, long Bytes) Measure(DirectoryInfo directory)
    {
        var lastWrite = new DateTimeOffset(directory.LastWriteTimeUtc, TimeSpan.Zero);
        long bytes = 0;
        try
        {
            foreach (var entry in directory.EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
            {
                var written = new DateTimeOffset(entry.LastWriteTimeUtc, TimeSpan.Zero);
                if (written > lastWrite)
                {
                    lastWrite = written;
                }

                if (entry is FileInfo file)
                {
                    bytes += file.Length;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Changing under us (an activity writing): it counts as written now.
            lastWrite = DateTimeOffset.MaxValue;
        }

        return (lastWrite, bytes);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed the spool folder of collection run {RunId} ({Bytes} bytes): {Reason}")]
    private static partial void LogRemoved(ILogger logger, Guid runId, long bytes, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the spool folder of collection run {RunId}: {Problem}")]
    private static partial void LogRemoveFailed(ILogger logger, Guid runId, string problem);
}

/// <summary>Runs <see cref="SpoolSweeper"/> at start and every <see cref="CollectionOptions.SpoolSweepInterval"/>.</summary>
internal sealed partial class SpoolSweepService(SpoolSweeper sweeper, IOptions<CollectionOptions> options, ILogger<SpoolSweepService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SpoolSweepInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                var result = await sweeper.SweepAsync(stoppingToken);
                if (result.FoldersRemoved > 0)
                {
                    LogSwept(logger, result.FoldersRemoved, result.BytesFreed, result.FoldersKept);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Spool sweep: removed {Removed} run folders ({Bytes} bytes), kept {Kept}")]
    private static partial void LogSwept(ILogger logger, int removed, long bytes, int kept);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping the spool directory failed; retrying at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
