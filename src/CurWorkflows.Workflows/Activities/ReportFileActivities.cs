using System.Globalization;
using CurWorkflows.Aws;
using CurWorkflows.Cur;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Temporalio.Activities;
using Temporalio.Exceptions;

namespace CurWorkflows.Workflows.Activities;

/// <summary>The heartbeat of a parse: where it stands and where its partial aggregates are on this worker's disk.</summary>
public sealed record ParseCheckpoint(long Rows, long Line, string StatePath);

/// <summary>
/// The activities that work on spooled files, run on this host's own task queue: download, aggregate with
/// checkpoints, stage. Files and checkpoints live under <c>Collection:SpoolDirectory</c>.
/// </summary>
public sealed partial class ReportFileActivities(
    IntegrationStore integrations,
    ResumableDownloader downloader,
    RunTagIndexes tagIndexes,
    CostWriter costs,
    IOptions<CollectionOptions> options,
    ILogger<ReportFileActivities> logger)
{
    [Activity(ActivityNames.DownloadReportFile)]
    public Task<SpooledFile> DownloadAsync(ReportFileWork work) => ActivityFailures.CodedAsync(async () =>
    {
        var context = ActivityExecutionContext.Current;
        var settings = await BucketActivities.SettingsAsync(integrations, work.Run);
        var destination = SpoolPath(work);
        var progress = new Progress<DownloadProgress>(p => context.Heartbeat(p.BytesOnDisk, p.Size));
        var result = await downloader.DownloadAsync(
            BucketActivities.RoleOf(settings), settings.BucketName, work.FileKey, destination, progress, context.CancellationToken);
        CurMetrics.CountBytesDownloaded(context.MetricMeter, result.BytesTransferred);
        return new SpooledFile(result.Path, result.Size, result.BytesTransferred, result.ResumedFromBytes, result.Joined);
    });

    /// <summary>
    /// Aggregates one spooled file. Every <c>Collection:CheckpointInterval</c> (or <c>CheckpointEveryRows</c>) the aggregation
    /// state is saved next to the file and heartbeated; a retried attempt on this host loads it and continues from that row.
    /// With <see cref="AggregateFileInput.WhileDownloading"/>, the file is read as it arrives: the attempt joins this host's
    /// download of it (or starts it) and reads front to back, waiting for bytes not written yet.
    /// </summary>
    [Activity(ActivityNames.AggregateReportFile)]
    public Task<FileAggregateResult> AggregateAsync(AggregateFileInput input) => ActivityFailures.CodedAsync(async () =>
    {
        var context = ActivityExecutionContext.Current;
        var spooledPath = input.WhileDownloading ? SpoolPath(input.Work) : input.SpooledPath;
        var finalPath = spooledPath + ".aggregates";
        if (File.Exists(finalPath))
        {
            // An earlier attempt finished but its completion was lost: answer from its saved state, if it can be trusted.
            if (AggregatesFile.TryLoad(finalPath, new CostAggregationOptions { TagKey = input.Work.TagKey }, out var untrusted) is { } done)
            {
                return Result(finalPath, done, done.Rows, 0) with { ETag = ResumableDownloader.SpooledETag(spooledPath) };
            }

            LogAggregatesLost(logger, input.Work.FileKey, untrusted);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        // A retry of a parse of the spooled file resumes from the checkpoint its predecessor heartbeated; a parse that
        // follows a download finds its checkpoint by the object's ETag (below).
        var earlier = context.Info.HeartbeatDetails.Count > 0 ? await context.Info.HeartbeatDetailAtAsync<ParseCheckpoint>(0) : null;
        var defaultCheckpointPath = spooledPath + ".checkpoint";
        var checkpointPath = input.WhileDownloading ? defaultCheckpointPath : earlier?.StatePath ?? defaultCheckpointPath;

        // Heartbeats go out on a timer for the whole attempt (the parse saves checkpoints far less often than the
        // heartbeat timeout), each carrying the last saved checkpoint: a few dozen bytes. They start before the waits for
        // the database, S3's first response and the tag index: a large account's lookup is many pages, throttled, and can
        // outlast the heartbeat timeout.
        using var heartbeat = new PeriodicHeartbeat<ParseCheckpoint>(context, earlier ?? new ParseCheckpoint(0, 0, checkpointPath));
        var settings = await BucketActivities.SettingsAsync(integrations, input.Work.Run);
        var role = BucketActivities.RoleOf(settings);
        // Rows whose tag cell is empty are attributed through the tagging API (resource ARN -> package), as the
        // customer's resources are tagged now: one lookup per run, made while the download starts.
        var tagIndex = tagIndexes.GetAsync(input.Work.Run.CollectionRunId, role, input.Work.TagKey, context.CancellationToken);
        using var followed = input.WhileDownloading
            ? downloader.Follow(role, settings.BucketName, input.Work.FileKey, spooledPath, null, context.CancellationToken)
            : null;
        long bytesDownloaded = 0;
        string? eTag = null;
        if (followed is not null)
        {
            eTag = await followed.ETagAsync();
            checkpointPath = CheckpointPathOf(spooledPath, eTag);
        }
        else if (!ResumableDownloader.IsTrustedSpoolFile(spooledPath))
        {
            // The host went down since the download (bytes the kernel had not written back may be lost), or the file is
            // gone: the downloader checks it against the content MD5 or fetches it again. A checkpoint stays valid only
            // for the same object.
            var spooledETag = ResumableDownloader.SpooledETag(spooledPath);
            var again = await downloader.DownloadAsync(
                role, settings.BucketName, input.Work.FileKey, spooledPath,
                new Progress<DownloadProgress>(_ => heartbeat.Beat()), context.CancellationToken);
            bytesDownloaded = again.BytesTransferred;
            eTag = again.ETag;
            CurMetrics.CountBytesDownloaded(context.MetricMeter, bytesDownloaded);
            if (again.ETag != spooledETag)
            {
                File.Delete(defaultCheckpointPath);
                File.Delete(checkpointPath);
            }

            LogSpoolChecked(logger, input.Work.FileKey, again.AlreadyComplete ? "its bytes match the content MD5" : $"fetched again ({again.BytesTransferred} bytes)");
        }

        var aggregationOptions = new CostAggregationOptions
        {
            TagKey = input.Work.TagKey,
            ResourceIndex = await tagIndex,
            ExpectedBillingPeriod = DateOnly.ParseExact(input.Work.Period.BillingPeriod, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
        var aggregator = File.Exists(checkpointPath) ? AggregatesFile.LoadCheckpoint(checkpointPath, aggregationOptions) : new CostAggregator(aggregationOptions);
        var resumedFrom = aggregator.InProgress?.Position.Rows ?? 0;
        if (resumedFrom > 0)
        {
            LogResuming(logger, input.Work.FileKey, resumedFrom);
        }

        var compression = CurSource.CompressionOf(input.Work.FileKey);
        var source = followed is not null
            ? new CurSource(input.Work.FileKey, compression, followed.OpenRead) { FrontToBack = true }
            : new CurSource(
                input.Work.FileKey,
                compression,
                () => new FileStream(spooledPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan));
        heartbeat.Details = new ParseCheckpoint(resumedFrom, 0, checkpointPath);
        var checkpoints = new CheckpointOptions
        {
            EveryRows = options.Value.CheckpointEveryRows,
            Interval = options.Value.CheckpointInterval,
            OnCheckpoint = (state, checkpoint) =>
            {
                AggregatesFile.SaveCheckpoint(state, checkpointPath);
                heartbeat.Details = new ParseCheckpoint(checkpoint.Position.Rows, checkpoint.Position.Line, checkpointPath);
                heartbeat.Beat();
                LogCheckpoint(logger, input.Work.FileKey, checkpoint.Position.Rows);
            },
        };
        var startRows = aggregator.Rows;
        var prepared = clock.Elapsed;
        try
        {
            await Task.Run(() => aggregator.AddFile(source, checkpoints, context.CancellationToken), context.CancellationToken);
        }
        catch (Exception e) when (!context.CancellationToken.IsCancellationRequested && (followed is not null || e is ReportMalformedException))
        {
            // What was read is only as good as the download: a read that stopped with it, or an error in bytes the
            // download then failed to verify, is the download's failure (transient), not a malformed report.
            if (followed is not null)
            {
                await DownloadVerifiedAsync(followed, spooledPath, checkpointPath);
            }

            if (e is ReportMalformedException)
            {
                await ConfirmSpoolMatchesObjectAsync(input.Work.FileKey, spooledPath, checkpointPath, e, context.CancellationToken);
            }

            throw;
        }

        if (followed is not null)
        {
            var downloaded = await DownloadVerifiedAsync(followed, spooledPath, checkpointPath);
            bytesDownloaded = downloaded.BytesTransferred;
            CurMetrics.CountBytesDownloaded(context.MetricMeter, bytesDownloaded);
        }

        heartbeat.Dispose();
        var parsed = clock.Elapsed;
        AggregatesFile.Save(aggregator, finalPath);
        File.Delete(checkpointPath);
        var result = Result(finalPath, aggregator, aggregator.Rows - startRows, resumedFrom) with
        {
            BytesDownloaded = bytesDownloaded,
            ETag = eTag ?? ResumableDownloader.SpooledETag(spooledPath),
        };
        CurMetrics.CountRowsAggregated(context.MetricMeter, result.RowsRead);
        LogAggregated(logger, input.Work.FileKey, result.RowsRead, prepared.TotalSeconds, (parsed - prepared).TotalSeconds, (clock.Elapsed - parsed).TotalSeconds);
        return result;
    });

    /// <summary>Where a parse of the object with <paramref name="eTag"/> saves its checkpoints. A checkpoint holds rows of
    /// one object: that of an object since replaced is not found.</summary>
    private static string CheckpointPathOf(string spooledPath, string eTag) => $"{spooledPath}.{Digest(eTag)[..12]}.checkpoint";

    /// <summary>A file-name-safe digest of an ETag (SHA-256, lowercase hex).</summary>
    private static string Digest(string eTag) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(eTag)));

    /// <summary>Waits for the download a parse read from and throws its error when it failed. When it discarded the bytes
    /// (they did not match the content MD5, or the object was replaced), the checkpoint built on them goes too.</summary>
    private static async Task<DownloadResult> DownloadVerifiedAsync(FollowedDownload followed, string spooledPath, string checkpointPath)
    {
        try
        {
            return await followed.Completion;
        }
        catch (Exception) when (followed.Failed)
        {
            if (!ResumableDownloader.HasSpooledBytes(spooledPath))
            {
                File.Delete(checkpointPath);
            }

            throw;
        }
    }

    /// <summary>
    /// A parse that finds a file malformed first compares the spooled bytes with the object's MD5 (a <c>.zip</c> or
    /// <c>.gz</c> is not hashed while it downloads, its CRC-32 is checked by the parse; and any file can be damaged on disk
    /// after its download): bytes damaged on this host are discarded with the checkpoint built on them, and the attempt
    /// fails as transient, so that the next one downloads the file again. Only bytes that match the object, or an object
    /// without a content MD5 (a multipart upload), make the report malformed.
    /// </summary>
    private async Task ConfirmSpoolMatchesObjectAsync(string fileKey, string spooledPath, string checkpointPath, Exception malformed, CancellationToken cancellationToken)
    {
        if (!await ResumableDownloader.SpoolDiffersFromObjectAsync(spooledPath, cancellationToken))
        {
            return;
        }

        ResumableDownloader.DiscardSpool(spooledPath);
        File.Delete(checkpointPath);
        LogSpoolDamaged(logger, fileKey, malformed.Message);
        throw new CurException(
            CurErrorCodes.Transient,
            $"{fileKey}: the downloaded file does not match the object's MD5 (damaged on this host); it was discarded and is downloaded again",
            malformed);
    }

    /// <summary>Puts the aggregates of a period's files into the run's staging area, in batches. Idempotent: the run's
    /// earlier staging rows of the period are dropped first.</summary>
    [Activity(ActivityNames.StagePeriod)]
    public Task<StagePeriodResult> StageAsync(StagePeriodInput input) => ActivityFailures.CodedAsync(async () =>
    {
        var context = ActivityExecutionContext.Current;
        var runId = Guid.Parse(input.Run.CollectionRunId);
        var key = new StagingKey(runId, Guid.Parse(input.Run.IntegrationId), DateOnly.ParseExact(input.Period.BillingPeriod, "yyyy-MM-dd", CultureInfo.InvariantCulture));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Heartbeats on a timer for the whole attempt: dropping a million rows' earlier staging or writing one file's
        // rows can take longer than the heartbeat timeout, and an attempt timed out while it still writes would leave
        // its rows beside those of the attempt that replaces it.
        using var heartbeat = new PeriodicHeartbeat<string>(context, "");
        // Drops what an earlier attempt staged and makes that attempt's token stale: should it still be writing, its next
        // chunk is refused instead of landing beside this attempt's rows.
        var token = await costs.BeginStagingAsync(key, context.CancellationToken);
        var discarded = clock.Elapsed;

        long staged = 0, rows = 0;
        // Final when every row of the period is invoiced: no file with rows still estimated, and at least one with rows.
        bool anyRows = false, anyEstimated = false;
        var totals = CostAmounts.Zero;
        var loading = TimeSpan.Zero;
        foreach (var statePath in input.StatePaths)
        {
            heartbeat.Details = statePath;
            var started = clock.Elapsed;
            var aggregates = AggregatesFile.TryLoad(statePath, new CostAggregationOptions { TagKey = input.TagKey }, out var untrusted)
                ?? throw new ApplicationFailureException(
                    $"The aggregates of {Path.GetFileName(statePath)} cannot be used: {untrusted}. The workflow collects the period again (at most {CollectionWorkflow.MaxWorkerSwitches} times).",
                    errorType: AggregatesFile.LostError,
                    nonRetryable: true);
            var result = aggregates.GetResult();
            loading += clock.Elapsed - started;
            staged += await costs.StageAsync(token, new CostAggregateBatch(result.Daily, result.DailyResources, result.Monthly), context.CancellationToken);
            rows += result.Rows;
            anyRows |= result.Rows > 0;
            anyEstimated |= result.Rows > 0 && !result.IsFinal;
            totals += result.Totals;
        }

        // Each file's sums were checked alone; the period's total (its billing_periods row) adds them up.
        CostAggregator.ThrowIfBeyondExact(totals, $"the files of period {input.Period.BillingPeriod}");

        LogStaged(logger, input.Period.BillingPeriod, staged, input.StatePaths.Count, discarded.TotalSeconds, loading.TotalSeconds, (clock.Elapsed - discarded - loading).TotalSeconds);

        // The report files go now; the aggregates stay until the run has ended (the spool sweep), so that an attempt run
        // again after this one's completion was lost stages the same rows instead of failing on missing files. The
        // activity does not wait for the unlink: that of a report whose pages are still being written back waits for the
        // I/O (40 ms for the benchmark's 118 MB zip). What a crash leaves behind, the sweep removes.
        var periodDirectory = input.StatePaths.Count > 0 ? Path.GetDirectoryName(input.StatePaths[0]) : null;
        if (!string.IsNullOrEmpty(periodDirectory) && Directory.Exists(periodDirectory))
        {
            var keep = input.StatePaths.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
            var reportFiles = Directory.EnumerateFiles(periodDirectory).Where(f => !keep.Contains(Path.GetFullPath(f))).ToList();
            _ = Task.Run(() => DeleteReportFiles(reportFiles), CancellationToken.None);
        }

        CurMetrics.CountRowsStaged(context.MetricMeter, staged);
        return new StagePeriodResult(staged, rows, anyRows && !anyEstimated, Text(totals.Unblended), Text(totals.NetUnblended), Text(totals.Amortized));
    });

    internal static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private void DeleteReportFiles(List<string> files)
    {
        foreach (var file in files)
        {
            try
            {
                File.Delete(file);
            }
            catch (DirectoryNotFoundException)
            {
                // The sweep removed the run's folder first.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogReportFileLeft(logger, file, e.Message);
            }
        }
    }

    /// <summary>
    /// Where a file of a period is spooled, with its checkpoints and aggregates. A plan that lists the file's ETag names
    /// that object: a period planned again after the file was delivered anew starts from nothing, instead of answering
    /// from the aggregates of the earlier delivery.
    /// </summary>
    private string SpoolPath(ReportFileWork work)
    {
        var fileName = Path.GetFileName(work.FileKey.Replace('\\', '/').TrimEnd('/'));
        var listed = work.ListedETag.Length > 0 ? "-" + Digest(work.ListedETag.Trim('"'))[..8] : "";
        return Path.Combine(
            Path.GetFullPath(options.Value.SpoolDirectory),
            work.Run.CollectionRunId,
            work.Period.BillingPeriod,
            $"{work.FileIndex:D4}{listed}-{fileName}");
    }

    private static FileAggregateResult Result(string statePath, CostAggregator aggregator, long rowsRead, long resumedFrom)
    {
        // The running sums, not GetResult: building the views costs tens of milliseconds at this size, and StagePeriod
        // builds and reconciles them anyway.
        return new FileAggregateResult(
            statePath, aggregator.Rows, Text(aggregator.RowSums.Unblended), aggregator.AggregateCount, resumedFrom, rowsRead, Text(aggregator.AttributedByResourceIndex.Unblended));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Staged period {Period}: {Rows} cost rows from {Files} files; {Discard:0.000} s to drop earlier staging, {Load:0.000} s to load the aggregates, {Write:0.000} s to write")]
    private static partial void LogStaged(ILogger logger, string period, long rows, int files, double discard, double load, double write);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Report file {File} could not be deleted after staging ({Problem}); the spool sweep removes it")]
    private static partial void LogReportFileLeft(ILogger logger, string file, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Saved aggregates of {File} are not used ({Reason}); aggregating it again")]
    private static partial void LogAggregatesLost(ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Spool file of {File} was not written in this boot of the host or is gone; checked before parsing: {Outcome}")]
    private static partial void LogSpoolChecked(ILogger logger, string file, string outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {File} from row {Rows}")]
    private static partial void LogResuming(ILogger logger, string file, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Aggregated {File}: {Rows} rows read; {PrepareSeconds:F3} s to prepare (settings, tag index, checkpoint), {ParseSeconds:F3} s to parse, {SaveSeconds:F3} s to save the aggregates")]
    private static partial void LogAggregated(ILogger logger, string file, long rows, double prepareSeconds, double parseSeconds, double saveSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Spool file of {File} does not match the object's MD5 after its parse failed ({Problem}); discarded, to be downloaded again")]
    private static partial void LogSpoolDamaged(ILogger logger, string file, string problem);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Checkpoint of {File} at row {Rows}")]
    private static partial void LogCheckpoint(ILogger logger, string file, long rows);
}
