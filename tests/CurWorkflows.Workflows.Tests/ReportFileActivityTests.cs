using System.Globalization;
using System.Text.Json.Nodes;
using CurWorkflows.Cur.Aggregation;
using CurWorkflows.Cur.Reading;
using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.DependencyInjection;
using Temporalio.Testing;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// The report file activities run directly (outside a workflow), for the paths a new run no longer takes but a run
/// started before the aggregate-while-downloading patch still does: an aggregation of a complete spool file.
/// </summary>
[Collection(TemporalCollection.Name)]
public sealed class ReportFileActivityTests(TemporalFixture temporal)
{
    private const string AssemblyId = "asm-checkpoint";
    private static readonly DateOnly Period = new(2026, 10, 1);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_a_restart_a_parse_checkpoint_is_resumed_only_for_the_same_object_and_one_of_a_replaced_object_is_dropped(bool replaced)
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var original = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 1, rows: 6_000, seed: 41, assemblyId: AssemblyId));
        var activities = worker.Services.GetRequiredService<ReportFileActivities>();
        var run = new CollectionRunRef(integrationId.ToString(), organizationId.ToString(), "wf-" + Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString());
        var period = new PeriodToCollect(Period.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), original.ManifestKey, AssemblyId, "manifest-etag", original.DataKeys);
        var work = ReportFileWork.Of(run, period, 0, CostAggregationOptions.DefaultTagKey);

        var spooled = await new ActivityEnvironment().RunAsync(() => activities.DownloadAsync(work));

        // A first parse of the original object saved a checkpoint after 2,000 rows; then the host went down (the spool
        // file is one of an earlier boot, so the next attempt checks it against the bucket).
        var checkpointRows = SaveCheckpointAfter(spooled.Path, work.FileKey, rows: 2_000);
        Assert.True(File.Exists(spooled.Path + ".checkpoint"));
        var record = JsonNode.Parse(await File.ReadAllTextAsync(spooled.Path + ".json"))!.AsObject();
        record["BootId"] = "an-earlier-boot";
        await File.WriteAllTextAsync(spooled.Path + ".json", record.ToJsonString());

        // Meanwhile the object may have been replaced by another delivery of the same key (another ETag).
        var current = replaced
            ? await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 1, rows: 7_000, seed: 42, assemblyId: AssemblyId))
            : original;
        Assert.Equal(original.DataKeys, current.DataKeys);

        var result = await new ActivityEnvironment().RunAsync(() => activities.AggregateAsync(new AggregateFileInput(work, spooled.Path)));

        Assert.Equal(current.Truth.Unblended, decimal.Parse(result.UnblendedTotal, CultureInfo.InvariantCulture));
        Assert.Equal(current.Truth.Rows, result.Rows);
        if (replaced)
        {
            Assert.NotEqual(original.Truth.Unblended, current.Truth.Unblended);
            Assert.Equal((0L, current.Truth.Rows), (result.ResumedFromRow, result.RowsRead));
            Assert.Equal(environment.Aws.Objects.GetObject(CollectionEnvironment.Bucket, work.FileKey)!.Size, result.BytesDownloaded);
        }
        else
        {
            Assert.Equal((checkpointRows, current.Truth.Rows - checkpointRows), (result.ResumedFromRow, result.RowsRead));
        }
    }

    /// <summary>Parses the spool file as an aggregation attempt does, saving its state where the activity looks for it
    /// (<c>.checkpoint</c> next to the file) after <paramref name="rows"/> rows, and stops there. Returns the rows saved.</summary>
    private static long SaveCheckpointAfter(string spooledPath, string fileKey, long rows)
    {
        var aggregator = new CostAggregator(new CostAggregationOptions { ExpectedBillingPeriod = Period });
        long saved = 0;
        var checkpoints = new CheckpointOptions
        {
            EveryRows = rows,
            OnCheckpoint = (state, checkpoint) =>
            {
                AggregatesFile.SaveCheckpoint(state, spooledPath + ".checkpoint");
                saved = checkpoint.Position.Rows;
                throw new StopParsingException();
            },
        };
        var source = new CurSource(fileKey, CurSource.CompressionOf(fileKey), () => File.OpenRead(spooledPath));
        Assert.Throws<StopParsingException>(() => aggregator.AddFile(source, checkpoints));
        Assert.True(saved > 0, "no checkpoint was saved");
        return saved;
    }

    private sealed class StopParsingException : Exception;
}
