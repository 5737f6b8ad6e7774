using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StoredOutcome = CurWorkflows.Storage.Entities.CollectionRunOutcome;

namespace CurWorkflows.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class SpoolSweepTests(TemporalFixture temporal)
{
    [Fact]
    public async Task The_sweep_removes_the_folders_of_ended_and_long_untouched_runs_and_keeps_the_rest()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var storage = await environment.StartStorageAsync();
        var (_, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(storage.Services);
        var runs = storage.Services.GetRequiredService<CollectionRunStore>();
        var spool = Path.Combine(environment.SpoolDirectory, "sweep");
        var stale = DateTime.UtcNow.AddDays(-3);

        async Task<Guid> RunAsync(StoredOutcome? endedAs)
        {
            var run = await runs.StartAsync(new StartCollectionRunRequest(integrationId, "cur-collection-" + Guid.NewGuid().ToString("N"), "", DateTimeOffset.UtcNow));
            if (endedAs is { } outcome)
            {
                await runs.CompleteAsync(new CompleteCollectionRunRequest(run.Id, outcome, DateTimeOffset.UtcNow));
            }

            return run.Id;
        }

        string Folder(object name, int bytes, DateTime? writtenAt = null)
        {
            var folder = Path.Combine(spool, name.ToString()!);
            var file = Path.Combine(folder, "2026-10-01", "0000-report.csv.zip");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, new byte[bytes]);
            if (writtenAt is { } at)
            {
                File.SetLastWriteTimeUtc(file, at);
                Directory.SetLastWriteTimeUtc(Path.GetDirectoryName(file)!, at);
                Directory.SetLastWriteTimeUtc(folder, at);
            }

            return folder;
        }

        var succeeded = Folder(await RunAsync(StoredOutcome.Succeeded), 1_000);
        var failed = Folder(await RunAsync(StoredOutcome.Failed), 2_000);
        var abandoned = Folder(await RunAsync(StoredOutcome.Abandoned), 4_000);
        var running = Folder(await RunAsync(null), 8_000);
        var runningUntouched = Folder(await RunAsync(null), 16_000, stale);
        var unknown = Folder(Guid.NewGuid(), 32_000);
        var unknownUntouched = Folder(Guid.NewGuid(), 64_000, stale);
        var notARun = Folder("not-a-run", 128_000, stale);
        var looseFile = Path.Combine(spool, "operator-notes.txt");
        File.WriteAllText(looseFile, "kept");
        File.SetLastWriteTimeUtc(looseFile, stale);
        var sweeper = new SpoolSweeper(runs, Options.Create(new CollectionOptions { SpoolDirectory = spool }), TimeProvider.System, NullLogger<SpoolSweeper>.Instance);

        var result = await sweeper.SweepAsync();

        Assert.Equal(new SpoolSweepResult(FoldersRemoved: 5, FoldersKept: 2, BytesFreed: 1_000 + 2_000 + 4_000 + 16_000 + 64_000), result);
        Assert.All([succeeded, failed, abandoned, runningUntouched, unknownUntouched], f => Assert.False(Directory.Exists(f), f));
        Assert.All([running, unknown, notARun], f => Assert.True(Directory.Exists(f), f));
        Assert.True(File.Exists(looseFile));
        Assert.Equal(new SpoolSweepResult(FoldersRemoved: 0, FoldersKept: 2), await sweeper.SweepAsync());
    }

    [Fact]
    public async Task A_run_that_failed_after_its_download_leaves_its_files_only_until_the_sweep_and_a_successful_run_only_its_aggregates()
    {
        await using var environment = await CollectionEnvironment.StartAsync(temporal, TestDatabase.Sqlite);
        var worker = await environment.StartWorkerAsync();
        var (organizationId, integrationId) = await CollectionEnvironment.CreateIntegrationAsync(worker.Services);
        var bad = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 2, rows: 2_000, seed: 93, assemblyId: "asm-spool-bad"));
        environment.Aws.Objects.PutObject(CollectionEnvironment.Bucket, bad.DataKeys[1], "not a zip archive"u8.ToArray());
        var client = worker.Services.GetRequiredService<IntegrationWorkflowClient>();
        var runs = worker.Services.GetRequiredService<CollectionRunStore>();

        await client.EnsureStartedAsync(integrationId.ToString(), organizationId.ToString());
        IReadOnlyList<CollectionRunView> recorded = [];
        await Eventually.TrueAsync(
            async () => (recorded = await runs.ListAsync(organizationId, integrationId)).Any(r => r.EndedAt is not null), "the failed run is recorded", TimeSpan.FromSeconds(120));
        var failed = recorded.Single();
        Assert.Equal(Cur.CurErrorCodes.ReportMalformed, failed.ErrorCode);
        var left = Path.Combine(environment.SpoolDirectory, failed.Id.ToString());
        Assert.NotEmpty(Directory.GetFiles(left, "*.csv.zip", SearchOption.AllDirectories));

        var swept = await worker.Services.GetRequiredService<SpoolSweeper>().SweepAsync();

        Assert.Equal(1, swept.FoldersRemoved);
        Assert.True(swept.BytesFreed > 0);
        Assert.False(Directory.Exists(left));

        // A good delivery and a refresh: the successful run deletes the report files as it stages them; its aggregates
        // (for a retried staging) stay until the sweep after the run.
        var good = await environment.DeliverAsync(CollectionWorkflowTests.Delivery(files: 2, rows: 2_000, seed: 94, assemblyId: "asm-spool-good"));
        await client.RefreshAsync(integrationId.ToString(), organizationId.ToString());
        await Eventually.TrueAsync(
            async () => (recorded = await runs.ListAsync(organizationId, integrationId)).Count(r => r.EndedAt is not null) == 2, "the second run is recorded", TimeSpan.FromSeconds(120));
        Assert.Equal(StoredOutcome.Succeeded, recorded[0].Outcome);
        Assert.Equal(good.Truth.Unblended, recorded[0].Totals.Unblended);
        // The staging deletes the report files without waiting for the unlink.
        var runFolder = Path.Combine(environment.SpoolDirectory, recorded[0].Id.ToString());
        await Eventually.TrueAsync(() => Directory.GetFiles(runFolder, "*", SearchOption.AllDirectories).Length == 2, "the report files are deleted");
        var remaining = Directory.GetFiles(runFolder, "*", SearchOption.AllDirectories);
        Assert.All(remaining, f => Assert.EndsWith(".aggregates", f, StringComparison.Ordinal));
        Assert.Equal(1, (await worker.Services.GetRequiredService<SpoolSweeper>().SweepAsync()).FoldersRemoved);
        Assert.Empty(Directory.GetFileSystemEntries(environment.SpoolDirectory));
        await client.DisableAsync(integrationId.ToString());
    }
}
