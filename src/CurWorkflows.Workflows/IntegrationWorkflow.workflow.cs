using Microsoft.Extensions.Logging;
using Temporalio.Exceptions;
using Temporalio.Workflows;

namespace CurWorkflows.Workflows;

/// <summary>
/// One per enabled integration (id <c>cur-integration-{integrationId}</c>): waits until a collection is due or a
/// refresh arrives, runs one <see cref="CollectionWorkflow"/> as a child, records its outcome and continues as new.
/// </summary>
[Workflow]
public sealed class IntegrationWorkflow
{
    public static readonly TimeSpan DefaultCollectionTimeout = TimeSpan.FromHours(12);

    private static readonly ActivityOptions RecordRunOptions = new()
    {
        StartToCloseTimeout = TimeSpan.FromSeconds(30),
        ScheduleToCloseTimeout = TimeSpan.FromHours(1),
        RetryPolicy = new() { InitialInterval = TimeSpan.FromSeconds(1), BackoffCoefficient = 2, MaximumInterval = TimeSpan.FromMinutes(1) },
        // Recording must happen even while the workflow itself is being cancelled.
        CancellationToken = CancellationToken.None,
        Summary = "record collection run",
    };

    private readonly IntegrationWorkflowInput input;
    private CollectionRunRecord? lastRun;
    private DateTime? nextDueUtc;
    private bool refreshPending;
    private int completedRuns;
    private bool disabled;
    private bool enabledDuringRun;
    private string? currentRunWorkflowId;
    private DateTime? currentRunStartedUtc;
    private CancellationTokenSource? currentRunCancellation;

    [WorkflowInit]
    public IntegrationWorkflow(IntegrationWorkflowInput input)
    {
        this.input = input;
        lastRun = input.LastRun;
        nextDueUtc = input.NextDueUtc;
        refreshPending = input.RefreshPending;
        completedRuns = input.CompletedRuns;
    }

    public static string WorkflowIdFor(string integrationId) => $"cur-integration-{integrationId}";

    private const string DistinctCollectionIdsPatch = "distinct-collection-ids";

    /// <summary>Runs after it start an execution's first collection in the second after the execution's start.</summary>
    internal const string DistinctFirstRunIdPatch = "distinct-first-run-id";

    internal const string EnableSignalPatch = "enable-signal";

    internal const string DisabledBeforeRunPatch = "disabled-before-run";

    /// <summary>Runs after it collect at once when an enabled integration is enabled again (new settings, say a fixed
    /// external ID); before it, the enable waited for the next due time.</summary>
    internal const string EnableCollectsPatch = "enable-collects";

    /// <summary>Runs after it end the workflow when the collection finds the integration disabled in the database.</summary>
    internal const string EndWhenStoredDisabledPatch = "end-when-stored-disabled";

    private static long StartSecond(DateTime utc) => utc.Ticks / TimeSpan.TicksPerSecond;

    public static string CollectionWorkflowIdFor(string integrationId, DateTime startUtc) =>
        $"cur-collection-{integrationId}-{startUtc:yyyyMMddTHHmmssZ}";

    [WorkflowRun]
    public async Task<IntegrationStatus> RunAsync(IntegrationWorkflowInput input)
    {
        EnsureSearchAttributes();
        var dueUtc = nextDueUtc ?? Workflow.UtcNow;
        nextDueUtc = dueUtc;

        var wait = dueUtc - Workflow.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Workflow.WaitConditionAsync(() => refreshPending || disabled, wait);
        }

        if (disabled)
        {
            return GetStatus();
        }

        refreshPending = false;
        await WaitOutLastRunsSecondAsync();

        // Patched: before it, a disable during that wait still let the run start (and replays so).
        if (disabled && Workflow.Patched(DisabledBeforeRunPatch))
        {
            return GetStatus();
        }

        enabledDuringRun = false;
        var record = await RunCollectionAsync();
        // An enable during the run (after its validation read the database) stands: the next run validates again.
        if (record.ErrorCode == CollectionErrorCodes.IntegrationDisabled && !enabledDuringRun && Workflow.Patched(EndWhenStoredDisabledPatch))
        {
            disabled = true;
        }

        lastRun = record;
        completedRuns++;
        currentRunWorkflowId = null;
        currentRunStartedUtc = null;

        // The record is written even when the run was cancelled by disable or by workflow cancellation. A failure
        // to record is logged, never fatal: the integration must go on.
        try
        {
            await Workflow.ExecuteActivityAsync(ActivityNames.RecordCollectionRun, [record], RecordRunOptions);
        }
        catch (ActivityFailureException e)
        {
            Workflow.Logger.LogError(e, "Could not record collection run {WorkflowId}", record.WorkflowId);
        }

        Workflow.CancellationToken.ThrowIfCancellationRequested();
        if (disabled)
        {
            return GetStatus();
        }

        nextDueUtc = CollectionScheduleMath.NextDue(input.Schedule, record.StartedUtc);
        await Workflow.WaitConditionAsync(() => Workflow.AllHandlersFinished);
        var next = input with
        {
            NextDueUtc = nextDueUtc,
            RefreshPending = refreshPending,
            LastRun = lastRun,
            CompletedRuns = completedRuns,
        };
        throw Workflow.CreateContinueAsNewException((IntegrationWorkflow wf) => wf.RunAsync(next));
    }

    /// <summary>Asks for a collection now; refreshes that arrive during a run cause exactly one more run.</summary>
    [WorkflowSignal]
    public Task RefreshAsync()
    {
        refreshPending = true;
        return Task.CompletedTask;
    }

    /// <summary>Ends the integration: a running collection is cancelled and the workflow completes.</summary>
    [WorkflowSignal]
    public Task DisableAsync()
    {
        disabled = true;
        currentRunCancellation?.Cancel();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Enables the integration again: the enable request starts the workflow with this signal. When it finds an execution
    /// still ending after a disable (recording the cancelled run), that execution goes on instead of completing, so the
    /// integration is not left enabled without a workflow; as after any enable, a collection runs at once (the one the
    /// disable cancelled is not left for the next due time, nor the one of an enable that changed the settings).
    /// </summary>
    [WorkflowSignal]
    public Task EnableAsync()
    {
        enabledDuringRun = true;
        // Patched: an execution that took this signal before the handler existed ignored it, and replays so.
        if (disabled && Workflow.Patched(EnableSignalPatch))
        {
            disabled = false;
            refreshPending = true;
        }
        else if (!disabled && (completedRuns > 0 || currentRunWorkflowId is not null) && Workflow.Patched(EnableCollectsPatch))
        {
            // An execution the enable itself started has its first run due at once already.
            refreshPending = true;
        }

        return Task.CompletedTask;
    }

    [WorkflowQuery]
    public IntegrationStatus GetStatus() => new(
        input.IntegrationId,
        disabled ? IntegrationState.Disabled : currentRunWorkflowId is null ? IntegrationState.Idle : IntegrationState.Running,
        currentRunWorkflowId,
        currentRunStartedUtc,
        lastRun,
        disabled ? null : nextDueUtc,
        refreshPending,
        completedRuns);

    /// <summary>
    /// Collection ids carry their start to the second. A refresh right after a short run would reuse the last run's id
    /// (and so its run record): wait out the rest of that second. Patched, so older histories replay unchanged.
    /// </summary>
    private async Task WaitOutLastRunsSecondAsync()
    {
        // An execution started within the second of the last run of the one before it (a disable and an enable at once)
        // does not know that run: its first run starts in a second of its own too. The patches are asked in this order.
        if ((lastRun is not null && StartSecond(Workflow.UtcNow) == StartSecond(lastRun.StartedUtc) && Workflow.Patched(DistinctCollectionIdsPatch))
            || (lastRun is null && completedRuns == 0 && Workflow.Patched(DistinctFirstRunIdPatch)))
        {
            await Workflow.DelayAsync(TimeSpan.FromTicks(TimeSpan.TicksPerSecond - (Workflow.UtcNow.Ticks % TimeSpan.TicksPerSecond)));
        }
    }

    private async Task<CollectionRunRecord> RunCollectionAsync()
    {
        var startedUtc = Workflow.UtcNow;
        var workflowId = CollectionWorkflowIdFor(input.IntegrationId, startedUtc);
        currentRunWorkflowId = workflowId;
        currentRunStartedUtc = startedUtc;
        // The status's next due time is the one after this run from now on, not the past one that started it. Query
        // state only: the same value is computed from the run's record once it has ended.
        nextDueUtc = CollectionScheduleMath.NextDue(input.Schedule, startedUtc);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Workflow.CancellationToken);
        currentRunCancellation = cancellation;
        string? runId = null;
        try
        {
            var handle = await Workflow.StartChildWorkflowAsync(
                (CollectionWorkflow wf) => wf.RunAsync(new CollectionWorkflowInput(input.IntegrationId, input.OrganizationId)),
                new ChildWorkflowOptions
                {
                    Id = workflowId,
                    TypedSearchAttributes = CurSearchAttributes.For(input.IntegrationId, input.OrganizationId),
                    ExecutionTimeout = input.CollectionTimeout ?? DefaultCollectionTimeout,
                    CancellationToken = cancellation.Token,
                    StaticSummary = $"collection of integration {input.IntegrationId}",
                });
            runId = handle.FirstExecutionRunId;
            var summary = await handle.GetResultAsync();
            return Record(CollectionRunOutcome.Succeeded, summary: summary);
        }
        catch (ChildWorkflowFailureException e) when (e.InnerException is CanceledFailureException)
        {
            return Record(CollectionRunOutcome.Cancelled, errorMessage: "the collection was cancelled");
        }
        catch (ChildWorkflowFailureException e)
        {
            var (code, message) = DescribeFailure(e.InnerException ?? e);
            Workflow.Logger.LogWarning("Collection {WorkflowId} failed with {ErrorCode}: {ErrorMessage}", workflowId, code, message);
            return Record(CollectionRunOutcome.Failed, code, message);
        }
        catch (Exception e) when (TemporalException.IsCanceledException(e))
        {
            return Record(CollectionRunOutcome.Cancelled, errorMessage: "the collection was cancelled");
        }
        finally
        {
            currentRunCancellation = null;
        }

        CollectionRunRecord Record(
            CollectionRunOutcome outcome, string? errorCode = null, string? errorMessage = null, CollectionSummary? summary = null) =>
            new(input.IntegrationId, input.OrganizationId, workflowId, runId, startedUtc, Workflow.UtcNow, outcome, errorCode, errorMessage, summary);
    }

    /// <summary>The error code and message of a failed run: the first application failure with a type in the chain.</summary>
    internal static (string Code, string Message) DescribeFailure(Exception failure)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ApplicationFailureException { ErrorType: { Length: > 0 } type } app:
                    return (type, app.Message);
                case TimeoutFailureException timeout:
                    return (CollectionErrorCodes.Timeout, timeout.Message);
            }
        }

        return (CollectionErrorCodes.Internal, failure.Message);
    }

    private void EnsureSearchAttributes()
    {
        var current = Workflow.TypedSearchAttributes;
        if (current.TryGetValue(CurSearchAttributes.IntegrationId, out var integrationId) && integrationId == input.IntegrationId &&
            current.TryGetValue(CurSearchAttributes.OrganizationId, out var organizationId) && organizationId == input.OrganizationId)
        {
            return;
        }

        Workflow.UpsertTypedSearchAttributes(
            CurSearchAttributes.IntegrationId.ValueSet(input.IntegrationId),
            CurSearchAttributes.OrganizationId.ValueSet(input.OrganizationId));
    }
}
