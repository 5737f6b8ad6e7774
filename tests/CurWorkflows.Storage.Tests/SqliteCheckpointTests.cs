using CurWorkflows.Storage.Costs;
using CurWorkflows.Storage.Stores;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CurWorkflows.Storage.Tests;

/// <summary>The SQLite write-ahead log is checkpointed in the background, not in the commit of a bulk write.</summary>
public sealed class SqliteCheckpointTests : IAsyncLifetime
{
    private const long FourMegabytes = 4L << 20;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "curworkflows-tests", Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_directory, "curworkflows.db");

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = DatabasePath }.ConnectionString;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        SqlitePool.Clear(ConnectionString);
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_bulk_write_commits_without_copying_the_log_into_the_database_and_the_checkpointer_copies_it()
    {
        await using var services = await StorageAsync("01:00:00");
        var checkpointer = Checkpointer(services);
        checkpointer.CheckpointIfWritten();
        var before = new FileInfo(DatabasePath).Length;

        await StageAsync(services);

        Assert.True(new FileInfo(DatabasePath + "-wal").Length > FourMegabytes);
        Assert.Equal(before, new FileInfo(DatabasePath).Length);
        Assert.True(checkpointer.CheckpointIfWritten());
        Assert.True(new FileInfo(DatabasePath).Length > before + FourMegabytes);
        Assert.False(checkpointer.CheckpointIfWritten());
        await AssertStagedRowsReadAsync(services);
    }

    [Fact]
    public async Task The_checkpointer_runs_on_its_interval_after_a_write()
    {
        await using var services = await StorageAsync("00:00:00.100");
        var before = new FileInfo(DatabasePath).Length;

        await StageAsync(services);

        for (var waited = 0; new FileInfo(DatabasePath).Length <= before + FourMegabytes; waited++)
        {
            Assert.True(waited < 300, "the log was not checkpointed within 30 s");
            await Task.Delay(100);
        }

        Assert.True(Checkpointer(services).Checkpoints > 0);
    }

    [Fact]
    public async Task With_the_interval_at_zero_sqlite_checkpoints_in_the_commit_as_before()
    {
        await using var services = await StorageAsync("00:00:00");
        Assert.False(Checkpointer(services).Enabled);
        var before = new FileInfo(DatabasePath).Length;

        await StageAsync(services);

        Assert.True(new FileInfo(DatabasePath).Length > before + FourMegabytes);
        await AssertStagedRowsReadAsync(services);
    }

    [Fact]
    public async Task A_disposed_checkpointer_leaves_the_log_alone()
    {
        await using var services = await StorageAsync("01:00:00");
        var checkpointer = Checkpointer(services);
        var before = new FileInfo(DatabasePath).Length;
        await StageAsync(services);

        checkpointer.Dispose();

        Assert.False(checkpointer.CheckpointIfWritten());
        Assert.Equal(before, new FileInfo(DatabasePath).Length);
    }

    [Fact]
    public async Task A_complete_checkpoint_starts_the_log_over_so_that_the_next_write_appends_to_it()
    {
        await using var services = await StorageAsync("01:00:00");
        var checkpointer = Checkpointer(services);
        await StageAsync(services);
        var before = LogHeader();

        Assert.True(checkpointer.CheckpointIfWritten());
        var restarted = LogHeader();
        var written = await services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync("after the checkpoint");

        // A log started over has a new checkpoint sequence number and salts in its header. The checkpointer started it
        // over, so the write after it appended (and its commit did not have to sync a new header).
        Assert.NotEqual(before, restarted);
        Assert.Equal(restarted, LogHeader());
        Assert.Equal(1, checkpointer.Restarts);
        // The checkpointer's own write is no reason for another checkpoint; the write after it is.
        Assert.True(checkpointer.CheckpointIfWritten());
        Assert.False(checkpointer.CheckpointIfWritten());
        Assert.Equal(2, checkpointer.Restarts);
        await AssertStagedRowsReadAsync(services);
        Assert.Equal("after the checkpoint", (await services.GetRequiredService<OrganizationStore>().GetOrganizationAsync(written.Id))?.Name);
    }

    [Fact]
    public async Task Two_checkpointers_of_one_database_do_not_answer_each_others_restarts()
    {
        // Two service hosts (or processes) on one SQLite file each have their own checkpointer.
        await using var first = await StorageAsync("01:00:00");
        await using var second = await StorageAsync("01:00:00");
        await StageAsync(first);

        Assert.True(Checkpointer(first).CheckpointIfWritten());
        Assert.True(Checkpointer(second).CheckpointIfWritten());

        Assert.False(Checkpointer(first).CheckpointIfWritten());
        Assert.False(Checkpointer(second).CheckpointIfWritten());
        Assert.Equal(1, Checkpointer(first).Restarts);
        Assert.Equal(0, Checkpointer(second).Restarts);
    }

    [Fact]
    public async Task A_complete_checkpoint_cuts_the_log_back_to_its_limit()
    {
        await using var services = await StorageAsync("01:00:00", "1048576");
        await StageAsync(services);
        var log = new FileInfo(DatabasePath + "-wal");
        var written = log.Length;

        Assert.True(Checkpointer(services).CheckpointIfWritten());

        log.Refresh();
        Assert.True(written > FourMegabytes);
        Assert.True(log.Length <= 1L << 20, $"the log is {log.Length} bytes after {written}");
        await services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync("after the checkpoint");
        await AssertStagedRowsReadAsync(services);
    }

    [Fact]
    public async Task Without_a_limit_the_log_keeps_the_size_of_its_largest_write()
    {
        await using var services = await StorageAsync("01:00:00", "-1");
        await StageAsync(services);
        var written = new FileInfo(DatabasePath + "-wal").Length;
        Assert.True(Checkpointer(services).CheckpointIfWritten());

        await services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync("after the checkpoint");

        Assert.Equal(written, new FileInfo(DatabasePath + "-wal").Length);
    }

    [Fact]
    public async Task A_statement_that_finds_the_database_locked_waits_in_sqlites_busy_handler_for_the_command_timeout()
    {
        await using var services = await StorageAsync("01:00:00", commandTimeout: "00:00:42");
        await using var context = await services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>().CreateDbContextAsync();
        await context.Database.OpenConnectionAsync();
        await using var command = context.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";

        Assert.Equal(42_000L, Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<ServiceProvider> StorageAsync(string checkpointInterval, string? walSizeLimitBytes = null, string? commandTimeout = null)
    {
        // Settings left null keep their defaults.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:CurWorkflows"] = ConnectionString,
            ["Storage:SqliteCheckpointInterval"] = checkpointInterval,
            ["Storage:SqliteWalSizeLimitBytes"] = walSizeLimitBytes,
            ["Storage:CommandTimeout"] = commandTimeout,
        }.Where(setting => setting.Value is not null)).Build();
        var services = new ServiceCollection().AddLogging().AddCurStorage(configuration).BuildServiceProvider();
        await services.GetRequiredService<StorageMigrator>().MigrateAsync();
        return services;
    }

    /// <summary>The log's checkpoint sequence number and salts (bytes 12-23 of its header).</summary>
    private string LogHeader()
    {
        using var log = new FileStream(DatabasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[24];
        log.ReadExactly(header);
        return Convert.ToHexString(header, 12, 12);
    }

    private static SqliteWalCheckpointer Checkpointer(IServiceProvider services) =>
        ((CurWorkflowsDbContextFactory)services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>()).Checkpointer!;

    /// <summary>31,000 resource-day rows: about 9 MB of log, past SQLite's 1,000-page threshold.</summary>
    private static async Task StageAsync(IServiceProvider services)
    {
        var organization = await services.GetRequiredService<OrganizationStore>().CreateOrganizationAsync("checkpoints");
        var integration = (await services.GetRequiredService<IntegrationStore>().EnableAsync(new EnableIntegrationRequest(
            organization.Id, "arn:aws:iam::123456789012:role/cur", "external", "bucket-checkpoints"))).Integration;
        var run = await services.GetRequiredService<CollectionRunStore>().StartAsync(
            new StartCollectionRunRequest(integration.Id, "wf-checkpoints", "r", DateTimeOffset.UtcNow));
        var batch = CostData.Period(CostData.January, days: 31, packages: 20, resourcesPerPackage: 50, factor: 1m);
        await services.GetRequiredService<CostWriter>().StageAsync(new StagingKey(run.Id, integration.Id, CostData.January), batch);
        await services.GetRequiredService<CostWriter>().ReplaceBillingPeriodAsync(
            new ReplaceBillingPeriodRequest(run.Id, integration.Id, CostData.January, "assembly-1", "etag-1", IsFinal: false));
    }

    private static async Task AssertStagedRowsReadAsync(IServiceProvider services)
    {
        await using var context = await services.GetRequiredService<IDbContextFactory<CurWorkflowsDbContext>>().CreateDbContextAsync();
        Assert.Equal(31 * 20 * 50, await context.ActiveDailyResourceCosts.CountAsync());
    }
}
