using System.Globalization;
using CurWorkflows.Cur;
using Microsoft.Extensions.Logging;
using Temporalio.Common;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace CurWorkflows.Workflows;

/// <summary>
/// One collection run (id <c>cur-collection-{integrationId}-{startUtc:yyyyMMddTHHmmssZ}</c>): validate access, plan the
/// periods to collect, download and aggregate their files on the worker that spooled them, and replace each period.
/// </summary>
[Workflow]
public sealed class CollectionWorkflow
{
    /// <summary>How often a worker-specific file job starts over on another worker after its worker disappeared.</summary>
    internal const int MaxWorkerSwitches = 3;

    internal static readonly TimeSpan FileHeartbeatTimeout = TimeSpan.FromSeconds(20);

    private static readonly string[] NonRetryableCodes =
        [CurErrorCodes.AccessDenied, CurErrorCodes.BucketNotFound, CurErrorCodes.ReportNotFound, CurErrorCodes.ReportMalformed];

    private static readonly RetryPolicy TransientRetry = new()
    {
        InitialInterval = TimeSpan.FromSeconds(1),
        BackoffCoefficient = 2,
        MaximumInterval = TimeSpan.FromMinutes(1),
        NonRetryableErrorTypes = NonRetryableCodes,
    };

    [WorkflowRun]
    public async Task<CollectionSummary> RunAsync(CollectionWorkflowInput input)
    {
        var run = new CollectionRunRef(input.IntegrationId, input.OrganizationId, Workflow.Info.WorkflowId);
        try
        {
            await Workflow.ExecuteActivityAsync(
                ActivityNames.ValidateAccess,
                [run],
                new ActivityOptions
                {
                    StartToCloseTimeout = TimeSpan.FromMinutes(2),
                    ScheduleToCloseTimeout = TimeSpan.FromMinutes(15),
                    RetryPolicy = TransientRetry,
                    Summary = "assume the integration's role and check the bucket",
                });

            var plan = await Workflow.ExecuteActivityAsync<CollectionPlan>(
                ActivityNames.PlanCollection,
                [run],
                new ActivityOptions
                {
                    StartToCloseTimeout = TimeSpan.FromMinutes(10),
                    ScheduleToCloseTimeout = TimeSpan.FromMinutes(30),
                    HeartbeatTimeout = TimeSpan.FromMinutes(1),
                    RetryPolicy = TransientRetry,
                    Summary = "list the bucket and read the manifests",
                });

            var summary = new CollectionSummary(PeriodsFound: plan.PeriodsFound, PeriodsSkipped: plan.PeriodsSkipped);
            var total = 0m;
            foreach (var period in plan.Periods)
            {
                var (rows, bytes, periodTotal) = await CollectPeriodAsync(run, period, Math.Max(1, plan.MaxParallelFiles));
                await Workflow.ExecuteActivityAsync<PersistPeriodResult>(
                    ActivityNames.PersistPeriod,
                    [new PersistPeriodInput(run, period, rows, periodTotal.ToString(CultureInfo.InvariantCulture))],
                    new ActivityOptions
                    {
                        StartToCloseTimeout = TimeSpan.FromMinutes(30),
                        ScheduleToCloseTimeout = TimeSpan.FromHours(2),
                        RetryPolicy = TransientRetry,
                        Summary = $"replace period {period.BillingPeriod} (assembly {period.AssemblyId})",
                    });
                total += periodTotal;
                summary = summary with
                {
                    PeriodsStored = summary.PeriodsStored + 1,
                    Files = summary.Files + period.Files.Count,
                    Rows = summary.Rows + rows,
                    BytesDownloaded = summary.BytesDownloaded + bytes,
                };
            }

            return summary with { UnblendedTotal = total.ToString(CultureInfo.InvariantCulture) };
        }
        catch (ActivityFailureException e) when (FindCodedFailure(e) is { } coded)
        {
            // Fail the run with the stable code as its own type, so the UI shows the cause at the top.
            throw new ApplicationFailureException(coded.Message, e, coded.ErrorType, nonRetryable: true);
        }
    }

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

    private static async Task<(long Rows, long Bytes, decimal Total)> CollectPeriodAsync(
        CollectionRunRef run, PeriodToCollect period, int maxParallelFiles)
    {
        var slots = new Temporalio.Workflows.Semaphore(maxParallelFiles);
        var jobs = Enumerable.Range(0, period.Files.Count).Select(async index =>
        {
            await slots.WaitAsync();
            try
            {
                return await CollectFileAsync(new ReportFileWork(run, period, index));
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        var results = await Workflow.WhenAllAsync(jobs);
        return (
            results.Sum(r => r.Aggregate.Rows),
            results.Sum(r => r.Spooled.BytesTransferred),
            results.Sum(r => decimal.Parse(r.Aggregate.UnblendedTotal, CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Downloads a file and aggregates it on the same worker (its spool directory holds the file and the checkpoint).
    /// When that worker is gone for longer than the schedule-to-start timeout, start over on another worker.
    /// </summary>
    private static async Task<(SpooledFile Spooled, FileAggregateResult Aggregate)> CollectFileAsync(ReportFileWork work)
    {
        for (var switches = 0; ; switches++)
        {
            var workerQueue = await Workflow.ExecuteActivityAsync<string>(
                ActivityNames.GetWorkerTaskQueue,
                [],
                new ActivityOptions { StartToCloseTimeout = TimeSpan.FromSeconds(30), RetryPolicy = TransientRetry, Summary = "pick a worker" });
            try
            {
                var spooled = await Workflow.ExecuteActivityAsync<SpooledFile>(
                    ActivityNames.DownloadReportFile,
                    [work],
                    WorkerFileOptions(workerQueue, TimeSpan.FromHours(2), $"download {work.Period.BillingPeriod} {work.File.Key}"));
                var aggregate = await Workflow.ExecuteActivityAsync<FileAggregateResult>(
                    ActivityNames.AggregateReportFile,
                    [new AggregateFileInput(work, spooled.Path)],
                    WorkerFileOptions(workerQueue, TimeSpan.FromHours(4), $"aggregate {work.Period.BillingPeriod} {work.File.Key}"));
                return (spooled, aggregate);
            }
            catch (ActivityFailureException e) when (
                e.InnerException is TimeoutFailureException { TimeoutType: Temporalio.Api.Enums.V1.TimeoutType.ScheduleToStart } &&
                switches < MaxWorkerSwitches)
            {
                Workflow.Logger.LogWarning("Worker queue {Queue} is gone, collecting {Key} elsewhere", workerQueue, work.File.Key);
            }
        }
    }

    private static ActivityOptions WorkerFileOptions(string taskQueue, TimeSpan scheduleToClose, string summary) => new()
    {
        TaskQueue = taskQueue,
        // A worker-specific queue has exactly one poller: if it does not pick the task up soon, it is gone.
        ScheduleToStartTimeout = TimeSpan.FromMinutes(5),
        StartToCloseTimeout = scheduleToClose,
        ScheduleToCloseTimeout = scheduleToClose,
        HeartbeatTimeout = FileHeartbeatTimeout,
        RetryPolicy = TransientRetry,
        Summary = summary,
    };
}
