using System.Globalization;
using System.Text;
using CurWorkflows.Aws;
using CurWorkflows.Cur;
using CurWorkflows.LocalAws;
using CurWorkflows.ReportGenerator;
using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows.Activities;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace CurWorkflows.Workflows.Tests;

/// <summary>Real collections: dev server, local AWS endpoint with the real SDK clients, SQLite and PostgreSQL.</summary>
[Collection(TemporalCollection.Name)]
public sealed class CollectionWorkflowTests(TemporalFixture temporal)
{
    public static TheoryData<TestDatabase> Databases()
    {
        var data = new TheoryData<TestDatabase> { TestDatabase.Sqlite };
        if (CollectionEnvironment.PostgresConnectionString is not null)
        {
            data.Add(TestDatabase.PostgreSql);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Databases))]
    public async Task Full_collection_of_a_multi_file_report_stores_the_generators_exact_totals(TestDatabase database)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, database);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 3, rows: 30_000, seed: 11, assemblyId: "asm-1"));

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.Equal(1, summary.PeriodsStored);
        Assert.Equal(3, summary.Files);
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
        var period = await SingleStoredPeriodAsync(worker.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
        Assert.Equal(delivery.Truth.NetUnblended, period.Totals.NetUnblended);
        Assert.Equal(delivery.Truth.Amortized, period.Totals.Amortized);
        Assert.Equal(delivery.Truth.Rows, period.LineItemRows);
        Assert.Equal("asm-1", period.AssemblyId);

        // Every payload of the run (inputs, results) is small: aggregates travel through the spool and the database.
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var payloads = HistoryText.DecodedPayloads(history.ToJson()).ToList();
        Assert.NotEmpty(payloads);
        Assert.All(payloads, payload => Assert.True(Encoding.UTF8.GetByteCount(payload) <= 4096, $"a payload of {Encoding.UTF8.GetByteCount(payload)} bytes: {payload[..Math.Min(200, payload.Length)]}"));

        // A file's activities carry its own key, not the period's list of keys (N files would put N^2 keys into history).
        var fileInputs = history.Events
            .Where(e => e.ActivityTaskScheduledEventAttributes?.ActivityType.Name is ActivityNames.DownloadReportFile or ActivityNames.AggregateReportFile)
            .Select(e => e.ActivityTaskScheduledEventAttributes.Input.Payloads_.Single().Data.ToStringUtf8())
            .ToList();
        Assert.Equal(2 * delivery.DataKeys.Count, fileInputs.Count);
        Assert.All(fileInputs, input => Assert.Single(delivery.DataKeys, key => input.Contains(key, StringComparison.Ordinal)));

        // Every activity carries a summary for the UI; the file activities name their period and file.
        var summaries = history.Events
            .Where(e => e.ActivityTaskScheduledEventAttributes is not null)
            .Select(e => (e.ActivityTaskScheduledEventAttributes.ActivityType.Name, Summary: System.Text.Json.JsonSerializer.Deserialize<string>(e.UserMetadata.Summary.Data.ToStringUtf8())!))
            .ToList();
        Assert.All(summaries, s => Assert.False(string.IsNullOrWhiteSpace(s.Summary), s.Name));
        foreach (var key in delivery.DataKeys)
        {
            Assert.Contains(summaries, s => s.Name == ActivityNames.DownloadReportFile && s.Summary.Contains("2026-10-01", StringComparison.Ordinal) && s.Summary.Contains(key, StringComparison.Ordinal));
            Assert.Contains(summaries, s => s.Name == ActivityNames.AggregateReportFile && s.Summary.Contains("2026-10-01", StringComparison.Ordinal) && s.Summary.Contains(key, StringComparison.Ordinal));
        }

        // The activities that do not depend on one another start together, in the run's first workflow task (patch
        // plan-while-validating): recording the run, validating access, planning and picking the first worker.
        string[] prelude = [ActivityNames.BeginCollectionRun, ActivityNames.ValidateAccess, ActivityNames.PlanCollection, ActivityNames.GetWorkerTaskQueue];
        var scheduledBy = prelude
            .Select(name => history.Events.Single(e => e.ActivityTaskScheduledEventAttributes?.ActivityType.Name == name).ActivityTaskScheduledEventAttributes.WorkflowTaskCompletedEventId)
            .ToList();
        Assert.Single(scheduledBy.Distinct());

        // The run's history replays against the current code (and is kept as a replay fixture on request; the fixtures
        // CollectionWorkflow-full-collection-Sqlite and CollectionWorkflow-parallel-start-Sqlite are such runs from before
        // the patches parallel-start and plan-while-validating).
        await ReplayTests.ReplayAndMaybeRecordAsync(history, $"CollectionWorkflow-plan-while-validating-{database}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task The_files_of_a_period_are_processed_at_most_the_configured_number_at_a_time(int maxParallelFiles)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Collection:MaxParallelFiles"] = maxParallelFiles.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 4, rows: 4_000, seed: 71, assemblyId: "asm-par"));

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.Equal(4, summary.Files);
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));

        // A file is in progress from its download's scheduling to its aggregation's completion (a file's two
        // activities run at once); the most files in progress at once is the configured limit.
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var aggregations = ScheduledEventIds(history, ActivityNames.AggregateReportFile);
        int inProgress = 0, most = 0;
        foreach (var e in history.Events)
        {
            if (e.ActivityTaskScheduledEventAttributes?.ActivityType.Name == ActivityNames.DownloadReportFile)
            {
                most = Math.Max(most, ++inProgress);
            }
            else if (e.ActivityTaskCompletedEventAttributes is { } completed && aggregations.Contains(completed.ScheduledEventId))
            {
                inProgress--;
            }
        }

        Assert.Equal(0, inProgress);
        Assert.Equal(maxParallelFiles, most);
    }

    [Fact]
    public async Task A_run_collects_the_current_month_and_the_configured_backfill_months_and_nothing_older()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Collection:BackfillMonths"] = "2" });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var today = DateTime.UtcNow;
        var currentMonth = new DateOnly(today.Year, today.Month, 1);
        var truths = new Dictionary<DateOnly, decimal>();
        for (var monthsBack = 0; monthsBack <= 3; monthsBack++)
        {
            var month = currentMonth.AddMonths(-monthsBack);
            var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 500, seed: 80 + monthsBack, assemblyId: $"asm-{month:yyyyMM}", period: month));
            truths[month] = delivery.Truth.Unblended;
        }

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.Equal(3, summary.PeriodsFound);
        Assert.Equal(3, summary.PeriodsStored);
        var stored = await worker.Services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId);
        Assert.Equal(
            [currentMonth.AddMonths(-2), currentMonth.AddMonths(-1), currentMonth],
            stored.Select(p => p.PeriodStart).Order());
        Assert.All(stored, p => Assert.Equal(truths[p.PeriodStart], p.Totals.Unblended));
    }

    [Fact]
    public async Task Untagged_rows_of_resources_tagged_through_the_tagging_api_are_attributed_to_their_package()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 20_000, seed: 5, assemblyId: "asm-tags"));
        environment.TagThroughTheApi(delivery);

        Assert.NotEqual(0m, delivery.Truth.TaggingApiAttributableUnblended);

        await RunCollectionAsync(environment, organizationId, integrationId);

        var totals = await OctoberTotalsAsync(worker.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, totals.Total.Unblended);
        Assert.Equal(delivery.Truth.UntaggedUnblended - delivery.Truth.TaggingApiAttributableUnblended, totals.Untagged.Unblended);
    }

    [Theory]
    [MemberData(nameof(Databases))]
    public async Task The_same_assembly_again_stores_nothing_new_and_a_restated_assembly_replaces_the_period(TestDatabase database)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, database);
        var worker = await environment.StartWorkerAsync();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 2, rows: 8_000, seed: 21, assemblyId: "asm-a"));

        var first = await RunCollectionAsync(environment, organizationId, integrationId);
        var stored = Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal(1, first.PeriodsStored);

        var again = await RunCollectionAsync(environment, organizationId, integrationId);
        Assert.Equal(0, again.PeriodsStored);
        Assert.Equal(1, again.PeriodsSkipped);
        Assert.Equal(0, again.Files);
        Assert.Equal(stored, Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId)));

        var restated = await environment.DeliverAsync(Delivery(files: 2, rows: 9_000, seed: 22, assemblyId: "asm-b"));
        var third = await RunCollectionAsync(environment, organizationId, integrationId);
        Assert.Equal(1, third.PeriodsStored);
        var replaced = Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal("asm-b", replaced.AssemblyId);
        Assert.Equal(restated.Truth.Unblended, replaced.Totals.Unblended);
        Assert.Equal(restated.Truth.Amortized, replaced.Totals.Amortized);
        Assert.NotEqual(stored.Totals.Unblended + restated.Truth.Unblended, replaced.Totals.Unblended);
    }

    [Fact]
    public async Task A_delivery_rewritten_under_the_same_assembly_id_with_a_new_manifest_etag_is_collected_again_and_replaces_the_period()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 2, rows: 8_000, seed: 21, assemblyId: "asm-same"));
        Assert.Equal(1, (await RunCollectionAsync(environment, organizationId, integrationId)).PeriodsStored);
        var stored = Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId));

        // AWS rewrote the delivery in place: same assemblyId, other files (three instead of two), so another manifest.
        var rewritten = await environment.DeliverAsync(Delivery(files: 3, rows: 9_000, seed: 22, assemblyId: "asm-same"));
        var second = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.Equal((1, 0, 3), (second.PeriodsStored, second.PeriodsSkipped, second.Files));
        var replaced = Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal("asm-same", replaced.AssemblyId);
        Assert.NotEqual(stored.ManifestETag, replaced.ManifestETag);
        Assert.NotEqual(stored.Totals.Unblended, rewritten.Truth.Unblended);
        Assert.Equal(rewritten.Truth.Unblended, replaced.Totals.Unblended);
        Assert.Equal(rewritten.Truth.NetUnblended, replaced.Totals.NetUnblended);
        Assert.Equal(rewritten.Truth.Amortized, replaced.Totals.Amortized);
        Assert.Equal(rewritten.Truth.Rows, replaced.LineItemRows);
    }

    [Fact]
    public async Task S3_throttling_errors_and_connection_resets_are_retried_to_the_exact_totals()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Aws:MaxErrorRetry"] = "0" });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 10_000, seed: 31, assemblyId: "asm-f"));

        environment.Aws.Faults.Add(new InjectedFault(FaultKind.SlowDown, LocalAwsOperations.ListObjectsV2, Times: 2));
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.InternalError, LocalAwsOperations.GetObject, Times: 2));
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, Times: 1, AfterBytes: 100_000));
        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.Equal(0, environment.Aws.Faults.Pending);
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        var period = await SingleStoredPeriodAsync(worker.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
    }

    [Fact]
    public async Task The_files_of_a_run_share_one_tag_lookup_and_a_failed_lookup_is_made_again()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Collection:MaxParallelFiles"] = "3" });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 3, rows: 6_000, seed: 53, assemblyId: "asm-tags"));
        environment.TagThroughTheApi(delivery);

        environment.TagOtherResources(150, _ => "elsewhere");

        Assert.NotEqual(0m, delivery.Truth.TaggingApiAttributableUnblended);

        // Every attempt of the run's first lookup fails (the tagging client tries five times): the files' aggregations
        // fail with it and their retries make one lookup more, not one each and not none.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.InternalError, LocalAwsOperations.GetResources, Times: 5));
        environment.Aws.Counters.Reset();
        var summary = await RunCollectionAsync(environment, organizationId, integrationId);
        var requestsOfTheRun = environment.Aws.Counters.Requests(LocalAwsOperations.GetResources);

        Assert.Equal(0, environment.Aws.Faults.Pending);
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var aggregations = ScheduledEventIds(history, ActivityNames.AggregateReportFile);
        Assert.Equal(3, aggregations.Count);
        Assert.Contains(history.Events, e => e.ActivityTaskStartedEventAttributes is { Attempt: > 1 } started && aggregations.Contains(started.ScheduledEventId));
        environment.Aws.Counters.Reset();
        await worker.Services.GetRequiredService<ResourceTagClient>().GetTagValuesAsync(
            new CustomerRole(integrationId.ToString(), CollectionEnvironment.RoleArn, CollectionEnvironment.ExternalId), "md-package");
        var requestsOfOneLookup = environment.Aws.Counters.Requests(LocalAwsOperations.GetResources);
        Assert.True(requestsOfOneLookup > 1, $"{requestsOfOneLookup} pages");
        Assert.Equal(5 + requestsOfOneLookup, requestsOfTheRun);

        // Every file was attributed through the shared index.
        var totals = await OctoberTotalsAsync(worker.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.UntaggedUnblended - delivery.Truth.TaggingApiAttributableUnblended, totals.Untagged.Unblended);
    }

    [Fact]
    public async Task An_aggregation_heartbeats_while_it_waits_for_a_slow_tag_lookup()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 2_000, seed: 59, assemblyId: "asm-slow-tags"));

        // Longer than the file activities' heartbeat timeout.
        Assert.True(CollectionWorkflow.FileHeartbeatTimeout < TimeSpan.FromSeconds(25));
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.Delay, LocalAwsOperations.GetResources, DelayMilliseconds: 25_000));
        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.Equal(0, environment.Aws.Faults.Pending);
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var aggregation = ScheduledEventIds(history, ActivityNames.AggregateReportFile).Single();
        var started = history.Events.Single(e => e.ActivityTaskStartedEventAttributes?.ScheduledEventId == aggregation);
        Assert.Equal(1, started.ActivityTaskStartedEventAttributes.Attempt);
        // The one attempt waited out the slow lookup.
        var completed = history.Events.Single(e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId == aggregation);
        Assert.True(completed.EventTime.ToDateTime() - started.EventTime.ToDateTime() >= TimeSpan.FromSeconds(24), $"{completed.EventTime.ToDateTime() - started.EventTime.ToDateTime()}");
        Assert.DoesNotContain(history.Events, e => e.ActivityTaskTimedOutEventAttributes is not null);
    }

    [Fact]
    public async Task Planning_heartbeats_while_a_slow_bucket_listing_goes_on()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 500, seed: 67, assemblyId: "asm-slow-listing"));

        // The run's one listing (the planning's) answers after 15 s.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.Delay, LocalAwsOperations.ListObjectsV2, DelayMilliseconds: 15_000));
        var run = RunCollectionAsync(environment, organizationId, integrationId);
        var workflowId = LastRunWorkflowId!;

        // Seen within 10 s of the start, so before the planning's listing answered.
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    return (await environment.PendingActivitiesAsync(workflowId))
                        .Any(a => a.ActivityType.Name == ActivityNames.PlanCollection && a.LastHeartbeatTime is not null);
                }
                catch (Temporalio.Exceptions.RpcException e) when (e.Code == Temporalio.Exceptions.RpcException.StatusCode.NotFound)
                {
                    return false; // not started yet
                }
            },
            "the planning heartbeats during its listing",
            TimeSpan.FromSeconds(10));
        var summary = await run.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(0, environment.Aws.Faults.Pending);
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Staging_heartbeats_while_it_waits_for_the_database()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var staging = new ActivityGate(ActivityNames.StagePeriod);
        var worker = await environment.StartWorkerAsync(services: staging.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 2_000, seed: 61, assemblyId: "asm-slow-db"));

        var run = RunCollectionAsync(environment, organizationId, integrationId);
        await staging.Reached.WaitAsync(TimeSpan.FromMinutes(3));
        // Another writer holds SQLite's write lock for longer than the heartbeat timeout: the attempt's first write (the
        // drop of earlier staging) waits in SQLite's busy handler meanwhile.
        Assert.True(CollectionWorkflow.FileHeartbeatTimeout < TimeSpan.FromSeconds(25));
        await using (var writer = new Microsoft.Data.Sqlite.SqliteConnection(environment.ConnectionString))
        {
            await writer.OpenAsync();
            await using var command = writer.CreateCommand();
            command.CommandText = "BEGIN IMMEDIATE";
            await command.ExecuteNonQueryAsync();
            staging.Open();
            await Task.Delay(TimeSpan.FromSeconds(25));
            command.CommandText = "COMMIT";
            await command.ExecuteNonQueryAsync();
        }

        var summary = await run.WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(delivery.Truth.Unblended, (await SingleStoredPeriodAsync(worker.Services, organizationId, integrationId)).Totals.Unblended);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var stage = ScheduledEventIds(history, ActivityNames.StagePeriod).Single();
        var started = history.Events.Single(e => e.ActivityTaskStartedEventAttributes?.ScheduledEventId == stage);
        // One attempt, which waited out the lock: a second one beside a first still writing would stage the rows twice.
        Assert.Equal(1, started.ActivityTaskStartedEventAttributes.Attempt);
        var completed = history.Events.Single(e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId == stage);
        Assert.True(completed.EventTime.ToDateTime() - started.EventTime.ToDateTime() >= TimeSpan.FromSeconds(20), $"{completed.EventTime.ToDateTime() - started.EventTime.ToDateTime()}");
    }

    [Fact]
    public async Task A_file_is_aggregated_while_it_downloads_from_one_transfer_of_its_bytes()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Aws:DownloadRangeBytes"] = "1048576", ["Aws:DownloadParallelRanges"] = "1" });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 20_000, seed: 97, assemblyId: "asm-follow"));
        var size = environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, delivery.DataKeys[0])!.Size;
        // Served at a quarter of the file per second: the download takes about four seconds.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, Times: 1_000, BytesPerSecond: (int)(size / 4)));
        environment.Aws.Counters.Reset();

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);
        environment.Aws.Faults.Clear();

        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        var period = await SingleStoredPeriodAsync(worker.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
        Assert.Equal(delivery.Truth.Amortized, period.Totals.Amortized);
        // One transfer, counted once, though both activities asked for the file.
        Assert.Equal(size, summary.BytesDownloaded);
        var manifests = delivery.ManifestKeys.Sum(key => environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, key)!.Size);
        Assert.InRange(environment.Aws.Counters.ObjectBytesServed, size, size + manifests);

        // The aggregation started while the download was still running.
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var downloadScheduled = Assert.Single(ScheduledEventIds(history, ActivityNames.DownloadReportFile));
        var aggregateScheduled = Assert.Single(ScheduledEventIds(history, ActivityNames.AggregateReportFile));
        var downloadCompleted = history.Events.Single(e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId == downloadScheduled);
        var aggregateStarted = history.Events.Single(e => e.ActivityTaskStartedEventAttributes?.ScheduledEventId == aggregateScheduled);
        Assert.True(
            aggregateStarted.EventTime.ToDateTime() < downloadCompleted.EventTime.ToDateTime().AddSeconds(-2),
            $"aggregation started at {aggregateStarted.EventTime}, the download completed at {downloadCompleted.EventTime}");
        await ReplayTests.ReplayAndMaybeRecordAsync(history, "CollectionWorkflow-while-downloading");
    }

    [Fact]
    public async Task A_host_runs_the_download_and_the_aggregation_of_as_many_files_at_once_as_the_limit_allows()
    {
        // Each file takes two activity slots on its host at once; with too few, a file's download waits for a slot
        // behind the aggregations, and a long wait would look like a worker that is gone (schedule-to-start timeout).
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var barrier = new ActivityBarrier(6, TimeSpan.FromSeconds(20), ActivityNames.DownloadReportFile, ActivityNames.AggregateReportFile);
        var worker = await environment.StartWorkerAsync(new() { ["Collection:MaxParallelFiles"] = "3" }, services: barrier.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 3, rows: 2_000, seed: 95, assemblyId: "asm-slots"));

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.True(barrier.Filled, "the host never ran the three files' six activities at once");
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summary.UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_delivery_that_overwrites_the_files_during_a_run_is_collected_whole_by_planning_the_period_again()
    {
        // AWS overwrites a period's files in place, up to three times a day. Here the second delivery lands after the
        // first file was read and before the second: the first file's rows belong to the old delivery.
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        GeneratedDelivery? second = null;
        var hook = new BeforeFileActivity(1, async () => second = await environment.DeliverAsync(FinalDelivery(seed: 99, "asm-second")));
        var worker = await environment.StartWorkerAsync(new() { ["Collection:MaxParallelFiles"] = "1" }, services: hook.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var first = await environment.DeliverAsync(FinalDelivery(seed: 7, "asm-first"));

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);

        Assert.True(hook.Ran);
        Assert.NotEqual(first.Truth.Unblended, second!.Truth.Unblended);
        var period = await SingleStoredPeriodAsync(worker.Services, organizationId, integrationId);
        Assert.Equal("asm-second", period.AssemblyId);
        Assert.True(period.IsFinal);
        Assert.Equal(second.Truth.Unblended, period.Totals.Unblended);
        Assert.Equal(second.Truth.Amortized, period.Totals.Amortized);
        Assert.Equal(second.Truth.Rows, period.LineItemRows);
        Assert.Equal(second.Truth.Rows, summary.Rows);
        Assert.Equal(1, summary.PeriodsStored);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        Assert.Equal(2, ScheduledEventIds(history, ActivityNames.PlanCollection).Count);
        Assert.Single(ScheduledEventIds(history, ActivityNames.StagePeriod));
        // The bytes of the discarded try count as well as those of the stored one.
        var storedBytes = second.DataKeys.Sum(key => environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, key)!.Size);
        Assert.True(summary.BytesDownloaded > storedBytes, $"{summary.BytesDownloaded} bytes downloaded, {storedBytes} in the stored delivery");
        await ReplayTests.ReplayAndMaybeRecordAsync(history, "CollectionWorkflow-replanned-changed-delivery");

        static ReportDeliveryOptions FinalDelivery(int seed, string assemblyId)
        {
            var options = Delivery(files: 2, rows: 6_000, seed: seed, assemblyId: assemblyId);
            return options with { Report = options.Report with { Final = true } };
        }
    }

    [Fact]
    public async Task A_report_file_gone_from_the_bucket_fails_the_run_with_report_not_found_after_one_attempt()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 2_000, seed: 93, assemblyId: "asm-gone-file"));
        Assert.True(environment.Aws.Objects.DeleteObject(CollectionEnvironment.Bucket, delivery.DataKeys[1]));

        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        // Both activities of the file meet the missing object; neither turns it into a retryable failure.
        var cause = Assert.IsType<ApplicationFailureException>(failure.InnerException);
        Assert.Equal(CurErrorCodes.ReportNotFound, cause.ErrorType);
        Assert.Contains(delivery.DataKeys[1], cause.Message, StringComparison.Ordinal);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        Assert.All(
            history.Events.Where(e => e.ActivityTaskStartedEventAttributes is not null),
            e => Assert.Equal(1, e.ActivityTaskStartedEventAttributes.Attempt));
        Assert.Contains(history.Events, e => e.ActivityTaskFailedEventAttributes?.Failure?.ApplicationFailureInfo?.Type == CurErrorCodes.ReportNotFound);
    }

    [Fact]
    public async Task A_period_whose_worker_is_gone_starts_over_with_a_fresh_download_on_another_worker()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var gone = await StartOnAWorkerThatGoesAwayAsync(
            environment, new() { ["Collection:WorkerQueueTimeout"] = "00:00:03" }, Delivery(files: 2, rows: 6_000, seed: 61, assemblyId: "asm-gone"));
        var (organizationId, integrationId, delivery, firstQueue, second, secondQueue, workflowId, _) = gone;
        Assert.NotEqual(firstQueue, secondQueue);

        var summary = await gone.Run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(1, summary.PeriodsStored);
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        Assert.Equal(delivery.DataKeys.Sum(key => environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, key)!.Size), summary.BytesDownloaded);
        var period = await SingleStoredPeriodAsync(second.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
        Assert.Equal(delivery.Truth.Amortized, period.Totals.Amortized);

        // The history shows why: a task on the first worker's queue timed out waiting to start, and every file was then
        // downloaded, aggregated and staged through the second worker's queue. The first worker's queue only ever had
        // files to download and aggregate (both at once).
        var history = await temporal.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync();
        var scheduled = history.Events
            .Where(e => e.ActivityTaskScheduledEventAttributes is not null)
            .Select(e => (e.ActivityTaskScheduledEventAttributes.ActivityType.Name, Queue: e.ActivityTaskScheduledEventAttributes.TaskQueue.Name))
            .ToList();
        Assert.Contains(history.Events, e => e.ActivityTaskTimedOutEventAttributes?.Failure?.TimeoutFailureInfo?.TimeoutType == TimeoutType.ScheduleToStart);
        Assert.Contains(scheduled, s => s == (ActivityNames.DownloadReportFile, firstQueue));
        Assert.Equal(2, scheduled.Count(s => s == (ActivityNames.DownloadReportFile, secondQueue)));
        Assert.Equal(2, scheduled.Count(s => s == (ActivityNames.AggregateReportFile, secondQueue)));
        Assert.Equal(1, scheduled.Count(s => s == (ActivityNames.StagePeriod, secondQueue)));
        Assert.DoesNotContain(scheduled, s => s.Name is not (ActivityNames.DownloadReportFile or ActivityNames.AggregateReportFile) && s.Queue == firstQueue);

        // Before giving the first worker up, the workflow asked its liveness queue (once per task that timed out), and
        // nobody answered there either: each question timed out, or was cancelled with its file once another had.
        var asked = ScheduledEventIds(history, ActivityNames.ConfirmWorkerAlive);
        Assert.All(scheduled.Where(s => s.Name == ActivityNames.ConfirmWorkerAlive), s => Assert.Equal(WorkerTaskQueue.LivenessQueueOf(firstQueue), s.Queue));
        Assert.Contains(history.Events, e => e.ActivityTaskTimedOutEventAttributes is { } timedOut
            && asked.Contains(timedOut.ScheduledEventId)
            && timedOut.Failure?.TimeoutFailureInfo?.TimeoutType == TimeoutType.ScheduleToStart);
        Assert.DoesNotContain(history.Events, e => e.ActivityTaskCompletedEventAttributes is { } completed && asked.Contains(completed.ScheduledEventId));

        // Histories from before the liveness question (CollectionWorkflow-worker-gone.json) replay too.
        await ReplayTests.ReplayAndMaybeRecordAsync(history, "CollectionWorkflow-worker-gone-asked");
    }

    [Fact]
    public async Task A_worker_judged_gone_gets_no_more_files_of_the_period_than_those_already_sent_to_it()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        // One file at a time: before the first try stopped at its first failure, each further file waited out the gone
        // worker's queue (and its liveness question) in turn.
        var gone = await StartOnAWorkerThatGoesAwayAsync(
            environment,
            new() { ["Collection:WorkerQueueTimeout"] = "00:00:03", ["Collection:MaxParallelFiles"] = "1" },
            Delivery(files: 3, rows: 3_000, seed: 79, assemblyId: "asm-gone-one-at-a-time"));
        var (organizationId, integrationId, delivery, firstQueue, second, secondQueue, workflowId, _) = gone;

        var summary = await gone.Run.WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(delivery.Truth.Unblended, (await SingleStoredPeriodAsync(second.Services, organizationId, integrationId)).Totals.Unblended);
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        var scheduled = (await temporal.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync()).Events
            .Where(e => e.ActivityTaskScheduledEventAttributes is not null)
            .Select(e => (e.ActivityTaskScheduledEventAttributes.ActivityType.Name, Queue: e.ActivityTaskScheduledEventAttributes.TaskQueue.Name))
            .ToList();
        Assert.Equal(1, scheduled.Count(s => s == (ActivityNames.DownloadReportFile, firstQueue)));
        Assert.Equal(3, scheduled.Count(s => s == (ActivityNames.DownloadReportFile, secondQueue)));
    }

    [Fact]
    public async Task A_worker_gone_after_downloading_a_period_counts_both_downloads_in_the_summary()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var settings = new Dictionary<string, string?> { ["Collection:WorkerQueueTimeout"] = "00:00:03" };
        var staging = new ActivityGate(ActivityNames.StagePeriod);
        var first = await environment.StartWorkerAsync(settings, services: staging.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(first.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 3_000, seed: 67, assemblyId: "asm-gone-after-download"));

        // The first worker downloads and aggregates both files, and goes away for good before it stages them.
        var run = RunCollectionAsync(environment, organizationId, integrationId);
        await staging.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        await first.StopAsync();
        var second = await environment.StartWorkerAsync(
            new Dictionary<string, string?>(settings) { ["Collection:SpoolDirectory"] = environment.SpoolDirectory + "-second" });

        var summary = await run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        var period = await SingleStoredPeriodAsync(second.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
        var bytes = delivery.DataKeys.Sum(key => environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, key)!.Size);
        Assert.Equal(2 * bytes, summary.BytesDownloaded);
    }

    [Fact]
    public async Task A_host_busy_with_other_integrations_for_longer_than_the_queue_timeout_keeps_their_periods()
    {
        // One host, three activity slots (one file at a time) and four integrations collecting at once, each file served
        // over about three seconds: tasks wait on the host queue far longer than the one-second queue timeout. The host
        // is busy, not gone, and says so on its liveness queue, so every period stays on it.
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Collection:MaxParallelFiles"] = "1", ["Collection:WorkerQueueTimeout"] = "00:00:01" });
        var hostQueue = worker.Services.GetRequiredService<WorkerTaskQueue>().Name;
        var integrations = new List<(Guid OrganizationId, Guid IntegrationId, GeneratedDelivery Delivery, long Size)>();
        for (var i = 0; i < 4; i++)
        {
            var prefix = $"busy{i}";
            var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services, prefix: prefix);
            var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 3_000, seed: 110 + i, assemblyId: $"asm-busy-{i}") with { Prefix = prefix });
            integrations.Add((organizationId, integrationId, delivery, environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, delivery.DataKeys[0])!.Size));
        }

        environment.Aws.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, Times: 1_000, BytesPerSecond: (int)(integrations.Max(i => i.Size) / 3)));
        var runs = new List<(string WorkflowId, Task<CollectionSummary> Run)>();
        foreach (var (organizationId, integrationId, _, _) in integrations)
        {
            var run = RunCollectionAsync(environment, organizationId, integrationId);
            runs.Add((LastRunWorkflowId!, run));
        }

        var summaries = await Task.WhenAll(runs.Select(r => r.Run));
        environment.Aws.Faults.Clear();

        var waitedOnABusyHost = false;
        for (var i = 0; i < integrations.Count; i++)
        {
            var (_, _, delivery, size) = integrations[i];
            Assert.Equal(delivery.Truth.Rows, summaries[i].Rows);
            Assert.Equal(delivery.Truth.Unblended, decimal.Parse(summaries[i].UnblendedTotal, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(size, summaries[i].BytesDownloaded);

            // One host queue per run, never a switch; where a task timed out waiting, the liveness queue answered.
            var history = await temporal.Client.GetWorkflowHandle(runs[i].WorkflowId).FetchHistoryAsync();
            Assert.Single(ScheduledEventIds(history, ActivityNames.GetWorkerTaskQueue));
            var queueTimeouts = history.Events.Count(e => e.ActivityTaskTimedOutEventAttributes?.Failure?.TimeoutFailureInfo?.TimeoutType == TimeoutType.ScheduleToStart);
            var confirmations = ScheduledEventIds(history, ActivityNames.ConfirmWorkerAlive);
            Assert.Equal(queueTimeouts, confirmations.Count);
            Assert.All(confirmations, id => Assert.Contains(history.Events, e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId == id));
            Assert.All(
                history.Events.Where(e => e.ActivityTaskScheduledEventAttributes?.ActivityType.Name == ActivityNames.ConfirmWorkerAlive),
                e => Assert.Equal(WorkerTaskQueue.LivenessQueueOf(hostQueue), e.ActivityTaskScheduledEventAttributes.TaskQueue.Name));
            if (queueTimeouts > 0 && !waitedOnABusyHost)
            {
                waitedOnABusyHost = true;
                await ReplayTests.ReplayAndMaybeRecordAsync(history, "CollectionWorkflow-busy-worker");
            }
        }

        Assert.True(waitedOnABusyHost, "no task waited longer than the queue timeout: the test did not make the host busy");
    }

    [Fact]
    public async Task A_spool_file_written_before_the_host_went_down_is_fetched_again_before_it_is_parsed()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var aggregations = new ActivityGate(ActivityNames.AggregateReportFile);
        var worker = await environment.StartWorkerAsync(services: aggregations.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 6_000, seed: 71, assemblyId: "asm-boot"));

        var run = RunCollectionAsync(environment, organizationId, integrationId);
        var spooled = await CompleteSpoolFileAsync(environment, aggregations);

        // The host went down after the download and came back (another boot id), and a page of the spool file that the
        // kernel had not written back reads as zeros. Parsed as it is, the zip fails its CRC as report_malformed.
        await LoseAPageInAnEarlierBootAsync(spooled);

        aggregations.Open();
        await AssertStoredAfterTwoDownloadsAsync(environment, worker, run, delivery, organizationId, integrationId);
    }

    [Fact]
    public async Task Aggregates_written_before_the_host_went_down_are_not_staged_and_the_period_is_collected_again()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var stagings = new ActivityGate(ActivityNames.StagePeriod);
        var worker = await environment.StartWorkerAsync(services: stagings.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 6_000, seed: 75, assemblyId: "asm-lost-aggregates"));

        var run = RunCollectionAsync(environment, organizationId, integrationId);
        await stagings.Reached.WaitAsync(TimeSpan.FromSeconds(60));

        // The host went down after the aggregation and came back (another boot id). Neither the aggregates nor the spool
        // file were flushed, and a page of each that the kernel had not written back reads as zeros.
        var aggregates = Assert.Single(Directory.GetFiles(environment.SpoolDirectory, "*.aggregates", SearchOption.AllDirectories));
        var text = await File.ReadAllBytesAsync(aggregates);
        var header = System.Text.Encoding.UTF8.GetString(text, 0, Array.IndexOf(text, (byte)'\n'));
        Assert.Equal($"curworkflows-aggregates {Aws.HostBoot.Id} unflushed", header);
        await File.WriteAllBytesAsync(aggregates, [.. System.Text.Encoding.UTF8.GetBytes("curworkflows-aggregates an-earlier-boot unflushed"), .. text.AsSpan(header.Length)]);
        await ZeroAPageInTheMiddleAsync(aggregates);
        await LoseAPageInAnEarlierBootAsync(aggregates[..^".aggregates".Length]);

        stagings.Open();
        await AssertStoredAfterTwoDownloadsAsync(environment, worker, run, delivery, organizationId, integrationId);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var lost = Assert.Single(history.Events, e => e.ActivityTaskFailedEventAttributes is not null);
        Assert.Equal(AggregatesFile.LostError, lost.ActivityTaskFailedEventAttributes.Failure.ApplicationFailureInfo.Type);
        Assert.Contains("written before the host restarted", lost.ActivityTaskFailedEventAttributes.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, ScheduledEventIds(history, ActivityNames.GetWorkerTaskQueue).Count);
        Assert.Equal(2, ScheduledEventIds(history, ActivityNames.AggregateReportFile).Count);
        Assert.Equal(2, ScheduledEventIds(history, ActivityNames.StagePeriod).Count);
    }

    [Theory]
    [InlineData(ReportFileFormat.Zip)]
    [InlineData(ReportFileFormat.Csv)]
    public async Task A_file_damaged_on_this_host_after_its_download_is_fetched_again_instead_of_failing_the_run_as_malformed(ReportFileFormat format)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var aggregations = new ActivityGate(ActivityNames.AggregateReportFile);
        var worker = await environment.StartWorkerAsync(services: aggregations.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 6_000, seed: 73, assemblyId: "asm-damaged") with { Format = format });

        // Same boot, so the spool file is trusted as it is (a zip's MD5 was not even computed during the download: its
        // CRC-32 is the check). The parse finds the damage, the MD5 tells it from a malformed report, and the retry
        // downloads the file again.
        var run = RunCollectionAsync(environment, organizationId, integrationId);
        var spooled = await CompleteSpoolFileAsync(environment, aggregations, format == ReportFileFormat.Zip ? ".csv.zip" : ".csv");
        await ZeroAPageInTheMiddleAsync(spooled);

        aggregations.Open();
        await AssertStoredAfterTwoDownloadsAsync(environment, worker, run, delivery, organizationId, integrationId);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var scheduled = ScheduledEventIds(history, ActivityNames.AggregateReportFile);
        Assert.Contains(history.Events, e => e.ActivityTaskStartedEventAttributes is { Attempt: 2 } started && scheduled.Contains(started.ScheduledEventId));
    }

    /// <summary>The path of the run's one spool file once the download activity has completed it, while the aggregation
    /// waits at its gate.</summary>
    private static async Task<string> CompleteSpoolFileAsync(CollectionEnvironment environment, ActivityGate aggregations, string extension = ".csv.zip")
    {
        await aggregations.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        for (var waited = 0;
             !Directory.Exists(environment.SpoolDirectory) || Directory.GetFiles(environment.SpoolDirectory, "*" + extension + ".json", SearchOption.AllDirectories).Length == 0;
             waited++)
        {
            Assert.True(waited < 600, "the download did not complete the spool file");
            await Task.Delay(100);
        }

        return Assert.Single(Directory.GetFiles(environment.SpoolDirectory, "*" + extension, SearchOption.AllDirectories));
    }

    /// <summary>Makes the spool file at <paramref name="spooled"/> one written in an earlier boot of the host, with a page
    /// the kernel had not written back before the host went down (zeros).</summary>
    private static async Task LoseAPageInAnEarlierBootAsync(string spooled)
    {
        var record = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(spooled + ".json"))!.AsObject();
        record["BootId"] = "an-earlier-boot";
        await File.WriteAllTextAsync(spooled + ".json", record.ToJsonString());
        await ZeroAPageInTheMiddleAsync(spooled);
    }

    private static async Task ZeroAPageInTheMiddleAsync(string path)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = file.Length / 2;
        file.Write(new byte[4096]);
    }

    /// <summary>The run stores the exact totals, and the file was downloaded twice.</summary>
    private static async Task AssertStoredAfterTwoDownloadsAsync(
        CollectionEnvironment environment, IHost worker, Task<CollectionSummary> run, GeneratedDelivery delivery, Guid organizationId, Guid integrationId)
    {
        await WorkerCrashTests.AssertCompletesExactlyAsync(run, worker.Services, organizationId, integrationId, delivery.Truth, within: TimeSpan.FromMinutes(2));
        var objectSize = environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, delivery.DataKeys[0])!.Size;
        Assert.Equal(2 * objectSize, (await run).BytesDownloaded);
    }

    [Fact]
    public async Task A_worker_with_a_prometheus_address_serves_the_sdks_metrics_and_the_runs_rows_bytes_and_outcomes()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var metricsAddress = $"127.0.0.1:{Hosting.EmbeddedTemporalServer.FreeLoopbackPort()}";
        var worker = await environment.StartWorkerAsync(new() { ["Temporal:MetricsPrometheusAddress"] = metricsAddress });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 4_000, seed: 81, assemblyId: "asm-metrics"));

        var summary = await RunCollectionAsync(environment, organizationId, integrationId);
        var bytes = delivery.DataKeys.Sum(key => environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, key)!.Size);
        Assert.Equal(bytes, summary.BytesDownloaded);
        // A second run finds the bucket gone: a failure with its code.
        environment.Aws.Objects.DeleteBucket(CollectionEnvironment.Bucket);
        await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://{metricsAddress}/metrics"));
        Assert.Equal(delivery.Truth.Rows, Sum(text, "curworkflows_report_rows_aggregated_total"));
        Assert.Equal(bytes, Sum(text, "curworkflows_report_bytes_downloaded_total"));
        Assert.True(Sum(text, "curworkflows_cost_rows_staged_total") > 0, text);
        Assert.Equal(1, Sum(text, "curworkflows_collection_runs_total", "outcome=\"succeeded\""));
        Assert.Equal(1, Sum(text, "curworkflows_collection_runs_total", $"error_code=\"{CurErrorCodes.BucketNotFound}\""));
        Assert.Equal(2, Sum(text, "curworkflows_collection_runs_total"));
        // The SDK's own metrics come out of the same endpoint.
        Assert.Contains("temporal_activity_execution_latency", text, StringComparison.Ordinal);
        Assert.Contains("temporal_worker_task_slots_available", text, StringComparison.Ordinal);

        static decimal Sum(string metrics, string name, string? label = null) => metrics.Split('\n')
            .Where(line => (line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
                && (label is null || line.Contains(label, StringComparison.Ordinal)))
            .Sum(line => decimal.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(ActivityNames.BeginCollectionRun)]
    [InlineData(ActivityNames.PlanCollection)]
    [InlineData(ActivityNames.DownloadReportFile)]
    [InlineData(ActivityNames.AggregateReportFile)]
    [InlineData(ActivityNames.StagePeriod)]
    [InlineData(ActivityNames.PersistPeriod)]
    public async Task An_activity_whose_completion_was_lost_runs_again_over_its_own_side_effects_with_exact_totals(string activity)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var lost = new LostCompletion(activity);
        var worker = await environment.StartWorkerAsync(services: lost.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 3_000, seed: 97, assemblyId: "asm-lost"));

        var summary = await RunCollectionAsync(environment, organizationId, integrationId).WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(1, lost.Lost);
        Assert.Equal(delivery.Truth.Unblended.ToString(System.Globalization.CultureInfo.InvariantCulture), summary.UnblendedTotal);
        Assert.Equal(delivery.Truth.Rows, summary.Rows);
        var period = await SingleStoredPeriodAsync(worker.Services, organizationId, integrationId);
        Assert.Equal(delivery.Truth.Unblended, period.Totals.Unblended);
    }

    [Fact]
    public async Task A_run_record_whose_completion_was_lost_is_recorded_once_with_its_outcome_and_totals()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var lost = new LostCompletion(ActivityNames.RecordCollectionRun);
        var worker = await environment.StartWorkerAsync(services: lost.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 2_000, seed: 98, assemblyId: "asm-record"));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();

        await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        var handle = temporal.Client.GetWorkflowHandle(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString()));
        var firstRunId = (await handle.DescribeAsync()).RunId;
        // The integration workflow records the run, then continues as new: a new run id means the record was retried to success.
        await Eventually.TrueAsync(
            async () => (await handle.DescribeAsync()).RunId != firstRunId, "the integration workflow continues as new after recording the run", TimeSpan.FromSeconds(120));

        Assert.Equal(1, lost.Lost);
        var recorded = Assert.Single(await runs.ListAsync(organizationId, integrationId));
        Assert.Equal(Storage.Entities.CollectionRunOutcome.Succeeded, recorded.Outcome);
        Assert.Equal(delivery.Truth.Unblended, recorded.Totals.Unblended);
        Assert.Equal(1, recorded.PeriodsIngested);
        await client.DisableAsync(integrationId.ToString());
    }

    [Theory]
    [InlineData(CurErrorCodes.BucketNotFound, ActivityNames.PlanCollection)]
    [InlineData(CurErrorCodes.ReportNotFound, ActivityNames.PlanCollection)]
    [InlineData(CurErrorCodes.ReportMalformed, ActivityNames.AggregateReportFile)]
    public async Task A_cause_retrying_cannot_fix_fails_the_run_with_its_code_after_one_attempt(string code, string failingActivity)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        switch (code)
        {
            case CurErrorCodes.BucketNotFound:
                environment.Aws.Objects.DeleteBucket(CollectionEnvironment.Bucket);
                break;
            case CurErrorCodes.ReportMalformed:
                // The second file of the delivery is not a zip archive.
                var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 2_000, seed: 91, assemblyId: "asm-bad"));
                environment.Aws.Objects.PutObject(CollectionEnvironment.Bucket, delivery.DataKeys[1], "not a zip archive"u8.ToArray());
                break;
        }

        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        var cause = Assert.IsType<ApplicationFailureException>(failure.InnerException);
        Assert.Equal(code, cause.ErrorType);
        Assert.True(cause.NonRetryable);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var scheduled = ScheduledEventIds(history, failingActivity);
        var attempts = history.Events
            .Where(e => e.ActivityTaskStartedEventAttributes is { } started && scheduled.Contains(started.ScheduledEventId))
            .Select(e => e.ActivityTaskStartedEventAttributes.Attempt)
            .ToList();
        Assert.NotEmpty(attempts);
        Assert.All(attempts, attempt => Assert.Equal(1, attempt));
        Assert.Empty(await worker.Services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId));
    }

    [Fact]
    public async Task A_file_of_another_billing_period_in_a_periods_manifest_fails_the_run_as_report_malformed()
    {
        // Each file is aggregated on its own: only the folder's period tells that September's rows do not belong in October.
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var october = await environment.DeliverAsync(Delivery(files: 2, rows: 2_000, seed: 61, assemblyId: "asm-october"));
        var septemberFolder = Path.Combine(environment.SpoolDirectory, "..", "september");
        var september = ReportDelivery.WriteToDirectory(
            septemberFolder, Delivery(files: 1, rows: 1_000, seed: 62, assemblyId: "asm-september", period: new DateOnly(2026, 9, 1)) with { Bucket = CollectionEnvironment.Bucket });
        await environment.Aws.Objects.PutObjectFromFileAsync(CollectionEnvironment.Bucket, october.DataKeys[1], Path.Combine(septemberFolder, september.DataKeys[0].TrimStart('/')));

        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        var cause = Assert.IsType<ApplicationFailureException>(failure.InnerException);
        Assert.Equal(CurErrorCodes.ReportMalformed, cause.ErrorType);
        Assert.Contains(october.DataKeys[1], cause.Message, StringComparison.Ordinal);
        Assert.Contains("the file was delivered for the one starting 2026-10-01", cause.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await worker.Services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId), p => p.PeriodStart == new DateOnly(2026, 10, 1));
    }

    [Fact]
    public async Task A_period_whose_files_add_up_beyond_exact_sums_fails_the_run_as_report_malformed()
    {
        // Each file stays below 10^16, which its own aggregation checks; together they do not, and the period's total
        // would not fit its column (PostgreSQL refused it on every retry of the persist).
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 1_000, seed: 64, assemblyId: "asm-huge"));
        var csv = new StringBuilder("bill/BillingPeriodStartDate,identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n");
        for (var i = 0; i < 6_000; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"2026-10-01T00:00:00Z,r{i},Usage,2026-10-01T00:00:00Z,999999999999.99\n");
        }

        foreach (var key in delivery.DataKeys)
        {
            environment.Aws.Objects.PutObject(CollectionEnvironment.Bucket, key, Zipped(csv.ToString()));
        }

        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        var cause = Assert.IsType<ApplicationFailureException>(failure.InnerException);
        Assert.Equal(CurErrorCodes.ReportMalformed, cause.ErrorType);
        Assert.Contains("the files of period 2026-10-01", cause.Message, StringComparison.Ordinal);
        Assert.Contains("10^16", cause.Message, StringComparison.Ordinal);
        Assert.Empty(await worker.Services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId));

        static byte[] Zipped(string text)
        {
            using var buffer = new MemoryStream();
            using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            using (var entry = new StreamWriter(zip.CreateEntry("costs.csv").Open()))
            {
                entry.Write(text);
            }

            return buffer.ToArray();
        }
    }

    [Fact]
    public async Task A_manifest_whose_billing_period_is_not_its_folders_fails_the_run_as_report_malformed()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var folder = Path.Combine(environment.SpoolDirectory, "..", "moved");
        var october = ReportDelivery.WriteToDirectory(folder, Delivery(files: 1, rows: 1_000, seed: 63, assemblyId: "asm-moved") with { Bucket = CollectionEnvironment.Bucket });
        var misplaced = october.ManifestKey.Replace("20261001-20261101", "20260901-20261001", StringComparison.Ordinal);
        await environment.Aws.Objects.PutObjectFromFileAsync(CollectionEnvironment.Bucket, misplaced, Path.Combine(folder, october.ManifestKey.TrimStart('/')));

        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        var cause = Assert.IsType<ApplicationFailureException>(failure.InnerException);
        Assert.Equal(CurErrorCodes.ReportMalformed, cause.ErrorType);
        Assert.Contains($"{misplaced}: billingPeriod starts 2026-10-01, but the manifest is in the folder of 20260901-20261001", cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_file_fails_the_run_at_once_and_cancels_the_other_files_of_its_period()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync(new() { ["Aws:DownloadRangeBytes"] = "1048576", ["Aws:DownloadParallelRanges"] = "1" });
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 2, rows: 20_000, seed: 73, assemblyId: "asm-one-bad"));
        environment.Aws.Objects.PutObject(CollectionEnvironment.Bucket, delivery.DataKeys[1], "not a zip archive"u8.ToArray());
        var size = environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, delivery.DataKeys[0])!.Size;
        // The good file takes about two minutes to download; the bad one is read at once.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, Times: 1_000, BytesPerSecond: (int)(size / 120)));

        var started = DateTime.UtcNow;
        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));
        var took = DateTime.UtcNow - started;
        environment.Aws.Faults.Clear();

        Assert.Equal(CurErrorCodes.ReportMalformed, Assert.IsType<ApplicationFailureException>(failure.InnerException).ErrorType);
        Assert.True(took < TimeSpan.FromSeconds(60), $"the run failed after {took}");
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var goodFileActivities = history.Events
            .Where(e => e.ActivityTaskScheduledEventAttributes is not null
                && System.Text.Json.JsonSerializer.Deserialize<string>(e.UserMetadata.Summary.Data.ToStringUtf8())!.Contains(delivery.DataKeys[0], StringComparison.Ordinal))
            .Select(e => e.EventId)
            .ToHashSet();
        Assert.Equal(2, goodFileActivities.Count);
        Assert.Equal(goodFileActivities, history.Events.Where(e => e.ActivityTaskCancelRequestedEventAttributes is not null).Select(e => e.ActivityTaskCancelRequestedEventAttributes.ScheduledEventId).Where(goodFileActivities.Contains).ToHashSet());
        Assert.DoesNotContain(history.Events, e => e.ActivityTaskCompletedEventAttributes is { } completed && goodFileActivities.Contains(completed.ScheduledEventId));
        await ReplayTests.ReplayAndMaybeRecordAsync(history, "CollectionWorkflow-stopped-at-first-failure");
    }

    [Fact]
    public async Task A_failed_validation_asks_to_cancel_the_planning_beside_it_and_stays_the_runs_cause()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var planning = new ActivityGate(ActivityNames.PlanCollection);
        var worker = await environment.StartWorkerAsync(services: planning.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services, externalId: "ext-wrong-0000");
        await environment.DeliverAsync(Delivery(files: 1, rows: 1_000, seed: 43, assemblyId: "asm-denied"));

        // The planning waits at the gate, which never opens: only a cancellation ends it.
        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));

        Assert.Equal(CurErrorCodes.AccessDenied, Assert.IsType<ApplicationFailureException>(failure.InnerException).ErrorType);
        var history = await temporal.Client.GetWorkflowHandle(LastRunWorkflowId!).FetchHistoryAsync();
        var plan = ScheduledEventIds(history, ActivityNames.PlanCollection).Single();
        Assert.Contains(history.Events, e => e.ActivityTaskCancelRequestedEventAttributes?.ScheduledEventId == plan);
        Assert.DoesNotContain(history.Events, e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId == plan);
        var run = Assert.Single(await worker.Services.GetRequiredService<CollectionRunStore>().ListAsync(organizationId, integrationId));
        Assert.Equal(LastRunWorkflowId, run.WorkflowId);
    }

    [Fact]
    public async Task Cancelling_a_run_cancels_the_activities_it_waits_for()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var validation = new ActivityGate(ActivityNames.ValidateAccess);
        var worker = await environment.StartWorkerAsync(services: validation.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 1, rows: 1_000, seed: 47, assemblyId: "asm-cancelled"));
        var workflowId = IntegrationWorkflow.CollectionWorkflowIdFor(integrationId.ToString(), DateTime.UtcNow) + "-cancelled";
        var handle = await environment.Temporal.Client.StartWorkflowAsync(
            (CollectionWorkflow wf) => wf.RunAsync(new CollectionWorkflowInput(integrationId.ToString(), organizationId.ToString())),
            new(workflowId, environment.TaskQueue) { ExecutionTimeout = TimeSpan.FromMinutes(5) });

        await validation.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        await handle.CancelAsync();

        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => handle.GetResultAsync());
        Assert.IsType<CanceledFailureException>(failure.InnerException);
        var history = await handle.FetchHistoryAsync();
        var validate = ScheduledEventIds(history, ActivityNames.ValidateAccess).Single();
        Assert.Contains(history.Events, e => e.ActivityTaskCancelRequestedEventAttributes?.ScheduledEventId == validate);
        // Every activity the run had not seen finish is asked to stop (the held validation, and any of the others).
        var finished = history.Events
            .Select(e => e.ActivityTaskCompletedEventAttributes?.ScheduledEventId ?? e.ActivityTaskFailedEventAttributes?.ScheduledEventId ?? e.ActivityTaskTimedOutEventAttributes?.ScheduledEventId)
            .OfType<long>()
            .ToHashSet();
        var cancelRequested = history.Events.Select(e => e.ActivityTaskCancelRequestedEventAttributes?.ScheduledEventId).OfType<long>().ToHashSet();
        var unfinished = history.Events.Where(e => e.ActivityTaskScheduledEventAttributes is not null && !finished.Contains(e.EventId)).Select(e => e.EventId).ToList();
        Assert.Contains(validate, unfinished);
        Assert.All(unfinished, id => Assert.Contains(id, cancelRequested));
    }

    [Fact]
    public async Task A_refresh_that_raced_a_disable_starts_a_workflow_that_ends_without_collecting()
    {
        // The refresh read the integration as enabled; the disable then stored it and ended the workflow; the refresh's
        // signal-with-start started a new one. The database is the integration's state: that workflow ends.
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 1, rows: 1_000, seed: 47, assemblyId: "asm-disabled"));
        Assert.True(await worker.Services.GetRequiredService<IntegrationStore>().DisableAsync(organizationId, integrationId));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();

        await client.RefreshAsync(integrationId.ToString(), organizationId.ToString());

        var handle = temporal.Client.GetWorkflowHandle<IntegrationWorkflow, IntegrationStatus>(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString()));
        var final = await handle.GetResultAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(IntegrationState.Disabled, final.State);
        Assert.Equal(CollectionErrorCodes.IntegrationDisabled, final.LastRun?.ErrorCode);
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();
        Assert.Empty(await runs.ListBillingPeriodsAsync(organizationId, integrationId));
        var recorded = Assert.Single(await runs.ListAsync(organizationId, integrationId));
        Assert.Equal(CollectionErrorCodes.IntegrationDisabled, recorded.ErrorCode);
        var collection = await temporal.Client.GetWorkflowHandle(recorded.WorkflowId).FetchHistoryAsync();
        Assert.Empty(ScheduledEventIds(collection, ActivityNames.DownloadReportFile));
        await ReplayTests.ReplayAndMaybeRecordAsync(await handle.FetchHistoryAsync(), "IntegrationWorkflow-ended-when-stored-disabled");
    }

    [Fact]
    public async Task An_enable_during_a_run_that_found_the_integration_disabled_keeps_the_workflow_and_collects()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var begin = new ActivityGate(ActivityNames.BeginCollectionRun);
        var worker = await environment.StartWorkerAsync(services: begin.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 1_000, seed: 48, assemblyId: "asm-enabled-again"));
        var store = worker.Services.GetRequiredService<IntegrationStore>();
        Assert.True(await store.DisableAsync(organizationId, integrationId));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();

        // A stale refresh starts a workflow, whose validation reads 'disabled'; the run waits for its record (held).
        await client.RefreshAsync(integrationId.ToString(), organizationId.ToString());
        await begin.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        var runId = (await client.GetStatusAsync(integrationId.ToString()))?.CurrentRunWorkflowId;
        Assert.NotNull(runId);
        await Eventually.TrueAsync(
            async () => (await temporal.Client.GetWorkflowHandle(runId).FetchHistoryAsync()).Events.Any(e => e.ActivityTaskFailedEventAttributes is not null),
            "the validation failed",
            TimeSpan.FromSeconds(30));

        // The customer enables the integration again, as the API does: the database, then the signal-with-start.
        await store.EnableAsync(new EnableIntegrationRequest(organizationId, CollectionEnvironment.RoleArn, CollectionEnvironment.ExternalId, CollectionEnvironment.Bucket, "cur"));
        await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        begin.Open();

        var runs = worker.Services.GetRequiredService<CollectionRunStore>();
        await Eventually.TrueAsync(async () => (await runs.ListBillingPeriodsAsync(organizationId, integrationId)).Count == 1, "the next run collected", TimeSpan.FromSeconds(60));
        Assert.Equal(delivery.Truth.Unblended, Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId)).Totals.Unblended);
        var handle = temporal.Client.GetWorkflowHandle(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString()));
        Assert.Equal(WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);
        await client.DisableAsync(integrationId.ToString());
    }

    [Fact]
    public async Task A_terminated_integration_workflow_reports_stopped_and_a_refresh_starts_it_again()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 1, rows: 1_000, seed: 53, assemblyId: "asm-stopped"));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();
        await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        await Eventually.TrueAsync(async () => (await runs.ListAsync(organizationId, integrationId)).Any(r => r.EndedAt is not null), "the first run is recorded", TimeSpan.FromSeconds(60));
        Assert.Equal(IntegrationState.Idle, (await client.GetStatusAsync(integrationId.ToString()))?.State);

        // An operator terminates it in the UI. Its history still ends idle, with a due time that will never come.
        await temporal.Client.GetWorkflowHandle(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString())).TerminateAsync("by an operator");

        var stopped = await client.GetStatusAsync(integrationId.ToString());
        Assert.Equal(IntegrationState.Stopped, stopped?.State);
        Assert.Null(stopped?.NextDueUtc);

        await client.RefreshAsync(integrationId.ToString(), organizationId.ToString());
        await Eventually.TrueAsync(async () => (await runs.ListAsync(organizationId, integrationId)).Count(r => r.EndedAt is not null) == 2, "the refresh ran", TimeSpan.FromSeconds(60));
        Assert.Contains((await client.GetStatusAsync(integrationId.ToString()))?.State, new IntegrationState?[] { IntegrationState.Idle, IntegrationState.Running });
        await client.DisableAsync(integrationId.ToString());
    }

    [Fact]
    public async Task Access_denied_fails_the_run_visibly_the_integration_goes_on_and_the_next_run_succeeds_once_fixed()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var logs = new CapturedLogs();
        var worker = await environment.StartWorkerAsync(services: s => s.AddSingleton<ILoggerProvider>(logs));
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services, externalId: "ext-wrong-0000");
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 5_000, seed: 41, assemblyId: "asm-d"));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();

        await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        IReadOnlyList<CollectionRunView> recorded = [];
        await Eventually.TrueAsync(
            async () => (recorded = await runs.ListAsync(organizationId, integrationId)).Any(r => r.EndedAt is not null), "the first run is recorded", TimeSpan.FromSeconds(120));
        var failed = recorded.Single();
        Assert.Equal(CurErrorCodes.AccessDenied, failed.ErrorCode);
        Assert.Equal(Storage.Entities.CollectionRunOutcome.Failed, failed.Outcome);
        var child = await temporal.Client.GetWorkflowHandle(failed.WorkflowId).DescribeAsync();
        Assert.Equal(WorkflowExecutionStatus.Failed, child.Status);
        var failure = await Assert.ThrowsAsync<WorkflowFailedException>(() => temporal.Client.GetWorkflowHandle(failed.WorkflowId).GetResultAsync());
        Assert.Equal(CurErrorCodes.AccessDenied, Assert.IsType<ApplicationFailureException>(failure.InnerException).ErrorType);
        var handle = temporal.Client.GetWorkflowHandle(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString()));
        Assert.Equal(WorkflowExecutionStatus.Running, (await handle.DescribeAsync()).Status);

        // An operator reads one line for the failed run, with its code and cause: an expected failure is no stack trace.
        // (The SDK logs a failed activity at warning level with its stack trace unless the failure is benign.)
        var logged = string.Join("\n", logs.Entries);
        Assert.All(logs.Entries, entry => Assert.True(entry.Exception is null, logged));
        var line = Assert.Single(logs.Entries, entry => entry.Message.Contains(CurErrorCodes.AccessDenied, StringComparison.Ordinal));
        Assert.Contains(failed.WorkflowId, line.Message, StringComparison.Ordinal);
        Assert.Contains(failed.ErrorMessage!, line.Message, StringComparison.Ordinal);

        // The customer fixes the external ID (re-enable takes the new one), then asks for a refresh.
        await worker.Services.GetRequiredService<IntegrationStore>().EnableAsync(
            new EnableIntegrationRequest(organizationId, CollectionEnvironment.RoleArn, CollectionEnvironment.ExternalId, CollectionEnvironment.Bucket, "cur"));
        await client.RefreshAsync(integrationId.ToString(), organizationId.ToString());
        await Eventually.TrueAsync(
            async () => (await runs.ListAsync(organizationId, integrationId)).Count(r => r.EndedAt is not null) == 2,
            () => $"the second run is recorded (status: {client.GetStatusAsync(integrationId.ToString()).GetAwaiter().GetResult()})",
            TimeSpan.FromSeconds(120));
        var succeeded = (await runs.ListAsync(organizationId, integrationId))[0];
        Assert.Equal(Storage.Entities.CollectionRunOutcome.Succeeded, succeeded.Outcome);
        Assert.Equal(delivery.Truth.Unblended, succeeded.Totals.Unblended);
        var status = await client.GetStatusAsync(integrationId.ToString());
        Assert.Equal(CollectionRunOutcome.Succeeded, status?.LastRun?.Outcome);
        await client.DisableAsync(integrationId.ToString());
    }

    [Fact]
    public async Task Each_activity_attempt_is_a_span_with_its_s3_calls_beneath_it_and_a_failed_one_names_its_error_type()
    {
        using var recorder = new SpanRecorder(ActivityTracingInterceptor.SourceName, "System.Net.Http");
        var spans = recorder.Spans;
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(Delivery(files: 1, rows: 2_000, seed: 23, assemblyId: "asm-traced"));

        await RunCollectionAsync(environment, organizationId, integrationId);

        var attempts = recorder.AttemptsOf(LastRunWorkflowId);
        string[] steps = [ActivityNames.ValidateAccess, ActivityNames.PlanCollection, ActivityNames.DownloadReportFile, ActivityNames.AggregateReportFile, ActivityNames.StagePeriod, ActivityNames.PersistPeriod];
        Assert.Superset(steps.Select(a => $"RunActivity:{a}").ToHashSet(), attempts.Select(a => a.DisplayName).ToHashSet());
        Assert.All(attempts, a => Assert.Equal(System.Diagnostics.ActivityStatusCode.Unset, a.Status));
        var download = attempts.Single(a => a.DisplayName == $"RunActivity:{ActivityNames.DownloadReportFile}");
        Assert.Equal((nameof(CollectionWorkflow), 1), ((string?)download.GetTagItem("temporalWorkflowType"), (int?)download.GetTagItem("temporalActivityAttempt")));
        // The file's one transfer is started by whichever of its download and aggregation attempts comes first.
        var attemptIds = attempts.Select(a => a.SpanId).ToHashSet();
        var calls = spans.Where(s => s.Source.Name == "System.Net.Http" && attemptIds.Contains(s.ParentSpanId)).ToList();
        Assert.Contains(calls, c => ((string?)c.GetTagItem("url.full"))?.EndsWith(delivery.DataKeys.Single(), StringComparison.Ordinal) == true);
        Assert.Contains(calls, c => c.ParentSpanId == attempts.Single(a => a.DisplayName == $"RunActivity:{ActivityNames.PlanCollection}").SpanId);
        var secrets = environment.Aws.IssuedSecretsForLeakChecks().Append(CollectionEnvironment.ExternalId).ToList();
        Assert.NotEmpty(environment.Aws.IssuedSecretsForLeakChecks());
        var traceIds = attempts.Select(a => a.TraceId).ToHashSet();
        foreach (var span in spans.Where(s => traceIds.Contains(s.TraceId)))
        {
            Assert.DoesNotContain(span.TagObjects, tag => secrets.Any(secret => tag.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true));
        }

        // A run that fails: the attempt's span is an error, tagged with the failure's stable error type.
        environment.Aws.Objects.DeleteBucket(CollectionEnvironment.Bucket);
        await Assert.ThrowsAsync<WorkflowFailedException>(() => RunCollectionAsync(environment, organizationId, integrationId));
        var plan = recorder.AttemptsOf(LastRunWorkflowId).Single(s => s.DisplayName == $"RunActivity:{ActivityNames.PlanCollection}");
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, plan.Status);
        Assert.Equal(CurErrorCodes.BucketNotFound, plan.GetTagItem("error.type"));
    }

    [Fact]
    public async Task The_attempts_of_a_collection_asked_for_by_a_request_are_children_of_its_span_and_a_scheduled_ones_belong_to_none()
    {
        using var requests = new System.Diagnostics.ActivitySource("CurWorkflows.Tests.Requests");
        using var recorder = new SpanRecorder(ActivityTracingInterceptor.SourceName, "CurWorkflows.Tests.Requests");
        var spans = recorder.Spans;
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var gate = new ActivityGate(ActivityNames.PlanCollection);
        var worker = await environment.StartWorkerAsync(new() { ["Collection:Interval"] = "00:00:04" }, services: gate.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 1, rows: 1_000, seed: 29, assemblyId: "asm-traced-request"));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();

        // The enable request starts the integration, whose first collection runs at once. A refresh arrives during it,
        // so a second collection follows (after a continue-as-new); the third is the schedule's.
        using (requests.StartActivity("enable"))
        {
            await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        }

        await gate.Reached;
        using (requests.StartActivity("refresh"))
        {
            await client.RefreshAsync(integrationId.ToString(), organizationId.ToString());
        }

        gate.Open();
        await Eventually.TrueAsync(async () => (await runs.ListAsync(organizationId, integrationId)).Count(r => r.EndedAt is not null) >= 3, "three runs are recorded", TimeSpan.FromSeconds(120));
        await client.DisableAsync(integrationId.ToString());

        var recorded = (await runs.ListAsync(organizationId, integrationId)).OrderBy(r => r.StartedAt).Take(3).ToList();
        var records = recorder.AttemptsOf(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString()))
            .Where(s => s.DisplayName == $"RunActivity:{ActivityNames.RecordCollectionRun}").OrderBy(s => s.StartTimeUtc).Take(3).ToList();
        Assert.Equal(3, records.Count);
        var requestSpans = spans.Where(s => s.Source.Name == "CurWorkflows.Tests.Requests").ToDictionary(s => s.DisplayName);
        foreach (var (request, run, record) in new[] { ("enable", recorded[0], records[0]), ("refresh", recorded[1], records[1]), (null, recorded[2], records[2]) })
        {
            var attempts = recorder.AttemptsOf(run.WorkflowId);
            // Later runs find the period stored already: they plan and stop.
            Assert.Contains(attempts, a => a.DisplayName == $"RunActivity:{(request == "enable" ? ActivityNames.AggregateReportFile : ActivityNames.PlanCollection)}");
            // The collection's attempts, and the integration's record of its outcome, are the request's; a scheduled
            // run's are roots of traces of their own.
            if (request is null)
            {
                Assert.All(attempts.Append(record), a => Assert.Equal(default, a.ParentSpanId));
            }
            else
            {
                Assert.All(attempts.Append(record), a => Assert.Equal((requestSpans[request].TraceId, requestSpans[request].SpanId), (a.TraceId, a.ParentSpanId)));
            }
        }
    }

    [Fact]
    public async Task The_exported_histories_of_a_run_contain_no_secret_key_session_token_or_external_id()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        await environment.DeliverAsync(Delivery(files: 2, rows: 3_000, seed: 51, assemblyId: "asm-s"));
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();

        await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        IReadOnlyList<CollectionRunView> recorded = [];
        await Eventually.TrueAsync(
            async () => (recorded = await runs.ListAsync(organizationId, integrationId)).Any(r => r.EndedAt is not null), "the run is recorded", TimeSpan.FromSeconds(60));
        Assert.Equal(Storage.Entities.CollectionRunOutcome.Succeeded, recorded.Single().Outcome);
        await client.DisableAsync(integrationId.ToString());

        var integrationWorkflowId = IntegrationWorkflow.WorkflowIdFor(integrationId.ToString());
        var histories = new List<string>();
        await foreach (var execution in temporal.Client.ListWorkflowsAsync($"IntegrationId = '{integrationId}'"))
        {
            histories.Add((await temporal.Client.GetWorkflowHandle(execution.Id, execution.RunId).FetchHistoryAsync()).ToJson());
        }

        Assert.True(histories.Count >= 2, $"{histories.Count} histories");
        var secrets = new[] { CollectionEnvironment.ExternalId, CollectionEnvironment.PlatformSecret };
        foreach (var history in histories)
        {
            // Payloads are base64 in the JSON export: look at the raw export and at every decoded payload.
            var text = HistoryText.WithDecodedPayloads(history);
            Assert.Contains(integrationId.ToString(), text, StringComparison.Ordinal);
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }

            Assert.DoesNotMatch(HistoryText.TemporaryAccessKey, text);
            Assert.DoesNotMatch(HistoryText.SecretField, text);
            foreach (var payload in HistoryText.DecodedPayloads(history))
            {
                // STS secrets and session tokens are long base64 runs; our payloads carry none.
                Assert.DoesNotMatch(HistoryText.LongBase64, payload);
            }
        }

        Assert.Contains(histories, h => h.Contains(integrationWorkflowId, StringComparison.Ordinal));
    }

    internal static ReportDeliveryOptions Delivery(int files, long rows, int seed, string assemblyId, DateOnly? period = null) => new()
    {
        Prefix = "cur",
        AssemblyId = assemblyId,
        Files = files,
        Report = new ReportGeneratorOptions { Rows = rows, Seed = seed, BillingPeriodStart = period ?? new DateOnly(2026, 10, 1) },
    };

    /// <summary>A run whose period the first worker takes (its own queue) and starts downloading; then that worker goes
    /// away for good, and a second one (a spool of its own) starts.</summary>
    private static async Task<GoneWorkerRun> StartOnAWorkerThatGoesAwayAsync(
        CollectionEnvironment environment, Dictionary<string, string?> settings, ReportDeliveryOptions deliveryOptions)
    {
        var downloads = new ActivityGate(ActivityNames.DownloadReportFile);
        var first = await environment.StartWorkerAsync(settings, services: downloads.AddTo);
        var firstQueue = first.Services.GetRequiredService<WorkerTaskQueue>().Name;
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(first.Services);
        var delivery = await environment.DeliverAsync(deliveryOptions);

        var run = RunCollectionAsync(environment, organizationId, integrationId);
        await downloads.Reached.WaitAsync(TimeSpan.FromSeconds(60));
        var workflowId = LastRunWorkflowId!;
        await first.StopAsync();
        var second = await environment.StartWorkerAsync(
            new Dictionary<string, string?>(settings) { ["Collection:SpoolDirectory"] = environment.SpoolDirectory + "-second" });
        return new GoneWorkerRun(organizationId, integrationId, delivery, firstQueue, second, second.Services.GetRequiredService<WorkerTaskQueue>().Name, workflowId, run);
    }

    private sealed record GoneWorkerRun(
        Guid OrganizationId, Guid IntegrationId, GeneratedDelivery Delivery, string FirstQueue, IHost Second, string SecondQueue, string WorkflowId,
        Task<CollectionSummary> Run);

    internal static string? LastRunWorkflowId { get; private set; }

    /// <summary>The ids of the events that scheduled an activity of the type (what its started and completed events name).</summary>
    internal static HashSet<long> ScheduledEventIds(Temporalio.Common.WorkflowHistory history, string activityType) =>
        history.Events
            .Where(e => e.ActivityTaskScheduledEventAttributes?.ActivityType.Name == activityType)
            .Select(e => e.EventId)
            .ToHashSet();

    /// <summary>The integration's stored totals for October 2026, the month the test deliveries bill.</summary>
    private static async Task<CostTotal> OctoberTotalsAsync(IServiceProvider services, Guid organizationId, Guid integrationId)
    {
        var month = new DateOnly(2026, 10, 1);
        return Assert.Single(await services.GetRequiredService<CostReader>().GetTotalsAsync(new CostQuery(organizationId, month, month.AddMonths(1).AddDays(-1), integrationId)));
    }

    /// <summary>The one billing period stored for the integration (fails the test if there is none or several).</summary>
    private static async Task<BillingPeriodView> SingleStoredPeriodAsync(IServiceProvider services, Guid organizationId, Guid integrationId) =>
        Assert.Single(await services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId));

    internal static async Task<CollectionSummary> RunCollectionAsync(CollectionEnvironment environment, Guid organizationId, Guid integrationId)
    {
        var workflowId = IntegrationWorkflow.CollectionWorkflowIdFor(integrationId.ToString(), DateTime.UtcNow) + "-" + Guid.NewGuid().ToString("N")[..4];
        LastRunWorkflowId = workflowId;
        return await environment.Temporal.Client.ExecuteWorkflowAsync(
            (CollectionWorkflow wf) => wf.RunAsync(new CollectionWorkflowInput(integrationId.ToString(), organizationId.ToString())),
            new(workflowId, environment.TaskQueue)
            {
                TypedSearchAttributes = CurSearchAttributes.For(integrationId.ToString(), organizationId.ToString()),
                ExecutionTimeout = TimeSpan.FromMinutes(5),
            });
    }
}
