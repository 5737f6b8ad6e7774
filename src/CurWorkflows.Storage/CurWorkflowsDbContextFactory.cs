using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Storage;

/// <summary>
/// Creates the provider-specific context for the configured provider, so that each provider's own migration set
/// applies. Registered as <c>IDbContextFactory&lt;CurWorkflowsDbContext&gt;</c>.
/// </summary>
public sealed class CurWorkflowsDbContextFactory : IDbContextFactory<CurWorkflowsDbContext>, IDisposable
{
    private readonly Func<CurWorkflowsDbContext> _create;

    public CurWorkflowsDbContextFactory(IOptions<StorageOptions> options)
        : this(options.Value)
    {
    }

    /// <param name="configure">Extra options (interceptors, logging), applied after the provider.</param>
    public CurWorkflowsDbContextFactory(StorageOptions options, Action<DbContextOptionsBuilder>? configure = null)
    {
        Options = options;
        var timeout = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds);
        switch (options.Provider)
        {
            case StorageProvider.Sqlite:
                var sqlite = new DbContextOptionsBuilder<SqliteCurWorkflowsDbContext>()
                    .UseSqlite(options.ConnectionString, o => o.CommandTimeout(timeout))
                    .ConfigureWarnings(SkipPendingModelChangesCheck)
                    .AddInterceptors(new SqlitePragmaInterceptor(
                        Checkpointer = new SqliteWalCheckpointer(options.ConnectionString, options.SqliteCheckpointInterval, options.SqliteWalSizeLimitBytes),
                        options.CommandTimeout));
                configure?.Invoke(sqlite);
                var sqliteOptions = sqlite.Options;
                _create = () => new SqliteCurWorkflowsDbContext(sqliteOptions);
                break;
            case StorageProvider.PostgreSql:
                var postgres = new DbContextOptionsBuilder<PostgreSqlCurWorkflowsDbContext>()
                    .UseNpgsql(options.ConnectionString, o => o.CommandTimeout(timeout))
                    .ConfigureWarnings(SkipPendingModelChangesCheck);
                configure?.Invoke(postgres);
                var postgresOptions = postgres.Options;
                _create = () => new PostgreSqlCurWorkflowsDbContext(postgresOptions);
                break;
            case StorageProvider.SqlServer:
                var sqlServer = new DbContextOptionsBuilder<SqlServerCurWorkflowsDbContext>()
                    .UseSqlServer(options.ConnectionString, o => o.CommandTimeout(timeout))
                    .ConfigureWarnings(SkipPendingModelChangesCheck);
                configure?.Invoke(sqlServer);
                var sqlServerOptions = sqlServer.Options;
                _create = () => new SqlServerCurWorkflowsDbContext(sqlServerOptions);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Provider, "Unknown storage provider.");
        }
    }

    public StorageOptions Options { get; }

    /// <summary>The background checkpoints of a SQLite database; null for the other providers.</summary>
    internal SqliteWalCheckpointer? Checkpointer { get; }

    // Migrate compares the migrations' snapshot with a model built from the configuration, which costs a start-up a
    // few hundred milliseconds and makes the compiled model pointless. The test Migrations_are_up_to_date_with_the_model
    // makes that comparison before anything ships.
    private static void SkipPendingModelChangesCheck(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.PendingModelChangesWarning);

    public CurWorkflowsDbContext CreateDbContext() => _create();

    public void Dispose() => Checkpointer?.Dispose();
}
