using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Storage;

/// <summary>Applies the configured provider's migrations (and, for SQLite, switches the file to WAL).</summary>
public sealed partial class StorageMigrator(IDbContextFactory<CurWorkflowsDbContext> contextFactory, ILogger<StorageMigrator> logger)
{
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        if (context.Provider == StorageProvider.Sqlite)
        {
            var dataSource = new SqliteConnectionStringBuilder(context.Database.GetConnectionString()).DataSource;
            var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
            if (!string.IsNullOrEmpty(directory) && dataSource != ":memory:")
            {
                try
                {
                    Directory.CreateDirectory(directory);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new InvalidOperationException(
                        $"ConnectionStrings:CurWorkflows: the SQLite database's directory {directory} cannot be created ({e.Message}).", e);
                }
            }
        }

        var pending = (await context.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        await context.Database.MigrateAsync(cancellationToken);
        if (context.Provider == StorageProvider.Sqlite)
        {
            // Write-ahead logging lets readers keep their snapshot while a billing period is replaced. Persistent per file.
            await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        LogMigrated(logger, context.Provider, pending.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage ({Provider}) migrated: {Count} migrations applied")]
    private static partial void LogMigrated(ILogger logger, StorageProvider provider, int count);
}

/// <summary>Applies migrations at start-up when <c>Storage:ApplyMigrationsOnStartup</c> is true, before the API or worker starts.</summary>
internal sealed class StorageMigrationHostedService(StorageMigrator migrator, IOptions<StorageOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.ApplyMigrationsOnStartup ? migrator.MigrateAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Periodically drops staging rows of runs that never finished (worker crash, cancelled workflow).</summary>
internal sealed partial class StagingSweepService(Costs.CostWriter writer, IOptions<StorageOptions> options, ILogger<StagingSweepService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.StagingSweepInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await writer.SweepStaleStagingAsync(options.Value.StagingRetention, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping stale staging rows failed; retrying at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
