using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CurWorkflows.Storage;

/// <summary>
/// Storage configuration: section <c>Storage</c>, plus the connection string <c>ConnectionStrings:CurWorkflows</c>.
/// </summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";
    public const string ConnectionStringName = "CurWorkflows";
    public const string DefaultConnectionString = "Data Source=curworkflows.db";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Bound from <c>ConnectionStrings:CurWorkflows</c>.</summary>
    public string ConnectionString { get; set; } = DefaultConnectionString;

    public bool ApplyMigrationsOnStartup { get; set; } = true;

    /// <summary>Staging rows older than this belong to abandoned runs and are swept.</summary>
    public TimeSpan StagingRetention { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How often the background sweep of stale staging rows runs; zero disables it.</summary>
    public TimeSpan StagingSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// SQLite only: how often the write-ahead log is checkpointed in the background when it was written
    /// (<see cref="SqliteWalCheckpointer"/>); zero leaves checkpoints to SQLite, in the commit that crosses 1,000 pages.
    /// </summary>
    public TimeSpan SqliteCheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// SQLite only: the size in bytes to which the write-ahead log is cut back once it has been checkpointed (SQLite's
    /// <c>journal_size_limit</c>, applied by the write that starts the log over: the background checkpointer's, or else
    /// the next one). Without it the log keeps the size of the largest write ever made, hundreds of megabytes after a
    /// large restatement. -1: no limit.
    /// </summary>
    public long SqliteWalSizeLimitBytes { get; set; } = 64L << 20;

    /// <summary>Rows per bulk write while staging aggregates.</summary>
    public int StagingBatchSize { get; set; } = 50_000;

    /// <summary>Command timeout; replacing a large billing period runs longer than the default 30 s.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Provider))
        {
            failures.Add($"Storage:Provider must be one of {string.Join(", ", Enum.GetNames<StorageProvider>())}.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add($"ConnectionStrings:{StorageOptions.ConnectionStringName} is required.");
        }
        else if (Enum.IsDefined(options.Provider))
        {
            try
            {
                _ = options.Provider switch
                {
                    StorageProvider.Sqlite => new SqliteConnectionStringBuilder(options.ConnectionString).ConnectionString,
                    StorageProvider.PostgreSql => new NpgsqlConnectionStringBuilder(options.ConnectionString).ConnectionString,
                    _ => new SqlConnectionStringBuilder(options.ConnectionString).ConnectionString,
                };
            }
            catch (ArgumentException)
            {
                // The message of the builder may quote the connection string, which can hold a password.
                failures.Add($"ConnectionStrings:{StorageOptions.ConnectionStringName} is not a valid {options.Provider} connection string.");
            }
        }

        if (options.StagingRetention <= TimeSpan.Zero)
        {
            failures.Add("Storage:StagingRetention must be positive.");
        }

        if (options.SqliteCheckpointInterval < TimeSpan.Zero)
        {
            failures.Add("Storage:SqliteCheckpointInterval must not be negative.");
        }

        if (options.SqliteWalSizeLimitBytes < -1)
        {
            failures.Add("Storage:SqliteWalSizeLimitBytes must be -1 (no limit) or more.");
        }

        if (options.StagingSweepInterval < TimeSpan.Zero)
        {
            failures.Add("Storage:StagingSweepInterval must not be negative.");
        }

        if (options.StagingBatchSize is < 1 or > 1_000_000)
        {
            failures.Add("Storage:StagingBatchSize must be between 1 and 1000000.");
        }

        if (options.CommandTimeout <= TimeSpan.Zero)
        {
            failures.Add("Storage:CommandTimeout must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
