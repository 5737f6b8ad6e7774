using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CurWorkflows.ReportGenerator;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.DependencyInjection;
using Temporalio.Api.Enums.V1;
using Xunit.Abstractions;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// A worker process killed (SIGKILL) in the middle of parsing a report of more than 200 MB uncompressed; a new worker
/// process on the same host and spool directory finishes the run from the last checkpoint with exact totals.
/// </summary>
[Collection(TemporalCollection.Name)]
public sealed partial class WorkerCrashTests(TemporalFixture temporal, ITestOutputHelper output)
{
    private const long CheckpointEveryRows = 2_000;

    [Fact]
    public async Task A_worker_killed_mid_parse_is_replaced_and_the_run_completes_exactly_re_reading_few_rows()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var storage = await environment.StartStorageAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(storage.Services);
        var delivery = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 1, rows: 220_000, seed: 61, assemblyId: "asm-big"));
        Assert.True(delivery.Truth.Bytes >= 200L << 20, $"the report is {delivery.Truth.Bytes:N0} bytes uncompressed");

        var (run, killedAfterRow) = await RunAndKillTheWorkerAfterAQuarterAsync(environment, organizationId, integrationId, delivery.Truth.Rows);

        Assert.False(run.IsCompleted, "the run finished before the worker was killed");

        // The killed attempt's last recorded heartbeat, which the next attempt receives: a checkpoint's row, line and state
        // file path, never the aggregates (those are in the state file on the worker's disk). Heartbeats are throttled,
        // so it may name an earlier checkpoint than the last one saved; the state file holds the latest.
        var described = await temporal.Client.WorkflowService.DescribeWorkflowExecutionAsync(new()
        {
            Namespace = temporal.Client.Options.Namespace,
            Execution = new() { WorkflowId = CollectionWorkflowTests.LastRunWorkflowId! },
        });
        var parsing = described.PendingActivities.Single(a => a.ActivityType.Name == ActivityNames.AggregateReportFile);
        var heartbeat = Assert.Single(parsing.HeartbeatDetails.Payloads_);
        var checkpoint = JsonSerializer.Deserialize<ParseCheckpoint>(heartbeat.Data.ToStringUtf8())!;
        Assert.InRange(checkpoint.Rows, 0, killedAfterRow + CheckpointEveryRows);
        Assert.False(string.IsNullOrEmpty(checkpoint.StatePath));
        Assert.InRange(heartbeat.Data.Length, 1, 1024);
        output.WriteLine($"last heartbeat before the kill: {heartbeat.Data.Length} bytes ({heartbeat.Data.ToStringUtf8()})");
        var second = StartWorkerProcess(environment, "B");
        try
        {
            await AssertCompletesExactlyAsync(run, storage.Services, organizationId, integrationId, delivery.Truth);

            var aggregate = await AggregateResultAsync(environment, integrationId);
            Assert.True(aggregate.ResumedFromRow > 0, "the second attempt resumed from a checkpoint");
            Assert.Equal(delivery.Truth.Rows - aggregate.ResumedFromRow, aggregate.RowsRead);
            // The resumed attempt starts at the last checkpoint saved before the kill (at or after the last one the worker
            // printed); the first attempt had read fewer than CheckpointEveryRows rows beyond it, which are read again.
            Assert.True(aggregate.ResumedFromRow >= killedAfterRow, $"resumed from {aggregate.ResumedFromRow}, last printed checkpoint {killedAfterRow}");
            var reReadShare = (double)CheckpointEveryRows / delivery.Truth.Rows;
            output.WriteLine(
                $"report: {delivery.Truth.Rows:N0} rows, {delivery.Truth.Bytes:N0} bytes uncompressed; killed after printed checkpoint row {killedAfterRow:N0}; " +
                $"second attempt resumed from row {aggregate.ResumedFromRow:N0} and read {aggregate.RowsRead:N0} rows; " +
                $"rows read twice < {CheckpointEveryRows:N0} = {reReadShare:P2} of the report");
            Assert.True(reReadShare < 0.10, $"re-read share {reReadShare:P2}");
        }
        finally
        {
            second.Kill();
        }
    }

    [Fact]
    public async Task A_worker_killed_while_the_report_is_still_arriving_is_replaced_and_both_the_download_and_the_parse_resume()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var storage = await environment.StartStorageAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(storage.Services);
        var delivery = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 1, rows: 220_000, seed: 63, assemblyId: "asm-arriving"));
        var size = environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, delivery.DataKeys[0])!.Size;
        var manifests = delivery.ManifestKeys.Sum(key => environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, key)!.Size);
        // The report arrives over about eight seconds, one 1 MiB range at a time: the parse follows the download.
        environment.Aws.Faults.Add(new LocalAws.InjectedFault(LocalAws.FaultKind.SlowBody, LocalAws.LocalAwsOperations.GetObject, Times: 10_000, BytesPerSecond: (int)(size / 8)));
        environment.Aws.Counters.Reset();
        var slowRanges = new Dictionary<string, string?> { ["Aws:DownloadRangeBytes"] = "1048576", ["Aws:DownloadParallelRanges"] = "1" };

        var (run, killedAfterRow) = await RunAndKillTheWorkerAfterAQuarterAsync(environment, organizationId, integrationId, delivery.Truth.Rows, slowRanges);

        var servedBeforeTheKill = environment.Aws.Counters.ObjectBytesServed;
        Assert.InRange(servedBeforeTheKill, 1, size - 1);
        var second = StartWorkerProcess(environment, "B", slowRanges);
        try
        {
            await AssertCompletesExactlyAsync(run, storage.Services, organizationId, integrationId, delivery.Truth);
            environment.Aws.Faults.Clear();

            // The parse resumed from its checkpoint and the download from its part file: the report was read about once
            // and fetched about once (again: the range in flight at the kill and what the killed writer had not yet
            // handed to the kernel, at most 1 MiB each).
            var aggregate = await AggregateResultAsync(environment, integrationId);
            Assert.True(aggregate.ResumedFromRow >= killedAfterRow, $"resumed from {aggregate.ResumedFromRow}, last printed checkpoint {killedAfterRow}");
            Assert.Equal(delivery.Truth.Rows - aggregate.ResumedFromRow, aggregate.RowsRead);
            var served = environment.Aws.Counters.ObjectBytesServed;
            output.WriteLine(
                $"report: {size:N0} bytes zipped; {servedBeforeTheKill:N0} served before the kill at checkpoint row {killedAfterRow:N0}, " +
                $"{served:N0} in all ({(double)served / size:F3}x); the second attempt resumed from row {aggregate.ResumedFromRow:N0}");
            Assert.InRange(served, size, size + (2 * manifests) + (2 << 20));
        }
        finally
        {
            second.Kill();
        }
    }

    /// <summary>Starts a worker process and a run, and kills the worker (SIGKILL) at its first checkpoint past a quarter
    /// of the rows; returns the run and that checkpoint's row.</summary>
    private async Task<(Task<CollectionSummary> Run, long KilledAfterRow)> RunAndKillTheWorkerAfterAQuarterAsync(
        CollectionEnvironment environment, Guid organizationId, Guid integrationId, long rows, Dictionary<string, string?>? settings = null)
    {
        var first = StartWorkerProcess(environment, "A", settings);
        var run = CollectionWorkflowTests.RunCollectionAsync(environment, organizationId, integrationId);
        try
        {
            return (run, await first.WaitForCheckpointAsync(rows / 4, TimeSpan.FromMinutes(3)));
        }
        finally
        {
            first.Kill();
        }
    }

    /// <summary>The run completes (within 4 minutes unless told), and the stored period carries the generator's exact totals.</summary>
    internal static async Task AssertCompletesExactlyAsync(
        Task<CollectionSummary> run, IServiceProvider services, Guid organizationId, Guid integrationId, GeneratedReportTruth truth, TimeSpan? within = null)
    {
        var summary = await run.WaitAsync(within ?? TimeSpan.FromMinutes(4));
        Assert.Equal(truth.Rows, summary.Rows);
        var period = Assert.Single(await services.GetRequiredService<CollectionRunStore>().ListBillingPeriodsAsync(organizationId, integrationId));
        Assert.Equal(truth.Unblended, period.Totals.Unblended);
        Assert.Equal(truth.NetUnblended, period.Totals.NetUnblended);
        Assert.Equal(truth.Amortized, period.Totals.Amortized);
    }

    private static async Task<FileAggregateResult> AggregateResultAsync(CollectionEnvironment environment, Guid integrationId)
    {
        await foreach (var execution in environment.Temporal.Client.ListWorkflowsAsync($"IntegrationId = '{integrationId}' AND WorkflowType = 'CollectionWorkflow'"))
        {
            var history = await environment.Temporal.Client.GetWorkflowHandle(execution.Id).FetchHistoryAsync();
            var scheduled = CollectionWorkflowTests.ScheduledEventIds(history, ActivityNames.AggregateReportFile);
            var completed = history.Events.Single(e =>
                e.EventType == EventType.ActivityTaskCompleted && scheduled.Contains(e.ActivityTaskCompletedEventAttributes.ScheduledEventId));
            var payload = completed.ActivityTaskCompletedEventAttributes.Result.Payloads_.Single();
            return JsonSerializer.Deserialize<FileAggregateResult>(payload.Data.ToStringUtf8())!;
        }

        throw new InvalidOperationException("no collection run found");
    }

    private WorkerProcess StartWorkerProcess(CollectionEnvironment environment, string name, Dictionary<string, string?>? settings = null)
    {
        var overrides = new Dictionary<string, string?>(settings ?? []) { ["Collection:CheckpointEveryRows"] = CheckpointEveryRows.ToString(CultureInfo.InvariantCulture) };
        var start = WorkerProgram.StartInfo(environment.WorkerSettings(overrides: overrides));
        start.Environment["AWS_ACCESS_KEY_ID"] = CollectionEnvironment.PlatformAccessKeyId;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = CollectionEnvironment.PlatformSecret;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__CurWorkflows.Workflows.Activities"] = "Debug";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        return new WorkerProcess(Process.Start(start)!, name, output);
    }

    private sealed partial class WorkerProcess
    {
        private readonly Process process;
        private readonly BlockingCollection<long> checkpoints = [];

        public WorkerProcess(Process process, string name, ITestOutputHelper output)
        {
            this.process = process;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                if (CheckpointLine().Match(e.Data) is { Success: true } match)
                {
                    checkpoints.Add(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
                }
                else if (!e.Data.StartsWith("dbug", StringComparison.Ordinal))
                {
                    output.WriteLine($"[{name}] {e.Data}");
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    output.WriteLine($"[{name} stderr] {e.Data}");
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        /// <summary>Returns the first checkpoint row at or after <paramref name="rows"/> that the worker reports.</summary>
        public Task<long> WaitForCheckpointAsync(long rows, TimeSpan timeout) => Task.Run(() =>
        {
            using var cancellation = new CancellationTokenSource(timeout);
            while (true)
            {
                var row = checkpoints.Take(cancellation.Token);
                if (row >= rows)
                {
                    return row;
                }
            }
        });

        /// <summary>SIGKILL: no shutdown, no flushing.</summary>
        public void Kill()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }

        [GeneratedRegex(@"Checkpoint of .* at row (\d+)")]
        private static partial Regex CheckpointLine();
    }
}
