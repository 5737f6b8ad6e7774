using CurWorkflows.Cur;
using CurWorkflows.Workflows.Tests.Doubles;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Worker;

namespace CurWorkflows.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class IntegrationWorkflowTests(TemporalFixture temporal)
{
    private static readonly CollectionSchedule Hourly = new(TimeSpan.FromHours(1));

    [Fact]
    public async Task Refresh_starts_a_run_at_once_when_the_next_collection_is_hours_away()
    {
        var collector = new ScriptedCollector { HoldRuns = false };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue, nextDueUtc: DateTime.UtcNow.AddHours(5));
            await Eventually.TrueAsync(async () => (await handle.QueryAsync(wf => wf.GetStatus())).State == IntegrationState.Idle, "idle");
            Assert.Equal(0, collector.RunsStarted);

            var signalled = DateTime.UtcNow;
            await handle.SignalAsync(wf => wf.RefreshAsync());

            await Eventually.TrueAsync(() => !collector.Records.IsEmpty, "the refresh run is recorded", TimeSpan.FromSeconds(10));
            var record = Assert.Single(collector.Records);
            Assert.Equal(CollectionRunOutcome.Succeeded, record.Outcome);
            Assert.True(record.StartedUtc - signalled < TimeSpan.FromSeconds(5), $"run started {record.StartedUtc:O}, signal at {signalled:O}");
            Assert.Equal(IntegrationWorkflow.CollectionWorkflowIdFor(handle.Id["cur-integration-".Length..], record.StartedUtc), record.WorkflowId);
            Assert.Equal(10, record.Summary?.Rows);
        });
    }

    [Fact]
    public async Task Five_refreshes_during_a_run_give_exactly_one_more_run()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue);
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");
            for (var i = 0; i < 5; i++)
            {
                await handle.SignalAsync(wf => wf.RefreshAsync());
            }

            Assert.True((await handle.QueryAsync(wf => wf.GetStatus())).RefreshPending);
            collector.Finish(1);
            await Eventually.TrueAsync(() => collector.RunsStarted == 2, "the second run started");
            collector.Finish(2);
            await Eventually.TrueAsync(() => collector.Records.Count == 2, "both runs are recorded");

            // Give a (wrong) third run time to show up.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(2, collector.RunsStarted);
            var status = await handle.QueryAsync(wf => wf.GetStatus());
            Assert.Equal(IntegrationState.Idle, status.State);
            Assert.False(status.RefreshPending);
            Assert.Equal(2, status.CompletedRuns);
        });
    }

    [Fact]
    public async Task A_failed_collection_is_recorded_with_its_code_and_the_integration_goes_on()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue);
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");
            collector.Finish(1, ScriptedCollector.Coded(CurErrorCodes.AccessDenied));
            await Eventually.TrueAsync(() => collector.Records.Count == 1, "the failed run is recorded");

            var failed = Assert.Single(collector.Records);
            Assert.Equal(CollectionRunOutcome.Failed, failed.Outcome);
            Assert.Equal(CurErrorCodes.AccessDenied, failed.ErrorCode);
            Assert.Contains("scripted access_denied", failed.ErrorMessage, StringComparison.Ordinal);

            // The child shows as Failed in Temporal, the integration keeps running.
            var child = await temporal.Client.GetWorkflowHandle(failed.WorkflowId).DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Failed, child.Status);
            Assert.Equal(WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);
            var status = await handle.QueryAsync(wf => wf.GetStatus());
            Assert.Equal(CurErrorCodes.AccessDenied, status.LastRun?.ErrorCode);

            await handle.SignalAsync(wf => wf.RefreshAsync());
            await Eventually.TrueAsync(() => collector.RunsStarted == 2, "the next run started");
            collector.Finish(2);
            await Eventually.TrueAsync(() => collector.Records.Count == 2, "the next run is recorded");
            Assert.Equal(CollectionRunOutcome.Succeeded, collector.Records.Last().Outcome);
        });
    }

    [Fact]
    public async Task GetStatus_reports_the_running_collection_then_the_last_run_and_next_due_time()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue);
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");

            var running = await handle.QueryAsync(wf => wf.GetStatus());
            Assert.Equal(IntegrationState.Running, running.State);
            Assert.StartsWith($"cur-collection-{running.IntegrationId}-", running.CurrentRunWorkflowId, StringComparison.Ordinal);
            Assert.NotNull(running.CurrentRunStartedUtc);
            Assert.Null(running.LastRun);
            // The next collection after this one, not the due time that started it (already past).
            Assert.Equal(running.CurrentRunStartedUtc + Hourly.Interval, running.NextDueUtc);

            collector.Finish(1);
            await Eventually.TrueAsync(() => collector.Records.Count == 1, "the run is recorded");
            IntegrationStatus idle = running;
            await Eventually.TrueAsync(
                async () => (idle = await handle.QueryAsync(wf => wf.GetStatus())).State == IntegrationState.Idle, "idle again");
            Assert.Null(idle.CurrentRunWorkflowId);
            Assert.Equal(CollectionRunOutcome.Succeeded, idle.LastRun?.Outcome);
            Assert.Equal(running.CurrentRunWorkflowId, idle.LastRun?.WorkflowId);
            Assert.Equal(idle.LastRun!.StartedUtc + Hourly.Interval, idle.NextDueUtc);
        });
    }

    [Fact]
    public async Task Continue_as_new_after_a_run_keeps_the_last_outcome_and_the_schedule()
    {
        var collector = new ScriptedCollector { HoldRuns = false };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue);
            var firstRunId = (await handle.DescribeAsync()).RunId;
            await Eventually.TrueAsync(() => collector.Records.Count == 1, "the first run is recorded");
            await Eventually.TrueAsync(async () => (await handle.DescribeAsync()).RunId != firstRunId, "a new execution began");

            var status = await handle.QueryAsync(wf => wf.GetStatus());
            Assert.Equal(IntegrationState.Idle, status.State);
            Assert.Equal(1, status.CompletedRuns);
            Assert.Equal(collector.Records.Single().WorkflowId, status.LastRun?.WorkflowId);
            Assert.Equal(status.LastRun!.StartedUtc + Hourly.Interval, status.NextDueUtc);

            var previous = await temporal.Client.GetWorkflowHandle(handle.Id, firstRunId).DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.ContinuedAsNew, previous.Status);
            // The new execution starts with a short history: it is not waiting on anything that happened before.
            var events = await temporal.Client.GetWorkflowHandle(handle.Id).FetchHistoryAsync();
            Assert.True(events.Events.Count < 20, $"{events.Events.Count} events after continue-as-new");
        });
    }

    [Fact]
    public async Task Collections_fall_due_on_the_interval_without_any_signal()
    {
        var collector = new ScriptedCollector { HoldRuns = false };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            await StartAsync(taskQueue, schedule: new CollectionSchedule(TimeSpan.FromSeconds(2)));
            await Eventually.TrueAsync(() => collector.Records.Count >= 3, "three runs on the interval", TimeSpan.FromSeconds(20));
            var starts = collector.Records.Take(3).Select(r => r.StartedUtc).ToList();
            Assert.True(starts[1] - starts[0] >= TimeSpan.FromSeconds(2), $"runs at {starts[0]:O} and {starts[1]:O}");
            Assert.True(starts[2] - starts[1] >= TimeSpan.FromSeconds(2), $"runs at {starts[1]:O} and {starts[2]:O}");
        });
    }

    [Fact]
    public async Task Disable_while_idle_completes_the_workflow_with_a_disabled_status()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue, nextDueUtc: DateTime.UtcNow.AddHours(1));
            await handle.SignalAsync(wf => wf.DisableAsync());
            var final = await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(IntegrationState.Disabled, final.State);
            Assert.Null(final.NextDueUtc);
            Assert.Equal(WorkflowExecutionStatus.Completed, (await handle.DescribeAsync()).Status);
            Assert.Equal(0, collector.RunsStarted);
        });
    }

    [Fact]
    public async Task Disable_during_a_run_cancels_the_collection_records_it_and_completes()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue);
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");
            await handle.SignalAsync(wf => wf.DisableAsync());

            var final = await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(IntegrationState.Disabled, final.State);
            var record = Assert.Single(collector.Records);
            Assert.Equal(CollectionRunOutcome.Cancelled, record.Outcome);
            var child = await temporal.Client.GetWorkflowHandle(record.WorkflowId).DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Canceled, child.Status);
        });
    }

    [Fact]
    public async Task Disable_during_the_wait_before_a_run_completes_the_workflow_without_starting_it()
    {
        ScriptedCollector collector;
        string taskQueue;
        WorkflowHandle<IntegrationWorkflow, IntegrationStatus>? handle = null;
        for (var attempt = 0; ; attempt++)
        {
            Assert.True(attempt < 5, "the workflow never began its run within the last run's second");
            collector = new ScriptedCollector();
            taskQueue = TemporalFixture.NewTaskQueue();
            // The last run started in this second, so the run that is due now first waits out the rest of it.
            while (DateTime.UtcNow.Millisecond > 300)
            {
                await Task.Delay(10);
            }

            var integrationId = Guid.NewGuid().ToString("N");
            var lastStart = DateTime.UtcNow;
            var lastRun = new CollectionRunRecord(integrationId, "org-1", "earlier", null, lastStart, lastStart, CollectionRunOutcome.Succeeded);
            var input = new IntegrationWorkflowInput(integrationId, "org-1", Hourly, LastRun: lastRun);
            var started = await temporal.Client.StartWorkflowAsync(
                (IntegrationWorkflow wf) => wf.RunAsync(input),
                new(IntegrationWorkflow.WorkflowIdFor(integrationId), taskQueue) { TypedSearchAttributes = CurSearchAttributes.For(integrationId, "org-1") });
            using (var worker = NewWorker(collector, taskQueue))
            {
                await worker.ExecuteAsync(() => Eventually.TrueAsync(
                    async () => (await started.FetchHistoryAsync()).Events.Any(e => e.TimerStartedEventAttributes is not null || e.StartChildWorkflowExecutionInitiatedEventAttributes is not null),
                    "the workflow waits or starts its run"));
            }

            // Decided once the worker has stopped: a wait that ended while it shut down may have started the run.
            var history = (await started.FetchHistoryAsync()).Events;
            if (!history.Any(e => e.StartChildWorkflowExecutionInitiatedEventAttributes is not null))
            {
                handle = started;
                break;
            }

            await started.TerminateAsync("began its run in a later second than the last run's; trying again");
        }

        // With no worker running, the disable and the end of the wait reach the workflow in one activation.
        await handle.SignalAsync(wf => wf.DisableAsync());
        await Eventually.TrueAsync(
            async () => (await handle.FetchHistoryAsync()).Events.Any(e => e.TimerFiredEventAttributes is not null), "the wait ends");
        using (var worker = NewWorker(collector, taskQueue))
        {
            await worker.ExecuteAsync(async () =>
            {
                var final = await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(IntegrationState.Disabled, final.State);
            });
        }

        Assert.Equal(0, collector.RunsStarted);
        var final = await handle.FetchHistoryAsync();
        Assert.DoesNotContain(final.Events, e => e.StartChildWorkflowExecutionInitiatedEventAttributes is not null);
        await ReplayTests.ReplayAndMaybeRecordAsync(final, "IntegrationWorkflow-disabled-before-run");
    }

    [Fact]
    public async Task Enable_while_a_disabled_workflow_is_still_ending_keeps_the_integration_running()
    {
        var records = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = new ScriptedCollector { RecordGate = records };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var workflows = ClientFor(taskQueue);
            var integrationId = Guid.NewGuid().ToString("N");
            var workflowId = await workflows.EnsureStartedAsync(integrationId, "org-1");
            var firstRunId = (await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync()).RunId;
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");

            // Disable: the run is cancelled and its record is being written when the integration is enabled again.
            Assert.True(await workflows.DisableAsync(integrationId));
            await collector.RecordReached.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(workflowId, await workflows.EnsureStartedAsync(integrationId, "org-1"));
            records.SetResult();

            // As after any enable, a collection starts at once instead of at the next due time.
            await Eventually.TrueAsync(() => collector.RunsStarted == 2, "a second run started");
            var status = await workflows.GetStatusAsync(integrationId);
            Assert.Equal(IntegrationState.Running, status!.State);
            Assert.Equal(1, status.CompletedRuns);
            Assert.Equal(WorkflowExecutionStatus.Running, (await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync()).Status);
            Assert.Equal(CollectionRunOutcome.Cancelled, Assert.Single(collector.Records).Outcome);
            collector.Finish(2);
            // The execution that took the disable and the enable replays (and is kept as a fixture).
            await ReplayTests.ReplayAndMaybeRecordAsync(
                await temporal.Client.GetWorkflowHandle(workflowId, firstRunId).FetchHistoryAsync(), "IntegrationWorkflow-enabled-while-ending");
        });
    }

    [Fact]
    public async Task An_executions_first_run_starts_in_a_second_after_the_execution_so_its_id_is_new()
    {
        // A disable and an enable within one second start a new execution that does not know the last run of the one
        // before: its first run must not get that run's id (the id carries the start to the second).
        var collector = new ScriptedCollector { HoldRuns = false };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var workflows = ClientFor(taskQueue);
            var integrationId = Guid.NewGuid().ToString("N");
            var workflowId = await workflows.EnsureStartedAsync(integrationId, "org-1");
            var execution = await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync();
            var started = execution.StartTime;

            await Eventually.TrueAsync(() => collector.Records.Count == 1, "the first run is recorded", TimeSpan.FromSeconds(10));

            var run = Assert.Single(collector.Records);
            Assert.True(
                run.StartedUtc.Ticks / TimeSpan.TicksPerSecond > started.Ticks / TimeSpan.TicksPerSecond,
                $"the execution started at {started:O}, its first run at {run.StartedUtc:O}");
            await Eventually.TrueAsync(async () => (await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync()).RunId != execution.RunId, "the execution continued as new");
            await ReplayTests.ReplayAndMaybeRecordAsync(
                await temporal.Client.GetWorkflowHandle(workflowId, execution.RunId).FetchHistoryAsync(), "IntegrationWorkflow-first-run-in-its-own-second");
            Assert.True(await workflows.DisableAsync(integrationId));
        });
    }

    [Fact]
    public async Task Enabling_an_enabled_integration_again_collects_at_once_and_the_first_enable_only_once()
    {
        var collector = new ScriptedCollector { HoldRuns = false };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var workflows = ClientFor(taskQueue);
            var integrationId = Guid.NewGuid().ToString("N");
            var workflowId = await workflows.EnsureStartedAsync(integrationId, "org-1");
            await Eventually.TrueAsync(() => collector.Records.Count == 1, "the first run is recorded", TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(1, collector.RunsStarted);
            var idle = await workflows.GetStatusAsync(integrationId);
            Assert.Equal(IntegrationState.Idle, idle!.State);
            Assert.True(idle.NextDueUtc > DateTime.UtcNow.AddHours(23));

            // The customer fixes the external ID and posts the enable again: the next collection does not wait a day.
            await workflows.EnsureStartedAsync(integrationId, "org-1");

            await Eventually.TrueAsync(() => collector.Records.Count == 2, "the enable's run is recorded", TimeSpan.FromSeconds(10));
            Assert.Equal(2, collector.RunsStarted);
            await ReplayTests.ReplayAndMaybeRecordAsync(await temporal.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync(), "IntegrationWorkflow-enabled-again");
            Assert.True(await workflows.DisableAsync(integrationId));
        });
    }

    [Fact]
    public async Task Enabling_again_during_the_first_run_collects_once_more_after_it()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var workflows = ClientFor(taskQueue);
            var integrationId = Guid.NewGuid().ToString("N");
            var workflowId = await workflows.EnsureStartedAsync(integrationId, "org-1");
            await Eventually.TrueAsync(() => collector.RunsStarted == 1, "the first run started");
            Assert.False((await workflows.GetStatusAsync(integrationId))!.RefreshPending);

            // The customer posts the enable again (new settings, say) while the first run, started with the old ones,
            // is still going: no run has completed yet, but the enable must still lead to a run of its own after it.
            Assert.Equal(workflowId, await workflows.EnsureStartedAsync(integrationId, "org-1"));
            await Eventually.TrueAsync(async () => (await workflows.GetStatusAsync(integrationId))!.RefreshPending, "the enable asked for another run");
            collector.Finish(1);

            await Eventually.TrueAsync(() => collector.RunsStarted == 2, "a second run started after the first");
            collector.Finish(2);
            await Eventually.TrueAsync(() => collector.Records.Count == 2, "both runs are recorded");
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(2, collector.RunsStarted);
            await ReplayTests.ReplayAndMaybeRecordAsync(
                await temporal.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync(), "IntegrationWorkflow-enabled-during-first-run");
            Assert.True(await workflows.DisableAsync(integrationId));
        });
    }

    [Fact]
    public async Task Cancelling_the_workflow_stops_it_as_cancelled()
    {
        var collector = new ScriptedCollector();
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue, nextDueUtc: DateTime.UtcNow.AddHours(1));
            await Eventually.TrueAsync(async () => (await handle.QueryAsync(wf => wf.GetStatus())).State == IntegrationState.Idle, "idle");
            await handle.CancelAsync();
            await Eventually.TrueAsync(
                async () => (await handle.DescribeAsync()).Status == WorkflowExecutionStatus.Canceled, "the workflow is cancelled");
            Assert.Equal(0, collector.RunsStarted);
        });
    }

    [Fact]
    public async Task Both_workflows_carry_the_integration_and_organization_search_attributes()
    {
        var collector = new ScriptedCollector { HoldRuns = false };
        await RunWorkerAsync(collector, async taskQueue =>
        {
            var handle = await StartAsync(taskQueue, organizationId: "org-7");
            await Eventually.TrueAsync(() => collector.Records.Count == 1, "the run is recorded");
            var integrationId = handle.Id["cur-integration-".Length..];
            foreach (var workflowId in new[] { handle.Id, collector.Records.Single().WorkflowId })
            {
                var attributes = (await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync()).TypedSearchAttributes;
                Assert.Equal(integrationId, attributes.Get(CurSearchAttributes.IntegrationId));
                Assert.Equal("org-7", attributes.Get(CurSearchAttributes.OrganizationId));
            }

            var query = $"IntegrationId = '{integrationId}' AND WorkflowType = 'CollectionWorkflow'";
            await Eventually.TrueAsync(
                async () => await temporal.Client.CountWorkflowsAsync(query) is { Count: 1 }, "the run is found by its search attribute");
        });
    }

    /// <summary>The API's client of integration workflows, for workflows on <paramref name="taskQueue"/> (default schedule).</summary>
    private IntegrationWorkflowClient ClientFor(string taskQueue) => new(
        temporal.Client,
        Microsoft.Extensions.Options.Options.Create(new Hosting.TemporalOptions { TaskQueue = taskQueue }),
        Microsoft.Extensions.Options.Options.Create(new Hosting.CollectionOptions()));

    private async Task RunWorkerAsync(ScriptedCollector collector, Func<string, Task> test)
    {
        var taskQueue = TemporalFixture.NewTaskQueue();
        using var worker = NewWorker(collector, taskQueue);
        await worker.ExecuteAsync(() => test(taskQueue));
    }

    private TemporalWorker NewWorker(ScriptedCollector collector, string taskQueue) => new(
        temporal.Client,
        new TemporalWorkerOptions(taskQueue)
            .AddWorkflow<IntegrationWorkflow>()
            .AddWorkflow<ScriptedCollectionWorkflow>()
            .AddAllActivities(collector));

    private Task<WorkflowHandle<IntegrationWorkflow, IntegrationStatus>> StartAsync(
        string taskQueue, DateTime? nextDueUtc = null, CollectionSchedule? schedule = null, string organizationId = "org-1")
    {
        var integrationId = Guid.NewGuid().ToString("N");
        var input = new IntegrationWorkflowInput(integrationId, organizationId, schedule ?? Hourly, nextDueUtc);
        return temporal.Client.StartWorkflowAsync(
            (IntegrationWorkflow wf) => wf.RunAsync(input),
            new(IntegrationWorkflow.WorkflowIdFor(integrationId), taskQueue)
            {
                TypedSearchAttributes = CurSearchAttributes.For(integrationId, organizationId),
            });
    }
}
