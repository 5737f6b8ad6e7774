using System.Globalization;
using CurWorkflows.Cur;
using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.Logging;
using Temporalio.Api.Enums.V1;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace CurWorkflows.Workflows;

/// <summary>
/// One collection run (id <c>cur-collection-{integrationId}-{startUtc:yyyyMMddTHHmmssZ}</c>): validate access, plan the
/// periods to collect, download and aggregate each period's files on one worker (which keeps the spooled files and
/// checkpoints), stage the aggregates, and replace the period in one transaction.
/// </summary>
[Workflow]
public sealed class CollectionWorkflow
{
    /// <summary>How often a period starts over after the worker holding its files disappeared, or its host lost the
    /// aggregates of its files.</summary>
    internal const int MaxWorkerSwitches = 3;

    internal static readonly TimeSpan FileHeartbeatTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs started before it download a file, then aggregate it; runs after, do both at once.</summary>
    internal const string AggregateWhileDownloadingPatch = "aggregate-while-downloading";

    /// <summary>
    /// Runs started before it take a task that timed out on a host queue for a host that is gone; runs after, first ask
    /// the host's liveness queue, and wait on a busy host's queue again.
    /// </summary>
    internal const string BusyWorkerIsNotGonePatch = "busy-worker-is-not-gone";

    /// <summary>
    /// Runs started before it record the run, validate access, plan and pick a worker one after another; runs after, record
    /// the run while validating access, and pick the first period's worker while planning (two round trips fewer).
    /// </summary>
    internal const string ParallelStartPatch = "parallel-start";

    /// <summary>
    /// Runs started before it plan once access is validated; runs after, record the run, validate access, plan and pick the
    /// first period's worker all at once (planning needs neither the run's id nor the validation's result; a failed
    /// validation cancels the planning and stays the run's cause).
    /// </summary>
    internal const string PlanWhileValidatingPatch = "plan-while-validating";

    /// <summary>
    /// Runs started before it wait for every file of a period's try after one failed (a file judged gone waited out its
    /// queue timeout once per group of files); runs after, cancel the other files of the try at the first failure.
    /// </summary>
    internal const string StopPeriodAtFirstFailurePatch = "stop-period-at-first-failure";

    /// <summary>
    /// Runs started before it store a period whose files were read from different deliveries (AWS overwrites the files in
    /// place, up to three times a day) under the planned assembly; runs after compare each file's ETag with the listing
    /// the plan was made from, and plan the period again when a file was delivered anew (at most <see cref="MaxReplans"/>
    /// times).
    /// </summary>
    internal const string ReplanChangedDeliveryPatch = "replan-changed-delivery";

    internal const int MaxReplans = 3;

    private static readonly TimeSpan DefaultWorkerQueueTimeout = TimeSpan.FromMinutes(5);

    private static readonly string[] NonRetryableCodes =
        [CurErrorCodes.AccessDenied, CurErrorCodes.BucketNotFound, CurErrorCodes.ReportNotFound, CurErrorCodes.ReportMalformed];

    private static readonly RetryPolicy TransientRetry = new()
    {
        InitialInterval = TimeSpan.FromSeconds(1),
        BackoffCoefficient = 2,
        MaximumInterval = TimeSpan.FromMinutes(1),
        NonRetryableErrorTypes = NonRetryableCodes,
    };

    private string stage = "starting";

    /// <summary>What the run is doing, for the UI's query tab.</summary>
    [WorkflowQuery]
    public string CurrentStage => stage;

    [WorkflowRun]
    public async Task<CollectionSummary> RunAsync(CollectionWorkflowInput input)
    {
        var run = new CollectionRunRef(input.IntegrationId, input.OrganizationId, Workflow.Info.WorkflowId);
        try
        {
            CollectionPlan plan;
            Task<string>? firstWorkerQueue = null;
            if (Workflow.Patched(PlanWhileValidatingPatch))
            {
                stage = "validating access and planning";
                var begin = BeginRunAsync(run);
                var validation = ValidateAccessAsync(run);
                using var planningCancellation = CancellationTokenSource.CreateLinkedTokenSource(Workflow.CancellationToken);
                var planning = PlanAsync(run, planningCancellation.Token);
                firstWorkerQueue = PickWorkerAsync(planningCancellation.Token);
                try
                {
                    await validation;
                }
                catch (Exception)
                {
                    // Validation's failure is the run's cause, also when recording the run fails too. A planning that
                    // retries (a throttled bucket, say) would otherwise go on for its whole budget beside a failed run.
                    planningCancellation.Cancel();
                    await AwaitRunRecordedAsync(begin);
                    throw;
                }

                try
                {
                    // As below: a failed run always has its run row.
                    run = run with { CollectionRunId = await begin };
                }
                catch (Exception)
                {
                    planningCancellation.Cancel();
                    throw;
                }

                stage = "planning";
                await Workflow.WhenAllAsync(planning, firstWorkerQueue);
                plan = await planning;
            }
            else if (Workflow.Patched(ParallelStartPatch))
            {
                // Neither validation nor planning uses the run's id. WhenAll waits for both activities even when one
                // fails, so a failed run always has its run row.
                stage = "validating access";
                var begin = BeginRunAsync(run);
                var validation = ValidateAccessAsync(run);
                await Workflow.WhenAllAsync(begin, validation);
                run = run with { CollectionRunId = await begin };

                stage = "planning";
                var planning = PlanAsync(run);
                firstWorkerQueue = PickWorkerAsync();
                await Workflow.WhenAllAsync(planning, firstWorkerQueue);
                plan = await planning;
            }
            else
            {
                run = run with { CollectionRunId = await BeginRunAsync(run) };
                stage = "validating access";
                await ValidateAccessAsync(run);
                stage = "planning";
                plan = await PlanAsync(run);
            }

            var summary = new CollectionSummary(PeriodsFound: plan.PeriodsFound, PeriodsSkipped: plan.PeriodsSkipped);
            decimal unblended = 0, net = 0, amortized = 0;
            foreach (var planned in plan.Periods)
            {
                var period = planned;
                stage = $"collecting period {period.BillingPeriod}";
                var (staged, bytes, redelivered) = await CollectPeriodOnOneWorkerAsync(run, period, plan, firstWorkerQueue);
                firstWorkerQueue = null;
                for (var replans = 1; redelivered is not null; replans++)
                {
                    // What the discarded tries downloaded counts too.
                    summary = summary with { BytesDownloaded = summary.BytesDownloaded + bytes };
                    bytes = 0;
                    if (replans > MaxReplans)
                    {
                        throw new ApplicationFailureException(
                            $"The files of period {period.BillingPeriod} were delivered anew during the run again after {MaxReplans} new plans ({redelivered}); the next run collects the period.",
                            CurErrorCodes.Transient,
                            nonRetryable: true);
                    }

                    Workflow.Logger.LogWarning("{File} of period {Period} was delivered anew during the run; planning the period again", redelivered, period.BillingPeriod);
                    stage = $"planning period {period.BillingPeriod} again";
                    var replanned = await PlanAsync(run);
                    var again = replanned.Periods.FirstOrDefault(p => p.BillingPeriod == period.BillingPeriod);
                    if (again is null)
                    {
                        // The new delivery is already stored (by a run beside this one), or the period is now final and stored.
                        break;
                    }

                    period = again;
                    stage = $"collecting period {period.BillingPeriod}";
                    (staged, bytes, redelivered) = await CollectPeriodOnOneWorkerAsync(run, period, replanned, null);
                }

                if (staged is null)
                {
                    summary = summary with { PeriodsSkipped = summary.PeriodsSkipped + 1 };
                    continue;
                }

                stage = $"storing period {period.BillingPeriod}";
                var persisted = await Workflow.ExecuteActivityAsync<PersistPeriodResult>(
                    ActivityNames.PersistPeriod,
                    [new PersistPeriodInput(run, period, staged.Rows, staged.IsFinal)],
                    SharedOptions(TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), $"replace period {period.BillingPeriod} (assembly {period.AssemblyId})"));

                var stored = persisted.Outcome != "Unchanged";
                if (stored)
                {
                    unblended += Parse(persisted.UnblendedTotal);
                    net += Parse(persisted.NetUnblendedTotal);
                    amortized += Parse(persisted.AmortizedTotal);
                }

                summary = summary with
                {
                    PeriodsStored = summary.PeriodsStored + (stored ? 1 : 0),
                    PeriodsSkipped = summary.PeriodsSkipped + (stored ? 0 : 1),
                    Files = summary.Files + period.FileKeys.Count,
                    Rows = summary.Rows + staged.Rows,
                    BytesDownloaded = summary.BytesDownloaded + bytes,
                };
            }

            stage = "done";
            CurMetrics.CountRun(Workflow.MetricMeter, "succeeded", "");
            return summary with
            {
                UnblendedTotal = Format(unblended),
                NetUnblendedTotal = Format(net),
                AmortizedTotal = Format(amortized),
            };
        }
        catch (ActivityFailureException e) when (FindCodedFailure(e) is { } coded)
        {
            // Fail the run with the stable code as its own type, so the UI shows the cause at the top.
            stage = $"failed: {coded.ErrorType}";
            CurMetrics.CountRun(Workflow.MetricMeter, "failed", coded.ErrorType!);
            throw new ApplicationFailureException(coded.Message, e, coded.ErrorType, nonRetryable: true);
        }
        catch (FailureException e) when (!TemporalException.IsCanceledException(e))
        {
            CurMetrics.CountRun(Workflow.MetricMeter, "failed", IntegrationWorkflow.DescribeFailure(e).Code);
            throw;
        }
    }

    private static Task<string> BeginRunAsync(CollectionRunRef run) => Workflow.ExecuteActivityAsync<string>(
        ActivityNames.BeginCollectionRun, [run], SharedOptions(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(30), "record the run's start"));

    /// <summary>Waits for the run's record, whose failure does not replace the failure being thrown.</summary>
    private static async Task AwaitRunRecordedAsync(Task<string> begin)
    {
        try
        {
            await begin;
        }
        catch (Exception e) when (e is ActivityFailureException || TemporalException.IsCanceledException(e))
        {
        }
    }

    private static Task ValidateAccessAsync(CollectionRunRef run) => Workflow.ExecuteActivityAsync(
        ActivityNames.ValidateAccess, [run], SharedOptions(TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(15), "assume the integration's role"));

    private static Task<CollectionPlan> PlanAsync(CollectionRunRef run, CancellationToken? cancellationToken = null) =>
        Workflow.ExecuteActivityAsync<CollectionPlan>(
            ActivityNames.PlanCollection,
            [run],
            SharedOptions(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), "list the bucket and read the manifests", TimeSpan.FromMinutes(1), cancellationToken));

    private static Task<string> PickWorkerAsync(CancellationToken? cancellationToken = null) => Workflow.ExecuteActivityAsync<string>(
        ActivityNames.GetWorkerTaskQueue,
        [],
        SharedOptions(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), "pick a worker", cancellationToken: cancellationToken));

    private static decimal Parse(string value) => decimal.Parse(value, NumberStyles.Number, CultureInfo.InvariantCulture);

    private static string Format(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private static ApplicationFailureException? FindCodedFailure(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is ApplicationFailureException { ErrorType: { } type } app && NonRetryableCodes.Contains(type))
            {
                return app;
            }
        }

        return null;
    }

    /// <summary>
    /// A period's files are downloaded, aggregated (in parallel up to the limit) and staged by one worker, which keeps
    /// the spooled files and parse checkpoints on its disk. When that worker is gone for longer than the
    /// schedule-to-start timeout, the period starts over on another worker (downloading again).
    /// </summary>
    private static async Task<(StagePeriodResult? Staged, long Bytes, string? Redelivered)> CollectPeriodOnOneWorkerAsync(
        CollectionRunRef run, PeriodToCollect period, CollectionPlan plan, Task<string>? pickedWorkerQueue)
    {
        var queueTimeout = plan.WorkerQueueTimeout ?? DefaultWorkerQueueTimeout;
        long bytesOfEarlierTries = 0;
        for (var switches = 0; ; switches++)
        {
            long bytes = 0;
            var workerQueue = switches == 0 && pickedWorkerQueue is not null ? await pickedWorkerQueue : await PickWorkerAsync();
            using var stopTry = CancellationTokenSource.CreateLinkedTokenSource(Workflow.CancellationToken);
            ActivityFailureException? firstFailure = null;
            try
            {
                var slots = new Temporalio.Workflows.Semaphore(Math.Max(1, plan.MaxParallelFiles));
                var collecting = Workflow.WhenAllAsync(Enumerable.Range(0, period.FileKeys.Count).Select(async index =>
                {
                    await slots.WaitAsync();
                    try
                    {
                        if (firstFailure is not null)
                        {
                            throw new TaskCanceledException("another file of the period failed");
                        }

                        return await CollectFileAsync(ReportFileWork.Of(run, period, index, plan.TagKey), workerQueue, queueTimeout, stopTry.Token);
                    }
                    catch (ActivityFailureException e) when (firstFailure is null && !stopTry.IsCancellationRequested && Workflow.Patched(StopPeriodAtFirstFailurePatch))
                    {
                        // The try has failed: the other files would only wait (a gone host's queue) or work for nothing.
                        firstFailure = e;
                        stopTry.Cancel();
                        throw;
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
                (SpooledFile Spooled, FileAggregateResult Aggregate)[] files;
                try
                {
                    files = await collecting;
                }
                catch (Exception) when (firstFailure is not null)
                {
                    // WhenAll rethrows the failure of the first file in order, which may be a cancellation it caused.
                    throw firstFailure;
                }

                bytes = files.Sum(f => f.Spooled.BytesTransferred + f.Aggregate.BytesDownloaded);
                if (Redelivered(period, files) is { } redelivered && Workflow.Patched(ReplanChangedDeliveryPatch))
                {
                    return (null, bytesOfEarlierTries + bytes, redelivered);
                }

                var staged = await ExecuteOnWorkerAsync<StagePeriodResult>(
                    ActivityNames.StagePeriod,
                    [new StagePeriodInput(run, period, [.. files.Select(f => f.Aggregate.StatePath)], plan.TagKey)],
                    WorkerOptions(workerQueue, queueTimeout, TimeSpan.FromHours(1), $"stage period {period.BillingPeriod}"));
                return (staged, bytesOfEarlierTries + bytes, null);
            }
            catch (ActivityFailureException e) when (TimedOutWaitingToStart(e) && switches < MaxWorkerSwitches)
            {
                // Bytes are known only when every file of the try completed (the host went before staging); what a
                // download in flight had fetched when its host went is not reported anywhere.
                Workflow.Logger.LogWarning("Worker queue {Queue} is gone; collecting period {Period} elsewhere", workerQueue, period.BillingPeriod);
                bytesOfEarlierTries += bytes;
            }
            catch (ActivityFailureException e) when (e.InnerException is ApplicationFailureException { ErrorType: AggregatesFile.LostError } && switches < MaxWorkerSwitches)
            {
                // The host went down after the aggregation (its unflushed aggregates are not trusted): the files are
                // checked against their objects or fetched again, and aggregated again.
                Workflow.Logger.LogWarning("Aggregates of period {Period} were lost on {Queue}; collecting it again", period.BillingPeriod, workerQueue);
                bytesOfEarlierTries += bytes;
            }
        }
    }

    /// <summary>The first file whose rows were read from another object than the listed one, or null.</summary>
    private static string? Redelivered(PeriodToCollect period, (SpooledFile Spooled, FileAggregateResult Aggregate)[] files)
    {
        if (period.FileETags is not { } listed)
        {
            return null;
        }

        for (var index = 0; index < files.Length && index < listed.Count; index++)
        {
            if (listed[index].Length > 0 && files[index].Aggregate.ETag is { } read && read.Trim('"') != listed[index].Trim('"'))
            {
                return period.FileKeys[index];
            }
        }

        return null;
    }

    private static async Task<(SpooledFile Spooled, FileAggregateResult Aggregate)> CollectFileAsync(
        ReportFileWork work, string workerQueue, TimeSpan queueTimeout, CancellationToken cancellationToken)
    {
        var downloadOptions = WorkerOptions(workerQueue, queueTimeout, TimeSpan.FromHours(2), $"download {work.Period.BillingPeriod} {work.FileKey}");
        var aggregateOptions = WorkerOptions(workerQueue, queueTimeout, TimeSpan.FromHours(4), $"aggregate {work.Period.BillingPeriod} {work.FileKey}");
        if (!Workflow.Patched(AggregateWhileDownloadingPatch))
        {
            downloadOptions.CancellationToken = cancellationToken;
            aggregateOptions.CancellationToken = cancellationToken;
            var spooled = await ExecuteOnWorkerAsync<SpooledFile>(ActivityNames.DownloadReportFile, [work], downloadOptions);
            var aggregate = await ExecuteOnWorkerAsync<FileAggregateResult>(
                ActivityNames.AggregateReportFile, [new AggregateFileInput(work, spooled.Path)], aggregateOptions);
            return (spooled, aggregate);
        }

        // Both at once on the same worker: the aggregation reads the file as the download writes it. When one fails,
        // the other is cancelled and the failure is the file's.
        using var stopDownload = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopAggregate = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        downloadOptions.CancellationToken = stopDownload.Token;
        aggregateOptions.CancellationToken = stopAggregate.Token;
        var download = ExecuteOnWorkerAsync<SpooledFile>(ActivityNames.DownloadReportFile, [work], downloadOptions);
        var aggregating = ExecuteOnWorkerAsync<FileAggregateResult>(
            ActivityNames.AggregateReportFile, [new AggregateFileInput(work, "", WhileDownloading: true)], aggregateOptions);
        var first = await Workflow.WhenAnyAsync(download, aggregating);
        if (!first.IsCompletedSuccessfully)
        {
            // Cancel, not CancelAsync: the latter runs the cancellation callbacks on the thread pool, outside the
            // workflow's deterministic scheduler.
            (ReferenceEquals(first, download) ? stopAggregate : stopDownload).Cancel();
            try
            {
                await (ReferenceEquals(first, download) ? (Task)aggregating : download);
            }
            catch (Exception e) when (e is ActivityFailureException || TemporalException.IsCanceledException(e))
            {
                // Cancelled, or failed as well: the first failure is the one that counts.
            }

            await first;
        }

        return (await download, await aggregating);
    }

    /// <summary>
    /// Runs an activity on a host queue. A task that timed out waiting there (schedule-to-start) is scheduled again on the
    /// same queue while the host answers on its liveness queue: its slots are taken by other work, and its files and
    /// checkpoints are still worth waiting for, up to the activity's schedule-to-close budget in all. When the host does
    /// not answer, the timeout stands, and the period starts over on another worker.
    /// </summary>
    private static async Task<T> ExecuteOnWorkerAsync<T>(string activity, IReadOnlyCollection<object?> args, ActivityOptions options)
    {
        var since = Workflow.UtcNow;
        while (true)
        {
            try
            {
                return await Workflow.ExecuteActivityAsync<T>(activity, args, options);
            }
            catch (ActivityFailureException e) when (TimedOutWaitingToStart(e))
            {
                if (!Workflow.Patched(BusyWorkerIsNotGonePatch)
                    || Workflow.UtcNow - since >= options.ScheduleToCloseTimeout
                    || !await IsHostAliveAsync(options.TaskQueue!, options.ScheduleToStartTimeout!.Value, options.CancellationToken ?? Workflow.CancellationToken))
                {
                    throw;
                }

                Workflow.Logger.LogInformation("Worker queue {Queue} is busy; {Activity} waits there again", options.TaskQueue, activity);
            }
        }
    }

    /// <summary>Nobody took the task from its queue in time: the queue's host is busy or gone.</summary>
    private static bool TimedOutWaitingToStart(ActivityFailureException e) =>
        e.InnerException is TimeoutFailureException { TimeoutType: TimeoutType.ScheduleToStart };

    private static async Task<bool> IsHostAliveAsync(string hostQueue, TimeSpan queueTimeout, CancellationToken cancellationToken)
    {
        // A live host's liveness worker polls all the time; the wait only needs to cover a worker reconnecting.
        var wait = TimeSpan.FromTicks(Math.Clamp(queueTimeout.Ticks, TimeSpan.FromSeconds(10).Ticks, TimeSpan.FromMinutes(1).Ticks));
        try
        {
            await Workflow.ExecuteActivityAsync<string>(
                ActivityNames.ConfirmWorkerAlive,
                [],
                new ActivityOptions
                {
                    TaskQueue = WorkerTaskQueue.LivenessQueueOf(hostQueue),
                    ScheduleToStartTimeout = wait,
                    StartToCloseTimeout = TimeSpan.FromSeconds(10),
                    ScheduleToCloseTimeout = wait + TimeSpan.FromSeconds(30),
                    RetryPolicy = TransientRetry,
                    Summary = $"is the host of {hostQueue} alive? a task waited too long on its queue",
                    CancellationToken = cancellationToken,
                });
            return true;
        }
        catch (ActivityFailureException e) when (e.InnerException is TimeoutFailureException)
        {
            return false;
        }
    }

    private static ActivityOptions SharedOptions(
        TimeSpan startToClose, TimeSpan scheduleToClose, string summary, TimeSpan? heartbeat = null, CancellationToken? cancellationToken = null) => new()
        {
            CancellationToken = cancellationToken,
            StartToCloseTimeout = startToClose,
            ScheduleToCloseTimeout = scheduleToClose,
            HeartbeatTimeout = heartbeat,
            RetryPolicy = TransientRetry,
            Summary = summary,
        };

    private static ActivityOptions WorkerOptions(string taskQueue, TimeSpan queueTimeout, TimeSpan scheduleToClose, string summary) => new()
    {
        TaskQueue = taskQueue,
        // A worker-specific queue has one host polling it: if nobody picks the task up soon, that host is gone or busy
        // (ExecuteOnWorkerAsync tells which).
        ScheduleToStartTimeout = queueTimeout,
        StartToCloseTimeout = scheduleToClose,
        ScheduleToCloseTimeout = scheduleToClose,
        HeartbeatTimeout = FileHeartbeatTimeout,
        RetryPolicy = TransientRetry,
        Summary = summary,
    };
}
