using CurWorkflows.LocalAws;
using Temporalio.Api.Enums.V1;

namespace CurWorkflows.Workflows.Tests;

/// <summary>The worker reaches Temporal through toxiproxy; the connection goes away while a file downloads and aggregates.</summary>
[Collection(TemporalCollection.Name)]
public sealed class TemporalOutageTests(TemporalFixture temporal)
{
    [ToxiproxyFact]
    public async Task A_worker_cut_off_from_temporal_for_longer_than_the_heartbeat_timeout_finishes_the_run_exactly()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        await using var toxiproxy = await Toxiproxy.StartAsync();
        var proxyPort = await toxiproxy.CreateProxyAsync("temporal", temporal.Address);
        var aggregations = new ActivityGate(ActivityNames.AggregateReportFile);
        var worker = await environment.StartWorkerAsync(
            new()
            {
                ["Temporal:Address"] = $"127.0.0.1:{proxyPort}",
                ["Collection:CheckpointEveryRows"] = "2000",
                ["Aws:DownloadRangeBytes"] = "1048576",
                ["Aws:DownloadParallelRanges"] = "1",
            },
            services: aggregations.AddTo);
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var delivery = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 1, rows: 30_000, seed: 131, assemblyId: "asm-temporal-cut"));
        var size = environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, delivery.DataKeys[0])!.Size;
        // Served over about 30 seconds, so that the download and the aggregation reading it are both under way when the
        // connection to Temporal goes, and still when it comes back.
        environment.Aws.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, Times: 1_000, BytesPerSecond: (int)(size / 30)));
        environment.Aws.Counters.Reset();

        var run = CollectionWorkflowTests.RunCollectionAsync(environment, organizationId, integrationId);
        var workflowId = CollectionWorkflowTests.LastRunWorkflowId!;
        await aggregations.Reached.WaitAsync(TimeSpan.FromMinutes(2));
        aggregations.Open();
        await Task.Delay(TimeSpan.FromSeconds(3));

        // Longer than the file activities' heartbeat timeout: the server gives their attempts up and schedules new ones,
        // which the worker only sees once it is back.
        await toxiproxy.SetEnabledAsync("temporal", enabled: false);
        await Task.Delay(CollectionWorkflow.FileHeartbeatTimeout + TimeSpan.FromSeconds(10));
        await toxiproxy.SetEnabledAsync("temporal", enabled: true);

        await WorkerCrashTests.AssertCompletesExactlyAsync(run, worker.Services, organizationId, integrationId, delivery.Truth, TimeSpan.FromMinutes(3));
        environment.Aws.Faults.Clear();

        // The outage cost the file activities their first attempts (heartbeat timeouts, in the history of the attempts
        // that completed), and the report was still fetched about once: the retries went on from the spooled bytes.
        var history = await temporal.Client.GetWorkflowHandle(workflowId).FetchHistoryAsync();
        var retriedAfterHeartbeatTimeout = history.Events
            .Where(e => e.ActivityTaskStartedEventAttributes is { Attempt: > 1 } started
                && started.LastFailure?.TimeoutFailureInfo?.TimeoutType == TimeoutType.Heartbeat)
            .ToList();
        Assert.NotEmpty(retriedAfterHeartbeatTimeout);
        Assert.InRange(environment.Aws.Counters.ObjectBytesServed, size, (size * 5 / 4) + (64 * 1024));
    }
}
